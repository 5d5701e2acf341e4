// Runs many single edits of one prompt's activations as batches that share the unchanged prefix.
//
// An edit replaces a site's activation at some positions (for z, one head's). Every position
// before the first edited one computes exactly what the unedited prompt computes, so the prompt
// runs once with a KV cache, and the edits whose first position is p run together as one batch
// over positions p.. only, on the cache's first p positions broadcast over the batch. Each row's
// replacement is put in by one `where` per site (an exact copy of the given values).
//
// Models whose layer caches are not all key/value caches (LFM2's convolution state can't be cut
// back to an earlier position) run every batch over the whole prompt instead: still batched, not
// prefix-shared.

import type { Hook } from "../hooks/hook-types.ts";
import type { HookedModel } from "../hooks/hooked-model.ts";
import { KVCache } from "../models/cache/kv-cache.ts";
import type { LayerCache } from "../models/causal-lm.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";

export interface Edit {
  /** The standard key of the site ("resid_pre.3", "attn_out.0", "z.1"). */
  key: string;
  /** The positions replaced, each once. */
  positions: readonly number[];
  /** For a z site: the head replaced. */
  head?: number;
  /** The replacement, [positions.length, width] (d_model, or d_head for a z head). */
  value: MxArray;
}

export interface EditRunOptions {
  /** Reads the last position's logits [N, vocab] of N runs into an array with N rows. */
  readout: (logits: MxArray) => MxArray;
  /** Most runs in one forward pass (default 64). */
  batchSize?: number;
  /** Share the unchanged prefix through the KV cache (default true); false runs every batch over the whole prompt. */
  sharePrefix?: boolean;
  /** Called after each batch with the edits run so far and their number (for a progress bar). */
  onProgress?: (done: number, total: number) => void;
}

export interface EditRunResult {
  /** The readout of the unedited prompt (1 row). */
  base: MxArray;
  /** The readout of each edit, in the order given (one row each). */
  edited: MxArray;
}

/** The prompt `tokens` once unedited and once per edit; the caller disposes the result's arrays. */
export function runEdits(
  hm: HookedModel,
  tokens: readonly number[],
  edits: readonly Edit[],
  options: EditRunOptions,
): EditRunResult {
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  for (const edit of edits) checkEdit(hm, edit, tokens.length);

  const baseCaches = hm.model.makeCache();
  try {
    // Inside a run of hm, so its own (addHook) hooks apply here as in the edited passes.
    const base = hm.withHooks({}, () =>
      mx.tidy(() => {
        const logits = hm.model.call(mx.array([tokens as number[]], "int32"), baseCaches) as MxArray;
        return options.readout(mx.index(logits, ":", -1, ":"));
      }),
    );
    mx.eval(base);
    const shareable = options.sharePrefix !== false && baseCaches.every((c) => c instanceof KVCache);
    // Edits by the position their batch starts at, the batches in order.
    const groups = new Map<number, number[]>();
    edits.forEach((edit, i) => {
      const start = shareable ? Math.min(...edit.positions) : 0;
      groups.set(start, [...(groups.get(start) ?? []), i]);
    });
    const rows = new Array<MxArray>(edits.length);
    let done = 0;
    try {
      for (const [start, members] of groups) {
        for (let from = 0; from < members.length; from += batchSize) {
          const chunk = members.slice(from, from + batchSize);
          const out = runBatch(
            hm,
            tokens,
            start,
            chunk.map((i) => edits[i] as Edit),
            baseCaches as KVCache[],
            options,
          );
          mx.eval(out);
          chunk.forEach((editIndex, r) => {
            rows[editIndex] = mx.keep(mx.index(out, r));
          });
          out.dispose();
          done += chunk.length;
          options.onProgress?.(done, edits.length);
        }
      }
      const edited = edits.length ? mx.stack(rows) : mx.zeros([0]);
      mx.eval(edited);
      return { base, edited };
    } finally {
      for (const r of rows) r?.dispose();
    }
  } finally {
    for (const c of baseCaches) c.dispose();
  }
}

