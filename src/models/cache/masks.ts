// Attention masks, as mlx-lm builds them (mlx_lm/models/base.py), and the masks and positions of
// a left-padded batch of prompts of different lengths.

import type { MxArray } from "../../mx/array.ts";
import { recordHostRange } from "../../mx/host-range.ts";
import * as mx from "../../mx/index.ts";
import type { KVCache } from "./kv-cache.ts";

/** A boolean [n, offset + n] mask: query i sees key j when j <= offset + i (and within the window). */
export function createCausalMask(n: number, offset = 0, windowSize?: number): MxArray {
  return mx.tidy(() => {
    const right = mx.arange(offset + n);
    const left = mx.expandDims(offset ? mx.arange(offset, offset + n) : right, 1);
    const keys = mx.expandDims(right, 0);
    let mask = mx.greaterEqual(left, keys);
    if (windowSize !== undefined) mask = mx.logicalAnd(mask, mx.less(left, mx.add(keys, windowSize)));
    return mask;
  });
}

/**
 * Left padding of a batch: row b holds `left[b]` padding positions, then its prompt. Models given
 * one compute every prompt's real positions as they would alone: RoPE and learned positions count
 * from each row's first real token, padded keys are hidden from every query, and nothing flows from
 * padding into real positions. Padding positions compute something finite that nobody reads.
 */
export class Padding {
  readonly left: readonly number[];

  constructor(left: readonly number[]) {
    if (left.length === 0 || left.some((p) => !Number.isInteger(p) || p < 0)) {
      throw new Error(`padding must be a non-negative integer per row, got [${left.join(", ")}]`);
    }
    this.left = [...left];
  }

  /** Whether any row is padded (a batch of equal lengths runs as it would unpadded). */
  get any(): boolean {
    return this.left.some((p) => p > 0);
  }

  /** int32 [B]: each row's RoPE offset, minus its padding, so its first real token is at position 0. */
  ropeOffsets(): MxArray {
    return mx.array(
      this.left.map((p) => -p),
      "int32",
    );
  }

  /**
   * int32 [B, L]: each position counted from its row's first real token; padding positions get 0.
   * Their range is known here, so taking learned positions with them does not read them back.
   */
  positions(length: number): MxArray {
    const positions = mx.tidy(() => mx.maximum(mx.subtract(mx.expandDims(mx.arange(length), 0), this.#column()), 0));
    return recordHostRange(positions, { min: 0, max: Math.max(0, length - 1 - Math.min(...this.left)) });
  }

  /** bool [B, L]: true at real tokens, false at padding. */
  realTokens(length: number): MxArray {
    return mx.tidy(() => mx.greaterEqual(mx.expandDims(mx.arange(length), 0), this.#column()));
  }

  /**
   * bool [B, 1, L, L]: the causal mask (within the window) with padded keys hidden. A padding query
   * sees itself only, so its softmax row has one finite entry and stays free of NaN.
   */
  attentionMask(length: number, windowSize?: number): MxArray {
    return mx.tidy(() => {
      const causal = createCausalMask(length, 0, windowSize);
      const keys = mx.reshape(mx.arange(length), [1, 1, 1, length]);
      const realKeys = mx.greaterEqual(keys, mx.reshape(this.#column(), [-1, 1, 1, 1]));
      const self = mx.equal(mx.expandDims(mx.arange(length), 1), mx.expandDims(mx.arange(length), 0));
      return mx.logicalAnd(causal, mx.logicalOr(realKeys, self));
    });
  }

  // [B, 1]: each row's padding.
  #column(): MxArray {
    return mx.array(
      this.left.map((p) => [p]),
      "int32",
    );
  }
}

/** What attention needs of a left-padded batch: which keys each query sees, and each row's RoPE offset. */
export class PaddedMask {
  /** bool [B, 1, L, L]. */
  readonly mask: MxArray;
  /** int32 [B]: minus each row's padding. */
  readonly ropeOffsets: MxArray;

  constructor(padding: Padding, length: number, windowSize?: number) {
    this.mask = padding.attentionMask(length, windowSize);
    this.ropeOffsets = padding.ropeOffsets();
  }
}

/**
 * The mask for hidden states h [B, L, D]: from the cache when there is one, else as mlx-lm; an
 * array rather than "causal" when `returnArray` asks for one (attention written out). With a
 * padding that pads some row, a PaddedMask (padded batches run without a cache).
 */
export function createAttentionMask(
  h: MxArray,
  cache?: KVCache,
  windowSize?: number,
  returnArray = false,
  padding?: Padding,
): MxArray | "causal" | PaddedMask | null {
  const n = h.shape[1] as number;
  if (padding?.any) {
    if (cache) throw new Error("a left-padded batch runs without a KV cache; generate from one prompt at a time");
    if (padding.left.length !== h.shape[0]) {
      throw new Error(`padding has ${padding.left.length} rows for a batch of ${h.shape[0]}`);
    }
    return new PaddedMask(padding, n, windowSize);
  }
  if (cache) return cache.makeMask(n, windowSize, returnArray);
  if (n === 1) return null;
  if (returnArray || (windowSize !== undefined && n > windowSize)) return createCausalMask(n, 0, windowSize);
  return "causal";
}
