// The patching run: each original prompt with its last token's residual stream at one layer replaced
// by its counterfactual's, at every layer, as batches of prompts.
//
// The counterfactuals run once together (left-padded where their lengths differ), recording the site
// at every layer. Only the last position of an original changes when it is patched, so everything
// before it is computed once: the originals of one length run as a batch over all but their last
// token with a KV cache, and then the last token alone on that cache, unpatched and once per layer
// with the layer's site replaced. Models whose layer caches are not all key/value caches (LFM2's
// convolution state) run every patched batch over the whole prompts instead (left-padded).
import type { HookedModel } from "../../hooks/hooked-model.ts";
import { KVCache } from "../../models/cache/kv-cache.ts";
import type { LayerCache } from "../../models/causal-lm.ts";
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
 * candidates' probabilities (`candidates[b]`: token ids for prompt b) at the last position;
 * `sharePrefix` false runs whole prompts even where the prefix could be shared. Call it inside a
 * run of hm (hm.withHooks) so that hm's own hooks apply to every pass.
 */
export function patchLastToken(
  hm: HookedModel,
  originals: readonly (readonly number[])[],
  counterfactuals: readonly (readonly number[])[],
  candidates: readonly (readonly number[])[],
  site: BindingSite,
  layers: readonly number[],
  batchSize: number,
  sharePrefix = true,
): LastTokenPatching {
  const size = originals.length;
  const result: LastTokenPatching = {
    original: emptyReadout(size),
    counterfactual: emptyReadout(size),
    patched: layers.map(() => emptyReadout(size)),
  };
  const keys = layers.map((l) => `${site}.${l}`);
  const shareable =
    sharePrefix &&
    hm.model.makeCache().every((c) => {
      c.dispose();
      return c instanceof KVCache;
    });
  for (const rows of batches(originals, batchSize, shareable)) {
    const cfTokens = rows.map((b) => counterfactuals[b] as number[]);
    const wanted = rows.map((b) => candidates[b] as readonly number[]);
    const { logits: cfLogits, cache } = hm.runWithCache(cfTokens, { names: keys, prependBos: false });
    try {
      put(result.counterfactual, rows, readLast(cfLogits, wanted));
      // Each counterfactual's last token at each layer's site, [B, d_model].
      const sources = keys.map((key) => mx.keep(mx.index(cache.get(key), ":", -1, ":")));
      try {
        const tokens = rows.map((b) => originals[b] as number[]);
        const run = shareable ? lastTokenOnPrefix(hm, tokens) : wholePrompts(hm, tokens);
        try {
          put(result.original, rows, readLast(run(), wanted));
          keys.forEach((key, i) => {
            const patched = hm.withHooks({ hooks: [[key, replaceLast(sources[i] as MxArray)]] }, run);
            put(result.patched[i] as LastTokenReadout, rows, readLast(patched, wanted));
          });
        } finally {
          run.dispose();
        }
      } finally {
        for (const s of sources) s.dispose();
      }
    } finally {
      cache.dispose();
    }
  }
  return result;
}

/** A forward pass of one batch of originals, logits [B, L', vocab] ending at the last token; disposed after. */
interface BatchRun {
  (): MxArray;
  dispose(): void;
}

// Batches of row indices: at most `size` each; of one prompt length each when the prefix is shared.
function batches(prompts: readonly (readonly number[])[], size: number, byLength: boolean): number[][] {
  const groups = new Map<number, number[]>();
  prompts.forEach((p, b) => {
    const key = byLength ? p.length : 0;
    groups.set(key, [...(groups.get(key) ?? []), b]);
  });
  const out: number[][] = [];
  for (const rows of groups.values()) for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

// Prompts of one length: all but the last token run once into KV caches; each call runs the last
// token alone on a copy of them (logits [B, 1, vocab]).
function lastTokenOnPrefix(hm: HookedModel, tokens: readonly number[][]): BatchRun {
  const length = (tokens[0] as number[]).length;
  const prefix = hm.model.makeCache() as KVCache[];
  if (length > 1) {
    mx.tidy(() => {
      hm.model.call(
        mx.array(
          tokens.map((t) => t.slice(0, -1)),
          "int32",
        ),
        prefix,
      );
      const stored = prefix.flatMap((c) => c.keysAndValues());
      mx.eval(...stored);
    });
  }
  const run = () => {
    const caches = copyCaches(hm, prefix);
    try {
      return mx.tidy(
        () =>
          hm.model.call(
            mx.array(
              tokens.map((t) => t.slice(-1)),
              "int32",
            ),
            caches,
          ) as MxArray,
      );
    } finally {
      for (const c of caches) c.dispose();
    }
  };
  return Object.assign(run, {
    dispose: () => {
      for (const c of prefix) c.dispose();
    },
  });
}

// Fresh caches holding what `prefix` holds (empty where nothing was cached).
function copyCaches(hm: HookedModel, prefix: readonly KVCache[]): LayerCache[] {
  const fresh = hm.model.makeCache() as KVCache[];
  mx.tidy(() => {
    prefix.forEach((cache, i) => {
      if (cache.offset === 0) return;
      const [keys, values] = cache.keysAndValues();
      (fresh[i] as KVCache).updateAndFetch(keys, values);
    });
  });
  return fresh;
}

// Prompts of any lengths, whole, left-padded (the last token is every row's last position).
function wholePrompts(hm: HookedModel, tokens: readonly number[][]): BatchRun {
  return Object.assign(() => hm.forward(tokens, { prependBos: false }), { dispose: () => {} });
}

// A hook putting `value` [B, d] at the last position of the site's [B, L, d] activation.
function replaceLast(value: MxArray) {
  return (output: MxArray) => {
    const length = output.shape[1] as number;
    const last = mx.expandDims(mx.astype(value, output.dtype), 1);
    return length === 1 ? last : mx.concatenate([mx.index(output, ":", `:${length - 1}`, ":"), last], 1);
  };
}

/** The last position's top token and the candidates' probabilities of logits [B, L, vocab]; disposes the logits. */
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
  logits.dispose();
  return {
    top,
    topProb: topProb.map((row) => row[0] as number),
    candidates: probs.map((row, b) => row.slice(0, (candidates[b] as readonly number[]).length)),
  };
}

function emptyReadout(size: number): LastTokenReadout {
  return { top: new Array(size), topProb: new Array(size), candidates: new Array(size) };
}

// The batch's readout into the rows it ran.
function put(into: LastTokenReadout, rows: readonly number[], batch: LastTokenReadout): void {
  rows.forEach((b, r) => {
    into.top[b] = batch.top[r] as number;
    into.topProb[b] = batch.topProb[r] as number;
    into.candidates[b] = batch.candidates[r] as number[];
  });
}
