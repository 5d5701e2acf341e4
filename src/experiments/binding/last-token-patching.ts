// The patching run: each original prompt with its last token's residual stream at one layer replaced
// by its counterfactual's, at every layer. The prompts run as batches (left-padded where their
// lengths differ, so the last token is the last position of every row): one forward pass over the
// counterfactuals recording the site at every layer, one over the originals unpatched, then one per
// layer over the originals with that layer's last position replaced, per batch of prompts.
import type { HookedModel } from "../../hooks/hooked-model.ts";
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";

/** Residual-stream sites patched per layer: the stream entering the layer, or leaving it. */
export const BINDING_SITES = ["resid_pre", "resid_post"] as const;
export type BindingSite = (typeof BINDING_SITES)[number];

/** What is read from one run's last position, per prompt (probabilities over the whole vocabulary, float32). */
export interface LastTokenReadout {
  /** The most probable next token. */
  top: number[];
  topProb: number[];
  /** The probability of each of the prompt's candidate tokens, in the order given. */
  candidates: number[][];
}

export interface LastTokenPatching {
  original: LastTokenReadout;
  counterfactual: LastTokenReadout;
  /** One readout per layer patched, in the order of `layers`. */
  patched: LastTokenReadout[];
}

/**
 * Runs the originals unpatched and patched at `site` of each of `layers` (the last position only,
 * from the counterfactual of the same row), `batchSize` prompts per forward pass, and reads the
 * candidates' probabilities (`candidates[b]`: token ids for prompt b) at the last position.
 */
export function patchLastToken(
  hm: HookedModel,
  originals: readonly (readonly number[])[],
  counterfactuals: readonly (readonly number[])[],
  candidates: readonly (readonly number[])[],
  site: BindingSite,
  layers: readonly number[],
  batchSize: number,
): LastTokenPatching {
  const result: LastTokenPatching = {
    original: emptyReadout(),
    counterfactual: emptyReadout(),
    patched: layers.map(emptyReadout),
  };
  const keys = layers.map((l) => `${site}.${l}`);
  for (let from = 0; from < originals.length; from += batchSize) {
    const rows = originals.slice(from, from + batchSize) as number[][];
    const cfRows = counterfactuals.slice(from, from + batchSize) as number[][];
    const wanted = candidates.slice(from, from + batchSize);
    const { logits: cfLogits, cache } = hm.runWithCache(cfRows, { names: keys, prependBos: false });
    try {
      append(result.counterfactual, readLast(cfLogits, wanted));
      cfLogits.dispose();
      const clean = hm.forward(rows, { prependBos: false });
      append(result.original, readLast(clean, wanted));
      clean.dispose();
      keys.forEach((key, i) => {
        const source = mx.index(cache.get(key), ":", -1, ":"); // [B, d_model]: each counterfactual's last token
        const patched = hm.runWithHooks(rows, { prependBos: false, hooks: [[key, replaceLast(source)]] });
        append(result.patched[i] as LastTokenReadout, readLast(patched, wanted));
        patched.dispose();
        source.dispose();
      });
    } finally {
      cache.dispose();
    }
  }
  return result;
}

// A hook putting `value` [B, d] at the last position of the site's [B, L, d] activation.
function replaceLast(value: MxArray) {
  return (output: MxArray) => {
    const length = output.shape[1] as number;
    return mx.concatenate(
      [mx.index(output, ":", `:${length - 1}`, ":"), mx.expandDims(mx.astype(value, output.dtype), 1)],
      1,
    );
  };
}

/** The last position's top token and the candidates' probabilities of logits [B, L, vocab]. */
export function readLast(logits: MxArray, candidates: readonly (readonly number[])[]): LastTokenReadout {
  const width = Math.max(...candidates.map((c) => c.length));
  // Rows with fewer candidates repeat their first; the extra columns are dropped below.
  const ids = candidates.map((c) => Array.from({ length: width }, (_, j) => c[j] ?? (c[0] as number)));
  const [top, topProb, probs] = mx.tidy(() => {
    const last = mx.astype(mx.index(logits, ":", -1, ":"), "float32");
    const p = mx.softmax(last, { axis: -1, precise: true });
    const best = mx.argmax(p, { axis: -1 });
    return [
      best.tolist() as number[],
      mx.takeAlongAxis(p, mx.expandDims(best, -1), -1).tolist() as number[][],
      mx.takeAlongAxis(p, mx.array(ids, "int32"), -1).tolist() as number[][],
    ] as const;
  });
  return {
    top,
    topProb: topProb.map((row) => row[0] as number),
    candidates: probs.map((row, b) => row.slice(0, (candidates[b] as readonly number[]).length)),
  };
}

function emptyReadout(): LastTokenReadout {
  return { top: [], topProb: [], candidates: [] };
}

function append(into: LastTokenReadout, more: LastTokenReadout): void {
  into.top.push(...more.top);
  into.topProb.push(...more.topProb);
  into.candidates.push(...more.candidates);
}
