// Causal attention one block of queries at a time, each block against the keys up to its last
// query only. MLX's CPU attention writes out every score, masks it and takes its exponential
// (libmlx's CPU exp costs about 36 ns an element), so a causal prompt of L tokens pays for L² scores
// of which half are masked; in blocks of B queries it pays for about L²/2 + L·B/2. Measured alone
// (one layer, 512 positions, one OpenBLAS thread): Qwen3-0.6B's shape 124 ms → 69 ms, tiny-lm's
// 30 ms → 18 ms (BENCHMARKS.md, "Causal attention in query blocks").
//
// Each block's scores come from one matrix product (the query heads sharing a key/value head folded
// into its rows, so keys and values are never repeated), then mlux's own float32 CPU softmax with the
// causal mask built in (mx.cpuKernels: a vectorized exponential, masked keys skipped), then one product
// with the values. Against MLX's fused call per block (libmlx's exp one element at a time) this took
// one layer's 512-token attention from 18 to 4 ms at tiny-lm's shape and from 56 to 34 ms at
// Qwen3-0.6B's (BENCHMARKS.md, "mlux's own CPU softmax"). Elsewhere (a GPU, half precision)
// each block is MLX's fused attention on a slice. Either way the values are the same softmax and
// products up to rounding: the summation order and the exponential's last bits change (largest
// difference measured 2.1e-6 at float32). That is why the blocks run only where mlux chose the dtype
// itself (see `queryBlocksFor` in compute-dtype.ts): "native" computes exactly as mlx-lm does.
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";

/** Queries per block: 64 was fastest or within noise of it at every shape measured (32 to 256 tried). */
export const QUERY_BLOCK = 64;

/**
 * The shortest query length that runs in blocks: from 128 queries (two blocks) the blocks were
 * faster at every shape measured; at 64 one block is the whole call.
 */
export const BLOCKED_FROM = 128;

/**
 * softmax(q kᵀ · scale + causal mask) v as mx.fast's "causal" (lower-right aligned: query i of L sees
 * keys 0 to K - L + i), computed per block of `block` queries. q [B, heads, L, D]; k, v [B, kvHeads,
 * K, D] with K >= L.
 */
export function causalAttentionInQueryBlocks(
  queries: MxArray,
  keys: MxArray,
  values: MxArray,
  scale: number,
  block = QUERY_BLOCK,
): MxArray {
  const length = queries.shape[2] as number;
  const keyLength = keys.shape[2] as number;
  if (keyLength < length)
    throw new Error(`causal attention needs at least as many keys (${keyLength}) as queries (${length})`);
  const ownSoftmax = queries.dtype === "float32" && mx.defaultDevice() === "cpu";
  const blocks: MxArray[] = [];
  for (let start = 0; start < length; start += block) {
    const end = Math.min(start + block, length);
    const seen = keyLength - length + end; // the keys the block's last query sees
    const blockQueries = mx.index(queries, ":", ":", `${start}:${end}`, ":");
    const seenKeys = mx.index(keys, ":", ":", `:${seen}`, ":");
    const seenValues = mx.index(values, ":", ":", `:${seen}`, ":");
    blocks.push(
      ownSoftmax
        ? blockWithOwnSoftmax(blockQueries, seenKeys, seenValues, scale, seen - (end - start))
        : mx.fast.scaledDotProductAttention(blockQueries, seenKeys, seenValues, { scale, mask: "causal" }),
    );
  }
  return blocks.length === 1 ? (blocks[0] as MxArray) : mx.concatenate(blocks, 2);
}

/** One block of queries [B, heads, rows, D], the first at position `offset`, against keys 0..offset + rows - 1. */
function blockWithOwnSoftmax(queries: MxArray, keys: MxArray, values: MxArray, scale: number, offset: number) {
  const [batch, heads, rows, headDim] = queries.shape as [number, number, number, number];
  const kvHeads = keys.shape[1] as number;
  // [B, kvHeads, heads per kv head × rows, D]: query head h reads key/value head h / (heads / kvHeads).
  const folded = mx.reshape(queries, [batch, kvHeads, (heads / kvHeads) * rows, headDim]);
  const scores = mx.matmul(folded, mx.swapaxes(keys, 2, 3));
  const pattern = mx.cpuKernels.causalSoftmax(scores, { block: rows, offset, scale });
  return mx.reshape(mx.matmul(pattern, values), [batch, heads, rows, headDim]);
}
