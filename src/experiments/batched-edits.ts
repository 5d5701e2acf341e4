// Runs many single edits of one prompt's activations as batches that share the unchanged prefix.
//
// An edit replaces a site's activation at some positions (for z, one head's). Every position
// before the first edited one, and every block before the edited layer, computes exactly what the
// unedited prompt computes. So the prompt runs once with a KV cache, keeping the stream between
// blocks, and a batch of edits at one layer runs from that layer's block only (from the stream the
// unedited run left there), over positions p.. only (p its first edited position), on the cache's
// first p positions broadcast over the batch, and unembeds the last position only. Each row's
// replacement is put in by one `where` per site (an exact copy of the given values).
//
// Models whose layer caches are not all key/value caches (LFM2's convolution state can't be cut
// back to an earlier position) run every batch over the whole prompt instead: still batched and
// started at the edited layer, not prefix-shared.

import type { Hook } from "../hooks/hook-types.ts";
import type { HookedModel } from "../hooks/hooked-model.ts";
import { KVCache } from "../models/cache/kv-cache.ts";
import type { LayerCache } from "../models/causal-lm.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { stepDone } from "./abort.ts";

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
  /** Stops the runs after the batch in progress, with an AbortError (abort.ts). */
  signal?: AbortSignal;
}

/** The options of runEdits an experiment passes on from its own, those that were given. */
export function passedRunOptions(
  options: Partial<Pick<EditRunOptions, "batchSize" | "sharePrefix" | "onProgress" | "signal">>,
): Omit<EditRunOptions, "readout"> {
  const { batchSize, sharePrefix, onProgress, signal } = options;
  return {
    ...(batchSize === undefined ? {} : { batchSize }),
    ...(sharePrefix === undefined ? {} : { sharePrefix }),
    ...(onProgress === undefined ? {} : { onProgress }),
    ...(signal === undefined ? {} : { signal }),
  };
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
  // The unedited stream leaving each block an edited run starts after ([1, L, d_model]).
  const streams = new Map<number, MxArray>();
  try {
    const starts = new Set(edits.map(startBlock).filter((b) => b > 0));
    const recorders = [...starts].map((b): [string, Hook] => [
      `resid_post.${b - 1}`,
      (output) => {
        streams.set(b - 1, mx.keep(output));
      },
    ]);
    // Inside a run of hm, so its own (addHook) hooks apply here as in the edited passes.
    const base = hm.withHooks({ hooks: recorders }, () =>
      mx.tidy(() => {
        const logits = hm.model.call(mx.array([tokens as number[]], "int32"), baseCaches) as MxArray;
        return options.readout(mx.index(logits, ":", -1, ":"));
      }),
    );
    mx.eval(base, ...streams.values());
    const shareable = options.sharePrefix !== false && baseCaches.every((c) => c instanceof KVCache);
    // Edits by the block their runs start at; each batch of them starts at its first edited position.
    const groups = new Map<number, number[]>();
    edits.forEach((edit, i) => {
      const block = startBlock(edit);
      groups.set(block, [...(groups.get(block) ?? []), i]);
    });
    const first = (i: number) => Math.min(...(edits[i] as Edit).positions);
    const rows = new Array<MxArray>(edits.length);
    let done = 0;
    let finished = false;
    try {
      for (const [block, members] of groups) {
        members.sort((a, b) => first(a) - first(b));
        // A batch runs from its first row's position; a later row's positions before its own
        // edit are recomputed for nothing. A row joins the batch while it starts in the first half
        // of the positions the batch runs, so at most half of a batch's work is such waste (on
        // tiny-lm-f16 this took about half the time of either one batch per block or one per position).
        const chunks: number[][] = [];
        for (const m of members) {
          const chunk = chunks[chunks.length - 1];
          const from = chunk === undefined ? 0 : first(chunk[0] as number);
          const joins =
            chunk !== undefined &&
            chunk.length < batchSize &&
            (!shareable || 2 * (first(m) - from) <= tokens.length - from);
          if (joins) chunk.push(m);
          else chunks.push([m]);
        }
        for (const chunk of chunks) {
          const start = shareable ? first(chunk[0] as number) : 0;
          const out = runBatch(
            hm,
            tokens,
            { block, position: start, stream: streams.get(block - 1) },
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
          stepDone(options, "the patched or ablated runs", done, edits.length);
        }
      }
      const edited = edits.length ? mx.stack(rows) : mx.zeros([0]);
      mx.eval(edited);
      finished = true;
      return { base, edited };
    } finally {
      for (const r of rows) r?.dispose();
      if (!finished) base.dispose(); // stopped or failed part-way: the caller never gets it
    }
  } finally {
    for (const c of baseCaches) c.dispose();
    for (const s of streams.values()) s.dispose();
  }
}

// The block an edited run starts at: the layer of its site (the blocks before compute what the
// unedited run computed), or the next one for a block's output, which is put straight into that
// block's input. Sites outside the blocks (embeddings) start at the tokens (block 0).
function startBlock(edit: Edit): number {
  const match = /^([a-z_]+)\.(\d+)$/.exec(edit.key);
  if (match === null) return 0;
  const layer = Number(match[2]);
  return match[1] === "resid_post" ? layer + 1 : layer;
}

interface BatchStart {
  /** The block the batch's runs start at. */
  block: number;
  /** The first position they run (the cache holds the ones before). */
  position: number;
  /** For block > 0: the unedited stream entering that block, [1, L, d_model]. */
  stream: MxArray | undefined;
}

// One forward pass of the edits from block `at.block` over positions `at.position`.., on the first
// `at.position` cached positions.
function runBatch(
  hm: HookedModel,
  tokens: readonly number[],
  at: BatchStart,
  edits: readonly Edit[],
  baseCaches: readonly KVCache[],
  options: EditRunOptions,
): MxArray {
  const n = edits.length;
  const { block, position: start } = at;
  const caches = start > 0 ? prefixCaches(hm, baseCaches, start, n, block) : undefined;
  const byKey = new Map<string, number[]>();
  edits.forEach((edit, row) => {
    byKey.set(edit.key, [...(byKey.get(edit.key) ?? []), row]);
  });
  // Edits of the stream entering the start block are put in directly, the others by hooks.
  const direct = `resid_post.${block - 1}`;
  const hooks = [...byKey]
    .filter(([key]) => key !== direct)
    .map(([key, rows]): [string, Hook] => [key, replacer(edits, rows, start)]);
  try {
    // The edits are hooks of this pass only, beside the HookedModel's own (addHook) hooks.
    return hm.withHooks({ hooks }, () =>
      mx.tidy(() => {
        if (block === 0) {
          const suffix = tokens.slice(start) as number[];
          const ids = mx.array(
            Array.from({ length: n }, () => suffix),
            "int32",
          );
          const logits = hm.model.call(ids, caches) as MxArray;
          return options.readout(mx.index(logits, ":", -1, ":"));
        }
        const stream = at.stream as MxArray;
        const [, length, width] = stream.shape as [number, number, number];
        let h = mx.broadcastTo(mx.index(stream, ":", `${start}:`, ":"), [n, length - start, width]);
        const rows = byKey.get(direct);
        if (rows !== undefined) h = replacer(edits, rows, start)(h);
        const logits = hm.model.forwardFrom(block, h, caches);
        return options.readout(mx.index(logits, ":", -1, ":"));
      }),
    );
  } finally {
    for (const c of caches ?? []) c.dispose();
  }
}

// Fresh caches holding the first `length` positions of the prompt's own, once per row, for the
// layers from `block` on (the others are not run).
function prefixCaches(
  hm: HookedModel,
  base: readonly KVCache[],
  length: number,
  rows: number,
  block: number,
): LayerCache[] {
  const fresh = hm.model.makeCache() as KVCache[];
  mx.tidy(() => {
    base.forEach((cache, i) => {
      if (i < block) return;
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
function replacer(edits: readonly Edit[], rows: readonly number[], start: number): (output: MxArray) => MxArray {
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
