// What every attention variant does once its queries, keys and values are split into heads: RoPE at
// the cache offset, the cache update, attention, the output projection. It also carries the hook
// points inside attention that are not modules in mlx-lm (hook_q ... hook_result), so every family
// exposes the same ones under its attention module's path.
//
// Layouts seen by hooks: hook_q, hook_k, hook_v and hook_z are [batch, heads, positions, d_head] as
// mlx-lm computes them (hook_k and hook_v hold this call's positions, before the KV cache joins
// them to earlier ones; key/value heads are the kv heads under GQA); hook_scores and hook_pattern
// are [batch, heads, query, key] (key spans the cache); hook_result is [batch, positions, heads,
// d_model], each head's contribution to the residual stream.
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { HookPoint } from "../../nn/hook-point.ts";
import type { LinearLike } from "../../nn/layers/linear.ts";
import type { RotaryEmbedding } from "../../nn/layers/rope.ts";
import { Module } from "../../nn/module.ts";
import type { KVCache } from "../cache/kv-cache.ts";
import { createCausalMask, PaddedMask } from "../cache/masks.ts";
import { BLOCKED_FROM, causalAttentionInQueryBlocks } from "./query-blocks.ts";

/** "causal", an array mask, none, or a left-padded batch's mask and per-row RoPE offsets. */
export type AttentionMask = MxArray | "causal" | PaddedMask | null;

export interface AttendOptions {
  scale: number;
  mask: AttentionMask;
  cache?: KVCache;
  rope?: RotaryEmbedding;
  /** Scores soft-capped as tanh(s / cap) * cap before the mask (Gemma 2's attn_logit_softcapping). */
  softcap?: number;
}

// The lowest finite value of each float dtype (mx.finfo(dtype).min): where a boolean mask hides a key.
const LOWEST: Record<string, number> = {
  float32: -3.4028234663852886e38,
  bfloat16: -3.3895313892515355e38,
  float16: -65504,
  float64: -Number.MAX_VALUE,
};

/**
 * [B, L, count·D] → [B, count, L, D]. At one position (a decode step) the two layouts hold the same
 * values in the same order, so one reshape does what a reshape and a transpose do otherwise: a
 * primitive fewer per projection, where a decode step's time on a GPU goes to scheduling primitives.
 */
export function splitHeads(x: MxArray, count: number): MxArray {
  const [batch, length] = x.shape as [number, number];
  if (length === 1) return mx.reshape(x, [batch, count, 1, -1]);
  return mx.transpose(mx.reshape(x, [batch, length, count, -1]), [0, 2, 1, 3]);
}

/** [B, count, L, D] → [B, L, count·D] (at one position, one reshape: see splitHeads). */
export function mergeHeads(x: MxArray): MxArray {
  const [batch, , length] = x.shape as [number, number, number];
  if (length === 1) return mx.reshape(x, [batch, 1, -1]);
  return mx.reshape(mx.transpose(x, [0, 2, 1, 3]), [batch, length, -1]);
}

export abstract class MultiHeadAttention extends Module {
  static override readonly inputNames = ["x", "mask", "cache"];

  hook_q = new HookPoint();
  hook_k = new HookPoint();
  hook_v = new HookPoint();
  hook_scores = new HookPoint();
  hook_pattern = new HookPoint();
  hook_z = new HookPoint();
  hook_result = new HookPoint();

  /**
   * Whether causal attention over BLOCKED_FROM or more queries runs in query blocks
   * (query-blocks.ts): set at load where mlux chose the compute dtype itself (compute-dtype.ts),
   * never under "native", which computes exactly as mlx-lm.
   */
  _queryBlocks = false;

  /**
   * Rotates queries and keys (when there is a rope), updates the cache and attends; per-head
   * outputs [B, heads, L, D] out. The fused kernel runs unless the scores or the pattern are
   * hooked or soft-capped; then attention is written out as MLX's own CPU fallback computes it,
   * whole (hooks see the model's full pattern), and the output is the written-out one only where
   * a hook changed the scores or the pattern. Unhooked causal attention over a long prompt runs
   * in query blocks when `_queryBlocks` is on.
   * A PaddedMask rotates each row from its own offset (its first real token at position 0).
   */
  protected attend(queries: MxArray, keys: MxArray, values: MxArray, options: AttendOptions): MxArray {
    const { cache, rope } = options;
    const padded = options.mask instanceof PaddedMask ? options.mask : undefined;
    const mask = padded ? padded.mask : (options.mask as Exclude<AttentionMask, PaddedMask>);
    if (rope) {
      const offset = padded ? padded.ropeOffsets : (cache?.offset ?? 0);
      queries = rope.call(queries, offset);
      keys = rope.call(keys, offset);
    }
    queries = this.hook_q.call(queries);
    keys = this.hook_k.call(keys);
    values = this.hook_v.call(values);
    if (cache) [keys, values] = cache.updateAndFetch(keys, values);
    if (options.softcap === undefined && !this.hook_scores.hooked && !this.hook_pattern.hooked) {
      return this.#unhooked(queries, keys, values, mask, options.scale);
    }
    return this.#writtenOut(queries, keys, values, mask, options);
  }

