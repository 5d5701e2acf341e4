// The key/value cache of one attention layer, grown in steps of 256 positions as mlx-lm's KVCache.

import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { createCausalMask } from "./masks.ts";

const STEP = 256;

// stored[..., from:to, :] of a [B, heads, capacity, D] array, and a copy with `update` written
// there: static slices with integer bounds (as mlx-lm's stored[..., from:to, :]), built without
// parsing an index at every step.
function positions(stored: MxArray, from: number, to: number): MxArray {
  const [batch, heads, , dim] = stored.shape as [number, number, number, number];
  return mx.stridedSlice(stored, [0, 0, from, 0], [batch, heads, to, dim]);
}

function written(stored: MxArray, update: MxArray, from: number, to: number): MxArray {
  const [batch, heads, , dim] = stored.shape as [number, number, number, number];
  return mx.stridedSliceUpdate(stored, update, [0, 0, from, 0], [batch, heads, to, dim]);
}

export class KVCache {
  #keys: MxArray | undefined;
  #values: MxArray | undefined;
  /** Positions stored so far. */
  offset = 0;

  /** Appends keys and values [B, heads, L, D] and returns all stored so far. */
  updateAndFetch(keys: MxArray, values: MxArray): [MxArray, MxArray] {
    const previous = this.offset;
    const length = keys.shape[2] as number;
    if (!this.#keys || !this.#values || previous + length > (this.#keys.shape[2] as number)) this.#grow(keys, values);
    this.offset += length;
    this.#keys = this.#replace(this.#keys, written(this.#keys as MxArray, keys, previous, this.offset));
    this.#values = this.#replace(this.#values, written(this.#values as MxArray, values, previous, this.offset));
    return this.keysAndValues();
  }

  keysAndValues(): [MxArray, MxArray] {
    const keys = this.#keys as MxArray;
    const values = this.#values as MxArray;
    if (this.offset === keys.shape[2]) return [keys, values];
    return [positions(keys, 0, this.offset), positions(values, 0, this.offset)];
  }

  /**
   * The mask for `n` new queries: "causal", none for a single query, or an explicit array (always
   * with a window, or when `returnArray` asks for one).
   */
  makeMask(n: number, windowSize?: number, returnArray = false): MxArray | "causal" | null {
    if (windowSize !== undefined) return createCausalMask(n, this.offset, windowSize);
    if (n === 1) return null;
    return returnArray ? createCausalMask(n, this.offset) : "causal";
  }

  /** The arrays stored (what must be computed for the cache to be up to date), as mlx-lm's state. */
  get state(): MxArray[] {
    return [this.#keys, this.#values].filter((a) => a !== undefined);
  }

  dispose(): void {
    this.#keys?.dispose();
    this.#values?.dispose();
    this.#keys = this.#values = undefined;
    this.offset = 0;
  }

  #grow(keys: MxArray, values: MxArray): void {
    const [batch, heads, length, keyDim] = keys.shape as [number, number, number, number];
    const capacity = Math.ceil(length / STEP) * STEP;
    const freshKeys = mx.zeros([batch, heads, capacity, keyDim], keys.dtype);
    const freshValues = mx.zeros([batch, heads, capacity, values.shape[3] as number], values.dtype);
    if (!this.#keys || !this.#values) {
      this.#keys = mx.keep(freshKeys);
      this.#values = mx.keep(freshValues);
      return;
    }
    this.#keys = this.#replace(this.#keys, mx.concatenate([positions(this.#keys, 0, this.offset), freshKeys], 2));
    this.#values = this.#replace(
      this.#values,
      mx.concatenate([positions(this.#values, 0, this.offset), freshValues], 2),
    );
  }

  // Swaps in a new stored array: it outlives any tidy scope, and the old one is released.
  #replace(old: MxArray | undefined, next: MxArray): MxArray {
    mx.keep(next);
    old?.dispose();
    return next;
  }
}
