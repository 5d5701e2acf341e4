// The key/value cache of a sliding-window layer, as mlx-lm's RotatingKVCache: it holds at most
// max_size positions (the first `keep` never evicted); single tokens are written in place at a
// rotating index, longer chunks are appended after putting the cache back in temporal order.
// The keys an attention layer sees, and their order, are those mlx-lm's layer sees.

import { createCausalMask } from "../models/masks.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { KVCache } from "./kv-cache.ts";

const STEP = 256;

export class RotatingKVCache extends KVCache {
  #keys: MxArray | undefined;
  #values: MxArray | undefined;
  #idx = 0;

  constructor(
    readonly maxSize: number,
    readonly keep = 0,
  ) {
    super();
  }

  override updateAndFetch(keys: MxArray, values: MxArray): [MxArray, MxArray] {
    return keys.shape[2] === 1 ? this.#updateInPlace(keys, values) : this.#updateConcat(keys, values);
  }

  override keysAndValues(): [MxArray, MxArray] {
    const keys = this.#keys as MxArray;
    const values = this.#values as MxArray;
    if (this.offset < (keys.shape[2] as number)) {
      const upTo = `:${this.offset}`;
      return [mx.index(keys, "...", upTo, ":"), mx.index(values, "...", upTo, ":")];
    }
    return [keys, values];
  }

  override makeMask(n: number, windowSize?: number): MxArray | "causal" | null {
    if (n > 1) {
      const window = windowSize || this.maxSize;
      const offset = Math.min(this.maxSize - 1, this.offset);
      return offset + n > window ? createCausalMask(n, offset, window) : "causal";
    }
    if (windowSize === undefined) return null;
    if (this.offset >= windowSize && this.maxSize > windowSize) {
      // Valid slots of the ring, rolled so they line up with where the newest token goes.
      const idx = this.#idx >= this.maxSize ? 0 : this.#idx;
      const size = this.offset < this.maxSize ? this.offset + 1 : this.maxSize;
      return mx.tidy(() => {
        const mask = mx.greaterEqual(mx.arange(size), size - windowSize);
        const shift = (idx + 1) % size;
        if (shift === 0) return mask;
        return mx.concatenate([mx.index(mask, `${size - shift}:`), mx.index(mask, `:${size - shift}`)], 0);
      });
    }
    return null;
  }

  override dispose(): void {
    this.#keys?.dispose();
    this.#values?.dispose();
    this.#keys = this.#values = undefined;
    this.offset = 0;
    this.#idx = 0;
  }

  #trim(trimSize: number, v: MxArray, append?: MxArray): MxArray {
    const parts =
      trimSize > 0
        ? [mx.index(v, "...", `:${this.keep}`, ":"), mx.index(v, "...", `${trimSize + this.keep}:`, ":")]
        : [v];
    if (append) parts.push(append);
    return mx.concatenate(parts, 2);
  }

  // The cache in temporal order, without unused slots at the end.
  #temporalOrder(v: MxArray): MxArray {
    const length = v.shape[2] as number;
    if (this.#idx === length) return v;
    if (this.#idx < this.offset) {
      return mx.concatenate(
        [
          mx.index(v, "...", `:${this.keep}`, ":"),
          mx.index(v, "...", `${this.#idx}:`, ":"),
          mx.index(v, "...", `${this.keep}:${this.#idx}`, ":"),
        ],
        2,
      );
    }
    return mx.index(v, "...", `:${this.#idx}`, ":");
  }

  #updateConcat(keys: MxArray, values: MxArray): [MxArray, MxArray] {
    if (!this.#keys || !this.#values) {
      // Own handles on the caller's arrays, so releasing them later leaves the caller's intact.
      this.#keys = this.#replace(undefined, mx.array(keys));
      this.#values = this.#replace(undefined, mx.array(values));
    } else {
      const orderedKeys = this.#temporalOrder(this.#keys);
      const orderedValues = this.#temporalOrder(this.#values);
      this.#idx = orderedKeys.shape[2] as number;
      // At most max_size + L - 1 positions, so every new token sees max_size of context.
      const trimSize = this.#idx - this.maxSize + 1;
      this.#keys = this.#replace(this.#keys, this.#trim(trimSize, orderedKeys, keys));
      this.#values = this.#replace(this.#values, this.#trim(trimSize, orderedValues, values));
    }
    this.offset += keys.shape[2] as number;
    this.#idx = this.#keys.shape[2] as number;
    return [this.#keys, this.#values];
  }

  #updateInPlace(keys: MxArray, values: MxArray): [MxArray, MxArray] {
    const [batch, heads, length, keyDim] = keys.shape as [number, number, number, number];
    const previous = this.offset;
    if (
      !this.#keys ||
      !this.#values ||
      (previous >= (this.#keys.shape[2] as number) && (this.#keys.shape[2] as number) < this.maxSize)
    ) {
      const size = Math.min(STEP, this.maxSize - previous);
      const freshKeys = mx.zeros([batch, heads, size, keyDim], keys.dtype);
      const freshValues = mx.zeros([batch, heads, size, values.shape[3] as number], values.dtype);
      if (this.#keys && this.#values) {
        this.#keys = this.#replace(this.#keys, mx.concatenate([this.#keys, freshKeys], 2));
        this.#values = this.#replace(this.#values, mx.concatenate([this.#values, freshValues], 2));
      } else {
        this.#keys = this.#replace(undefined, freshKeys);
        this.#values = this.#replace(undefined, freshValues);
      }
      this.#idx = previous;
    }
    const trimSize = (this.#keys.shape[2] as number) - this.maxSize;
    if (trimSize > 0) {
      this.#keys = this.#replace(this.#keys, this.#trim(trimSize, this.#keys));
      this.#values = this.#replace(this.#values, this.#trim(trimSize, this.#values as MxArray));
      this.#idx = this.maxSize;
    }
    if (this.#idx === this.maxSize) this.#idx = this.keep;
    const span = `${this.#idx}:${this.#idx + length}`;
    this.#keys = this.#replace(this.#keys, mx.at(this.#keys, "...", span, ":").set(keys));
    this.#values = this.#replace(this.#values, mx.at(this.#values as MxArray, "...", span, ":").set(values));
    this.offset += length;
    this.#idx += length;
    return this.keysAndValues();
  }

  // Swaps in a new stored array: it outlives any tidy scope, and the old one is released.
  #replace(old: MxArray | undefined, next: MxArray): MxArray {
    mx.keep(next);
    if (old !== next) old?.dispose();
    return next;
  }
}
