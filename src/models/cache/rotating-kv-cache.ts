// The key/value cache of a sliding-window attention layer, as mlx-lm's RotatingKVCache: at most
// max_size positions (plus the first `keep`), written in place in a ring for single-token steps,
// put back in temporal order and trimmed for multi-token steps (which see up to max_size + L - 1
// keys, so that every new token has a full window).

import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { KVCache } from "./kv-cache.ts";
import { createCausalMask } from "./masks.ts";

const STEP = 256;

export class RotatingKVCache extends KVCache {
  #keys: MxArray | undefined;
  #values: MxArray | undefined;
  #idx = 0;
  readonly maxSize: number;
  readonly keep: number;

  constructor(maxSize: number, keep = 0) {
    super();
    if (!Number.isInteger(maxSize) || maxSize < 1) throw new Error(`RotatingKVCache: max size ${maxSize}`);
    this.maxSize = maxSize;
    this.keep = keep;
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

  override makeMask(n: number, windowSize?: number, returnArray = false): MxArray | "causal" | null {
    if (n > 1) {
      const window = windowSize || this.maxSize;
      const offset = Math.min(this.maxSize - 1, this.offset);
      return offset + n > window || returnArray ? createCausalMask(n, offset, window) : "causal";
    }
    if (windowSize === undefined) return null;
    // A window shorter than the ring: mask the ring's oldest entries.
    if (this.offset >= windowSize && this.maxSize > windowSize) {
      const idx = this.#idx >= this.maxSize ? 0 : this.#idx;
      const size = this.offset < this.maxSize ? this.offset + 1 : this.maxSize;
      return mx.tidy(() => roll(mx.greaterEqual(mx.arange(size), size - windowSize), idx + 1));
    }
    return null;
  }

  override get state(): MxArray[] {
    return [this.#keys, this.#values].filter((a) => a !== undefined);
  }

  override dispose(): void {
    this.#keys?.dispose();
    this.#values?.dispose();
    this.#keys = this.#values = undefined;
    this.offset = 0;
    this.#idx = 0;
  }

  #updateConcat(keys: MxArray, values: MxArray): [MxArray, MxArray] {
    if (!this.#keys || !this.#values) {
      // Own handles on the caller's arrays (the same data), released when replaced.
      this.#store(mx.array(keys), mx.array(values));
    } else {
      const orderedKeys = this.#temporalOrder(this.#keys);
      const orderedValues = this.#temporalOrder(this.#values);
      this.#idx = orderedKeys.shape[2] as number;
      // Up to max_size + L - 1 positions, so that every new token sees a whole window.
      const trim = this.#idx - this.maxSize + 1;
      this.#store(this.#trim(trim, orderedKeys, keys), this.#trim(trim, orderedValues, values));
    }
    this.offset += keys.shape[2] as number;
    this.#idx = (this.#keys as MxArray).shape[2] as number;
    return [this.#keys as MxArray, this.#values as MxArray];
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
        this.#store(mx.concatenate([this.#keys, freshKeys], 2), mx.concatenate([this.#values, freshValues], 2));
      } else {
        this.#store(freshKeys, freshValues);
      }
      this.#idx = previous;
    }
    const excess = (this.#keys?.shape[2] as number) - this.maxSize;
    if (excess > 0) {
      this.#store(this.#trim(excess, this.#keys as MxArray), this.#trim(excess, this.#values as MxArray));
      this.#idx = this.maxSize;
    }
    if (this.#idx === this.maxSize) this.#idx = this.keep;
    const span = `${this.#idx}:${this.#idx + length}`;
    this.#store(
      mx.at(this.#keys as MxArray, "...", span, ":").set(keys),
      mx.at(this.#values as MxArray, "...", span, ":").set(values),
    );
    this.offset += length;
    this.#idx += length;
    return this.keysAndValues();
  }

  // The first `keep` positions, then all but the `trim` oldest of the rest, then `append`.
  #trim(trim: number, v: MxArray, append?: MxArray): MxArray {
    const parts =
      trim > 0 ? [mx.index(v, "...", `:${this.keep}`, ":"), mx.index(v, "...", `${trim + this.keep}:`, ":")] : [v];
    if (append) parts.push(append);
    return mx.concatenate(parts, 2);
  }

  // The ring rearranged oldest-first, with unused room cut off.
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

  // Swaps in new stored arrays: they outlive any tidy scope, and the old ones are released.
  #store(keys: MxArray, values: MxArray): void {
    if (keys !== this.#keys) {
      mx.keep(keys);
      this.#keys?.dispose();
      this.#keys = keys;
    }
    if (values !== this.#values) {
      mx.keep(values);
      this.#values?.dispose();
      this.#values = values;
    }
  }
}

// mx.roll of a 1-D array: element i moves to (i + shift) mod n.
function roll(a: MxArray, shift: number): MxArray {
  const n = a.shape[0] as number;
  const s = ((shift % n) + n) % n;
  if (s === 0) return a;
  return mx.concatenate([mx.index(a, `${n - s}:`), mx.index(a, `:${n - s}`)], 0);
}
