// Finds previous-token, duplicate-token and induction heads: the model reads random tokens repeated
// twice (where only those heads can help), and each head's attention pattern is scored against
// the pattern such a head would have (src/analysis/head-scores.ts).

import { checkOptions } from "../analysis/cache-source.ts";
import {
  detectionPattern,
  HEAD_KINDS,
  type HeadKind,
  type HeadScoreOptions,
  headScores,
} from "../analysis/head-scores.ts";
import type { HookedModel } from "../hooks/hooked-model.ts";
import * as mx from "../mx/index.ts";
import { stepDone } from "./abort.ts";

export interface HeadDetectorOptions extends HeadScoreOptions {
  /** Which kinds of head to score (default all three). */
  kinds?: readonly HeadKind[];
  /**
   * The token ids to run, [batch][positions] (default: repeatedRandomTokens with the options
   * below). Any tokens work: the detection patterns are built from them.
   */
  tokens?: readonly (readonly number[])[];
  /** Random sequences (default 32), each `repeatLength` tokens (default 50) then the same again. */
  batch?: number;
  repeatLength?: number;
  /** Seed of the random tokens (default 0). */
  seed?: number;
  /** Token ids are drawn uniformly from [low, high) (default: the whole vocabulary). */
  tokenRange?: readonly [number, number];
  /** Score at or above which a head is listed as of a kind (default 0.4). */
  threshold?: number;
  /**
   * Called as the sequences run: how many have, of how many. With it they run in chunks of
   * PROGRESS_CHUNK (a forward pass each), so the scores equal the one-pass ones up to the rounding
   * of a different batch size.
   */
  onProgress?: (done: number, total: number) => void;
  /** Stops after the chunk in progress, with an AbortError (abort.ts); runs in chunks as with onProgress. */
  signal?: AbortSignal;
}

/** Sequences per forward pass when progress is reported. */
export const PROGRESS_CHUNK = 4;

/** A head and its score. */
export interface ScoredHead {
  layer: number;
  head: number;
  score: number;
}

export class HeadDetectorResult {
  /** The attention layers scored, in order. */
  readonly layers: number[];
  /** scores[kind][i][head]: the score of each head of layers[i]. */
  readonly scores: Partial<Record<HeadKind, number[][]>>;
  readonly threshold: number;
  /** The options the scores were computed with. */
  readonly options: HeadScoreOptions & { batch: number; positions: number };

  constructor(
    layers: number[],
    scores: Partial<Record<HeadKind, number[][]>>,
    threshold: number,
    options: HeadScoreOptions & { batch: number; positions: number },
  ) {
    this.layers = layers;
    this.scores = scores;
    this.threshold = threshold;
    this.options = options;
  }

  /** The heads of `kind` scoring at least the threshold, highest first. */
  heads(kind: HeadKind, threshold = this.threshold): ScoredHead[] {
    const scores = this.scores[kind];
    if (scores === undefined) throw new Error(`the detector was run without "${kind}"`);
    return scores
      .flatMap((row, i) => row.map((score, head) => ({ layer: this.layers[i] as number, head, score })))
      .filter((h) => h.score >= threshold)
      .sort((a, b) => b.score - a.score || a.layer - b.layer || a.head - b.head);
  }

  /** The score of one head. */
  score(kind: HeadKind, layer: number, head: number): number {
    const row = this.scores[kind]?.[this.layers.indexOf(layer)];
    const value = row?.[head];
    if (value === undefined) throw new Error(`no ${kind} score for L${layer}H${head}`);
    return value;
  }

  toJSON() {
    const found = Object.fromEntries(Object.keys(this.scores).map((k) => [k, this.heads(k as HeadKind)]));
    return { layers: this.layers, scores: this.scores, threshold: this.threshold, options: this.options, heads: found };
  }

  /** The heads of each kind at or above the threshold, as "L1H3 0.987". */
  toString(): string {
    return (Object.keys(this.scores) as HeadKind[])
      .map((kind) => {
        const heads = this.heads(kind).map((h) => `L${h.layer}H${h.head} ${h.score.toFixed(3)}`);
        return `${kind} heads (score >= ${this.threshold}): ${heads.join(", ") || "none"}`;
      })
      .join("\n");
  }
}

/**
 * Scores every head of every attention layer as a previous-token, duplicate-token and induction
 * head on repeated random tokens (or the tokens given), with TransformerLens's detection patterns
 * and scores (see HeadScoreOptions).
 */
