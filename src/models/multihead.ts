// The steps every attention variant shares once its queries, keys and values are split into
// heads: RoPE at the cache offset, the cache update, the fused attention kernel.
import type { KVCache } from "../generate/kv-cache.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import type { RotaryEmbedding } from "../nn/layers/rope.ts";

export type AttentionMask = MxArray | "causal" | null;

/** [B, L, count·D] → [B, count, L, D]. */
export function splitHeads(x: MxArray, count: number): MxArray {
  const [batch, length] = x.shape as [number, number];
  return mx.transpose(mx.reshape(x, [batch, length, count, -1]), [0, 2, 1, 3]);
}

/** [B, count, L, D] → [B, L, count·D]. */
export function mergeHeads(x: MxArray): MxArray {
  const [batch, , length] = x.shape as [number, number, number];
  return mx.reshape(mx.transpose(x, [0, 2, 1, 3]), [batch, length, -1]);
}

/** Rotates queries and keys (when there is a rope), updates the cache, attends; [B, heads, L, D] out. */
export function attend(
  queries: MxArray,
  keys: MxArray,
  values: MxArray,
  options: { scale: number; mask: AttentionMask; cache?: KVCache; rope?: RotaryEmbedding },
): MxArray {
  const { cache, rope } = options;
  if (rope) {
    const offset = cache?.offset ?? 0;
    queries = rope.call(queries, offset);
    keys = rope.call(keys, offset);
  }
  if (cache) [keys, values] = cache.updateAndFetch(keys, values);
  return mx.fast.scaledDotProductAttention(queries, keys, values, { scale: options.scale, mask: options.mask });
}