  // Attention as an unhooked run computes it: the fused kernel, or query blocks over a long prompt.
  #unhooked(queries: MxArray, keys: MxArray, values: MxArray, mask: MxArray | "causal" | null, scale: number) {
    if (this.#takesQueryBlocks(queries, keys, mask)) return causalAttentionInQueryBlocks(queries, keys, values, scale);
    return mx.fast.scaledDotProductAttention(queries, keys, values, { scale, mask });
  }

  #takesQueryBlocks(queries: MxArray, keys: MxArray, mask: MxArray | "causal" | null): boolean {
    const length = queries.shape[2] as number;
    return this._queryBlocks && mask === "causal" && length >= BLOCKED_FROM && (keys.shape[2] as number) >= length;
  }

  /** Per-head outputs [B, heads, L, D] through hook_z (and hook_result) and the output projection. */
  protected project(z: MxArray, out: LinearLike): MxArray {
    z = this.hook_z.call(z);
    if (!this.hook_result.hooked) return out.call(mergeHeads(z));
    const result = perHeadResults(z, out);
    const changed = this.hook_result.call(result);
    // A hook that leaves the results alone keeps the projection's own numbers.
    if (changed === result) return out.call(mergeHeads(z));
    const summed = mx.sum(changed, { axis: 2 });
    return out.bias ? mx.add(summed, out.bias) : summed;
  }

  #writtenOut(
    queries: MxArray,
    keys: MxArray,
    values: MxArray,
    givenMask: MxArray | "causal" | null,
    options: AttendOptions,
  ): MxArray {
    const [batch, heads, length, headDim] = queries.shape as [number, number, number, number];
    const kvHeads = keys.shape[1] as number;
    const keyLength = keys.shape[2] as number;
    const repeats = heads / kvHeads;
    let q = mx.multiply(queries, mx.array(options.scale, queries.dtype));
    let k = keys;
    let v = values;
    if (repeats > 1) {
      q = mx.reshape(q, [batch, kvHeads, repeats, length, headDim]);
      k = mx.expandDims(k, 2);
      v = mx.expandDims(v, 2);
    }
    let scores = mx.matmul(q, mx.swapaxes(k, -1, -2));
    if (options.softcap !== undefined) {
      scores = mx.multiply(mx.tanh(mx.divide(scores, options.softcap)), options.softcap);
    }
    let mask = givenMask === "causal" ? createCausalMask(length, keyLength - length) : givenMask;
    // A mask [B, 1 | heads, Lq, Lk] takes the grouped layout of the scores [B, kvHeads, repeats, Lq, Lk].
    if (mask !== null && repeats > 1 && mask.ndim === 4) {
      const [rows, maskHeads, lq, lk] = mask.shape as [number, number, number, number];
      mask = maskHeads === 1 ? mx.expandDims(mask, 2) : mx.reshape(mask, [rows, kvHeads, repeats, lq, lk]);
    }
    if (mask !== null) {
      if (mask.dtype === "bool") {
        const lowest = LOWEST[scores.dtype];
        if (lowest === undefined) throw new Error(`attention scores of dtype ${scores.dtype} cannot be masked`);
        scores = mx.where(mask, scores, mx.array(lowest, scores.dtype));
      } else {
        scores = mx.add(scores, mask);
      }
    }
    const byHead = [batch, heads, length, keyLength];
    const grouped = scores.shape;
    const scoresSeen = mx.reshape(scores, byHead);
    const scoresKept = this.hook_scores.call(scoresSeen);
    const patternSeen = mx.reshape(mx.softmax(mx.reshape(scoresKept, grouped), { axis: -1, precise: true }), byHead);
    const patternKept = this.hook_pattern.call(patternSeen);
    // Hooks that only read (a cache, a probe) leave the layer's output the unhooked run's. On the
    // CPU the fused kernel is these very ops, bit for bit (test/hooks/noop.test.ts), so the pattern
    // already made is used; a GPU's fused kernels round otherwise, and query blocks sum otherwise.
    const onlyRead = scoresKept === scoresSeen && patternKept === patternSeen && options.softcap === undefined;
    if (onlyRead && (mx.defaultDevice() === "gpu" || this.#takesQueryBlocks(queries, keys, givenMask))) {
      return this.#unhooked(queries, keys, values, givenMask, options.scale);
    }
    const z = mx.matmul(mx.reshape(patternKept, grouped), v);
    return repeats > 1 ? mx.reshape(z, [batch, heads, length, headDim]) : z;
  }
}

/** Each head's contribution to the output projection: z [B, H, L, D] → [B, L, H, d_model] (no bias). */
export function perHeadResults(z: MxArray, out: LinearLike): MxArray {
  const [, heads, , headDim] = z.shape as [number, number, number, number];
  const weight = out.denseWeight(z.dtype); // [d_model, H·D]
  const dModel = weight.shape[0] as number;
  // [H, D, d_model]: head h's slice of the projection, transposed for z_h @ W_hᵀ.
  const byHead = mx.transpose(mx.reshape(weight, [dModel, heads, headDim]), [1, 2, 0]);
  // [B, L, H, 1, D] @ [H, D, d_model] → [B, L, H, 1, d_model]
  const perPosition = mx.expandDims(mx.transpose(z, [0, 2, 1, 3]), 3);
  return mx.squeeze(mx.matmul(perPosition, byHead), 3);
}