// One forward pass of the edits over positions start.., on the first `start` cached positions.
function runBatch(
  hm: HookedModel,
  tokens: readonly number[],
  start: number,
  edits: readonly Edit[],
  baseCaches: readonly KVCache[],
  options: EditRunOptions,
): MxArray {
  const n = edits.length;
  const caches = start > 0 ? prefixCaches(hm, baseCaches, start, n) : undefined;
  const byKey = new Map<string, number[]>();
  edits.forEach((edit, row) => {
    byKey.set(edit.key, [...(byKey.get(edit.key) ?? []), row]);
  });
  const hooks = [...byKey].map(([key, rows]): [string, Hook] => [key, replacer(edits, rows, start)]);
  try {
    // The edits are hooks of this pass only, beside the HookedModel's own (addHook) hooks.
    return hm.withHooks({ hooks }, () =>
      mx.tidy(() => {
        const suffix = tokens.slice(start) as number[];
        const ids = mx.array(
          Array.from({ length: n }, () => suffix),
          "int32",
        );
        const logits = hm.model.call(ids, caches) as MxArray;
        return options.readout(mx.index(logits, ":", -1, ":"));
      }),
    );
  } finally {
    for (const c of caches ?? []) c.dispose();
  }
}

// Fresh caches holding the first `length` positions of the prompt's own, once per row.
function prefixCaches(hm: HookedModel, base: readonly KVCache[], length: number, rows: number): LayerCache[] {
  const fresh = hm.model.makeCache() as KVCache[];
  mx.tidy(() => {
    base.forEach((cache, i) => {
      const [keys, values] = cache.keysAndValues();
      const cut = (a: MxArray) => {
        const [, heads, , dim] = a.shape as [number, number, number, number];
        return mx.broadcastTo(mx.index(a, ":", ":", `:${length}`, ":"), [rows, heads, length, dim]);
      };
      (fresh[i] as KVCache).updateAndFetch(cut(keys), cut(values));
    });
  });
  return fresh;
}

// The hook that puts each row's replacement into the site's output (rows without an edit here keep theirs).
function replacer(edits: readonly Edit[], rows: readonly number[], start: number): Hook {
  return (output) => {
    const perHead = output.ndim === 4; // z: [N, heads, L, d_head]
    const [n, second, third] = output.shape as [number, number, number];
    const length = perHead ? third : second;
    const heads = perHead ? second : 1;
    // Which stacked value each (row, head, position) takes; `missing` (a last zero row) marks none.
    const values: MxArray[] = [];
    let count = 0;
    const missing = rows.reduce((sum, r) => sum + (edits[r] as Edit).positions.length, 0);
    const where = new Int32Array(n * heads * length).fill(missing);
    for (const row of rows) {
      const edit = edits[row] as Edit;
      values.push(edit.value);
      edit.positions.forEach((p, k) => {
        where[(row * heads + (edit.head ?? 0)) * length + (p - start)] = count + k;
      });
      count += edit.positions.length;
    }
    const width = output.shape[output.ndim - 1] as number;
    const table = mx.concatenate(
      [...values.map((v) => mx.astype(v, output.dtype)), mx.zeros([1, width], output.dtype)],
      0,
    );
    const shape = perHead ? [n, heads, length] : [n, length];
    const index = mx.reshape(mx.array(Array.from(where), "int32"), shape);
    const replaced = mx.expandDims(mx.less(index, missing), -1);
    return mx.where(replaced, mx.take(table, index, 0), output);
  };
}

function checkEdit(hm: HookedModel, edit: Edit, length: number): void {
  if (!hm.names.keys().includes(edit.key))
    throw new Error(`edit site "${edit.key}" is not a standard key of this model`);
  const z = edit.key.startsWith("z.");
  if (z !== (edit.head !== undefined))
    throw new Error(`edit at "${edit.key}": a head is given for z sites, and only there`);
  if (edit.positions.length === 0) throw new Error(`edit at "${edit.key}" replaces no position`);
  if (new Set(edit.positions).size !== edit.positions.length)
    throw new Error(`edit at "${edit.key}" repeats a position`);
  for (const p of edit.positions) {
    if (!Number.isInteger(p) || p < 0 || p >= length) {
      throw new Error(`edit at "${edit.key}": position ${p} is out of range for ${length} tokens`);
    }
  }
  if (edit.value.ndim !== 2 || edit.value.shape[0] !== edit.positions.length) {
    throw new Error(
      `edit at "${edit.key}": the value must be [${edit.positions.length}, width] (one row per position), got [${edit.value.shape}]`,
    );
  }
}
