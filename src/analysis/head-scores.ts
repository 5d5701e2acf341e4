// How much each attention head behaves as a known kind of head, from its attention pattern and the
// tokens it saw, as TransformerLens's head detector scores it: a 0/1 detection pattern says where a
// head of that kind attends (previous token; earlier copies of the current token; the token after
// an earlier copy of the current token), and a head's score compares its pattern with it.
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { checkOptions } from "./cache-source.ts";

export type HeadKind = "previousToken" | "duplicateToken" | "induction";
export const HEAD_KINDS: readonly HeadKind[] = ["previousToken", "duplicateToken", "induction"];

export interface HeadScoreOptions {
  /** Leave attention to position 0 (BOS) out of the pattern (default false). */
  excludeBos?: boolean;
  /** Leave attention of each position to itself (the diagonal) out of the pattern (default false). */
  excludeCurrentToken?: boolean;
  /**
   * "mul" (default): the share of the head's attention that lands where the detection pattern has
   * a 1: Σ pattern · detection / Σ pattern. "abs": 1 - mean |pattern - detection| · positions.
   */
  errorMeasure?: "mul" | "abs";
  /**
   * Which query positions count: "all" (default, TransformerLens: every row of the pattern), or
   * "withTarget": only rows where the detection pattern has a 1, so that a perfect head scores 1
   * whatever share of the positions have a target (the mean attention a position with a target
   * puts on its targets; "mul" only).
   */
  rows?: "all" | "withTarget";
}

/**
 * The detection pattern [batch, positions, positions] (float32, 0 or 1; [query, key]) of a kind of
 * head for token ids [batch, positions]:
 * previousToken: key = query - 1;
 * duplicateToken: an earlier key holding the query's token;
 * induction: a key just after an earlier copy of the query's token (the duplicate pattern shifted one key right).
 */
export function detectionPattern(kind: HeadKind, tokens: MxArray): MxArray {
  if (!HEAD_KINDS.includes(kind)) {
    throw new Error(`detectionPattern: kind must be one of ${HEAD_KINDS.join(", ")}, got ${JSON.stringify(kind)}`);
  }
  if (!(tokens instanceof mx.Array) || tokens.ndim !== 2) {
    throw new TypeError("detectionPattern: tokens must be an Array of ids [batch, positions]");
  }
  const length = tokens.shape[1] as number;
  return mx.tidy(() => {
    const query = mx.reshape(mx.arange(length), [length, 1]);
    const key = mx.reshape(mx.arange(length), [1, length]);
    if (kind === "previousToken") {
      const previous = mx.astype(mx.equal(key, mx.subtract(query, 1)), "float32");
      return mx.broadcastTo(previous, [tokens.shape[0] as number, length, length]);
    }
    // [b, q, k]: the query's token at an earlier key.
    const same = mx.equal(mx.expandDims(tokens, 2), mx.expandDims(tokens, 1));
    const duplicate = mx.astype(mx.logicalAnd(same, mx.less(key, query)), "float32");
    if (kind === "duplicateToken") return duplicate;
    // induction[q, k] = duplicate[q, k - 1] for k >= 1, 0 at k = 0.
    const shifted = mx.index(duplicate, ":", ":", { stop: -1 });
    return mx.pad(shifted, [
      [0, 0],
      [0, 0],
      [1, 0],
    ]);
  });
}

/**
 * Each head's score [heads] (float32), the mean over the batch of each sequence's score, from
 * attention patterns [batch, heads, query, key] and detection patterns [batch, query, key]
 * (TransformerLens's detect_head, with its exclusion options and error measures).
 */
export function headScores(patterns: MxArray, detection: MxArray, options: HeadScoreOptions = {}): MxArray {
  const what = "headScores";
  checkOptions(options, ["excludeBos", "excludeCurrentToken", "errorMeasure", "rows"], what);
  const measure = options.errorMeasure ?? "mul";
  const rows = options.rows ?? "all";
  if (measure !== "mul" && measure !== "abs")
    throw new Error(`${what}: errorMeasure must be "mul" or "abs", got ${JSON.stringify(measure)}`);
  if (rows !== "all" && rows !== "withTarget")
    throw new Error(`${what}: rows must be "all" or "withTarget", got ${JSON.stringify(rows)}`);
  if (rows === "withTarget" && measure !== "mul")
    throw new Error(`${what}: rows "withTarget" goes with errorMeasure "mul"`);
  if (!(patterns instanceof mx.Array) || patterns.ndim !== 4 || patterns.shape[2] !== patterns.shape[3]) {
    throw new TypeError(`${what}: patterns must be an Array [batch, heads, query, key] with query = key`);
  }
  const [batch, , length] = patterns.shape as [number, number, number, number];
  if (!(detection instanceof mx.Array) || detection.shape.join() !== [batch, length, length].join()) {
    throw new TypeError(
      `${what}: the detection pattern must be [${batch}, ${length}, ${length}] to match the patterns`,
    );
  }
  return mx.tidy(() => {
    const target = mx.expandDims(mx.astype(detection, "float32"), 1); // [b, 1, q, k]
    // What the options leave out of the comparison: column 0 (BOS) and the diagonal.
    const index = mx.arange(length);
    let kept = mx.ones([length, length], "bool");
    if (options.excludeBos) kept = mx.logicalAnd(kept, mx.notEqual(mx.reshape(index, [1, length]), 0));
    if (options.excludeCurrentToken) {
      kept = mx.logicalAnd(kept, mx.notEqual(mx.reshape(index, [length, 1]), mx.reshape(index, [1, length])));
    }
    const keep = mx.astype(kept, "float32");
    const pattern = mx.multiply(mx.astype(patterns, "float32"), keep);
    let perSequence: MxArray; // [b, heads]
    if (measure === "abs") {
      const difference = mx.multiply(mx.abs(mx.subtract(pattern, target)), keep);
      perSequence = mx.subtract(1, mx.multiply(mx.mean(difference, { axis: [2, 3] }), length));
    } else {
      let counted = pattern;
      if (rows === "withTarget") {
        const hasTarget = mx.greater(mx.sum(target, { axis: -1, keepdims: true }), 0);
        counted = mx.multiply(pattern, mx.astype(hasTarget, "float32"));
      }
      perSequence = mx.divide(
        mx.sum(mx.multiply(counted, target), { axis: [2, 3] }),
        mx.sum(counted, { axis: [2, 3] }),
      );
    }
    return mx.mean(perSequence, { axis: 0 });
  });
}
