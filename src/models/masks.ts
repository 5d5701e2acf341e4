// Attention masks, as mlx-lm builds them (mlx_lm/models/base.py).

import type { KVCache } from "../generate/kv-cache.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";

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
 * The mask for hidden states h [B, L, D]: from the cache when there is one, else as mlx-lm; an
 * array rather than "causal" when `returnArray` asks for one (attention written out).
 */
export function createAttentionMask(
  h: MxArray,
  cache?: KVCache,
  windowSize?: number,
  returnArray = false,
): MxArray | "causal" | null {
  const n = h.shape[1] as number;
  if (cache) return cache.makeMask(n, windowSize, returnArray);
  if (n === 1) return null;
  if (returnArray || (windowSize !== undefined && n > windowSize)) return createCausalMask(n, 0, windowSize);
  return "causal";
}