export function detectHeads(hm: HookedModel, options: HeadDetectorOptions = {}): HeadDetectorResult {
  const what = "detectHeads";
  checkOptions(
    options,
    [
      "kinds",
      "tokens",
      "batch",
      "repeatLength",
      "seed",
      "tokenRange",
      "threshold",
      "excludeBos",
      "excludeCurrentToken",
      "errorMeasure",
      "rows",
      "onProgress",
      "signal",
    ],
    what,
  );
  const kinds = options.kinds ?? HEAD_KINDS;
  const unknown = kinds.find((k) => !HEAD_KINDS.includes(k));
  if (unknown !== undefined || kinds.length === 0) {
    throw new Error(`${what}: kinds must be some of ${HEAD_KINDS.join(", ")}, got ${JSON.stringify(kinds)}`);
  }
  const tokens = options.tokens === undefined ? repeatedRandomTokens(hm, options) : hm.toTokens(options.tokens);
  const length = (tokens[0] as number[]).length;
  if (tokens.some((row) => row.length !== length)) throw new Error(`${what}: every sequence must have the same length`);
  const scoreOptions: HeadScoreOptions = {
    ...(options.excludeBos === undefined ? {} : { excludeBos: options.excludeBos }),
    ...(options.excludeCurrentToken === undefined ? {} : { excludeCurrentToken: options.excludeCurrentToken }),
    ...(options.errorMeasure === undefined ? {} : { errorMeasure: options.errorMeasure }),
    ...(options.rows === undefined ? {} : { rows: options.rows }),
  };
  const rows = tokens.map((row) => [...row]);
  const patterns =
    options.onProgress === undefined && options.signal === undefined
      ? hm.getAttentionPatterns(rows)
      : chunkedPatterns(hm, rows, options);
  const layers = [...patterns.keys()];
  const scores: Partial<Record<HeadKind, number[][]>> = {};
  try {
    mx.tidy(() => {
      const ids = mx.array(tokens as number[][], "int32");
      for (const kind of kinds) {
        const detection = detectionPattern(kind, ids);
        scores[kind] = layers.map(
          (l) => headScores(patterns.get(l) as mx.Array, detection, scoreOptions).tolist() as number[],
        );
      }
    });
  } finally {
    for (const p of patterns.values()) p.dispose();
  }
  return new HeadDetectorResult(layers, scores, options.threshold ?? 0.4, {
    ...scoreOptions,
    batch: tokens.length,
    positions: length,
  });
}

// The attention patterns of every layer, PROGRESS_CHUNK sequences per forward pass, joined on the batch axis.
function chunkedPatterns(
  hm: HookedModel,
  rows: number[][],
  steps: Pick<HeadDetectorOptions, "onProgress" | "signal">,
): Map<number, mx.Array> {
  const parts = new Map<number, mx.Array[]>();
  try {
    for (let from = 0; from < rows.length; from += PROGRESS_CHUNK) {
      for (const [layer, pattern] of hm.getAttentionPatterns(rows.slice(from, from + PROGRESS_CHUNK))) {
        parts.set(layer, [...(parts.get(layer) ?? []), pattern]);
      }
      stepDone(steps, "detectHeads", Math.min(from + PROGRESS_CHUNK, rows.length), rows.length);
    }
    return new Map([...parts].map(([layer, list]) => [layer, mx.concatenate(list, 0)]));
  } finally {
    for (const list of parts.values()) for (const p of list) p.dispose();
  }
}

/**
 * `batch` sequences of BOS (where the tokenizer has one) then `repeatLength` seeded uniform random
 * ids, then the same ids again: [batch][1 + 2 · repeatLength].
 */
export function repeatedRandomTokens(
  hm: HookedModel,
  options: Pick<HeadDetectorOptions, "batch" | "repeatLength" | "seed" | "tokenRange"> = {},
): number[][] {
  const what = "repeatedRandomTokens";
  const batch = options.batch ?? 32;
  const repeatLength = options.repeatLength ?? 50;
  const vocab = hm.readout.identity.vocabSize;
  const [low, high] = options.tokenRange ?? [0, vocab];
  for (const [name, value] of [
    ["batch", batch],
    ["repeatLength", repeatLength],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`${what}: ${name} must be a positive integer, got ${value}`);
  }
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < 0 || high > vocab || low >= high) {
    throw new RangeError(
      `${what}: tokenRange must be [low, high) with 0 <= low < high <= ${vocab}, got [${low}, ${high}]`,
    );
  }
  const half = mx.tidy(
    () =>
      mx.random
        .randint(low, high, [batch, repeatLength], { dtype: "int32", key: mx.random.key(options.seed ?? 0) })
        .tolist() as number[][],
  );
  const bos = hm.tokenizer?.bosTokenId;
  return half.map((row) => [...(bos === undefined ? [] : [bos]), ...row, ...row]);
}
