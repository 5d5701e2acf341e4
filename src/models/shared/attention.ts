// Multi-head attention as the llama-like families of mlx-lm compute it: projections, optional
// per-head q/k norms, RoPE at the cache offset, grouped-query attention on the fused kernel, or
// written out where the scores are soft-capped (Gemma 2).
import type { KVCache } from "../../generate/kv-cache.ts";
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { Linear, type LinearLike } from "../../nn/layers/linear.ts";
import { RMSNorm } from "../../nn/layers/normalization.ts";
import type { RotaryEmbedding } from "../../nn/layers/rope.ts";
import { Module } from "../../nn/module.ts";

/** A normalization layer: one array in, one out. */
export type NormLayer = Module & { forward(x: MxArray): MxArray };

/** Makes a normalization layer over `dims` features (RMSNorm by default; Gemma's (1 + w) form). */
export type NormFactory = (dims: number, eps: number) => NormLayer;

export const rmsNorm: NormFactory = (dims, eps) => new RMSNorm(dims, eps);

export interface AttentionSpec {
  hiddenSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Bias on q, k, v projections, and on o separately. */
  qkvBias: boolean;
  outputBias: boolean;
  /** Norm over each head's queries and keys before RoPE (Qwen3, Gemma 3 q/k norms), with this eps. */
  qkNormEps?: number;
  /** The q/k norm layer (RMSNorm unless given). */
  qkNorm?: NormFactory;
  /** Apply the q/k norms on [B, heads, L, D] after the head transpose (Gemma 3), not before (Qwen3). */
  qkNormAfterTranspose?: boolean;
  /** Softmax scale; headDim ** -0.5 unless given (Gemma 2/3: query_pre_attn_scalar ** -0.5). */
  scale?: number;
  /**
   * Scores soft-capped as tanh(s / cap) * cap (Gemma 2's attn_logit_softcapping): attention is then
   * written out (q * scale @ kᵀ, cap, boolean mask to the dtype's lowest value, precise softmax).
   */
  logitSoftcap?: number;
  rope: RotaryEmbedding;
}

export type AttentionMask = MxArray | "causal" | null;

// The lowest finite value of each float dtype (mx.finfo(dtype).min).
const LOWEST: Record<string, number> = {
  float32: -3.4028234663852886e38,
  bfloat16: -3.3895313892515355e38,
  float16: -65504,
  float64: -Number.MAX_VALUE,
};

export class Attention extends Module {
  q_proj: LinearLike;
  k_proj: LinearLike;
  v_proj: LinearLike;
  o_proj: LinearLike;
  q_norm?: NormLayer;
  k_norm?: NormLayer;
  rope: RotaryEmbedding;
  readonly _spec: AttentionSpec;
  readonly _scale: number;

  constructor(spec: AttentionSpec) {
    super();
    const { hiddenSize, heads, kvHeads, headDim } = spec;
    this._spec = spec;
    this._scale = spec.scale ?? headDim ** -0.5;
    this.q_proj = new Linear(hiddenSize, heads * headDim, { bias: spec.qkvBias });
    this.k_proj = new Linear(hiddenSize, kvHeads * headDim, { bias: spec.qkvBias });
    this.v_proj = new Linear(hiddenSize, kvHeads * headDim, { bias: spec.qkvBias });
    this.o_proj = new Linear(heads * headDim, hiddenSize, { bias: spec.outputBias });
    if (spec.qkNormEps !== undefined) {
      const norm = spec.qkNorm ?? rmsNorm;
      this.q_norm = norm(headDim, spec.qkNormEps);
      this.k_norm = norm(headDim, spec.qkNormEps);
    }
    this.rope = spec.rope;
  }

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const [batch, length] = x.shape as [number, number];
      const after = this._spec.qkNormAfterTranspose === true;
      const heads = (projected: MxArray, count: number, norm?: NormLayer) => {
        const split = mx.reshape(projected, [batch, length, count, -1]);
        if (after) {
          const transposed = mx.transpose(split, [0, 2, 1, 3]);
          return norm ? norm.call(transposed) : transposed;
        }
        return mx.transpose(norm ? norm.call(split) : split, [0, 2, 1, 3]);
      };
      let queries = heads(this.q_proj.call(x), this._spec.heads, this.q_norm);
      let keys = heads(this.k_proj.call(x), this._spec.kvHeads, this.k_norm);
      let values = heads(this.v_proj.call(x), this._spec.kvHeads);
      const offset = cache?.offset ?? 0;
      queries = this.rope.call(queries, offset);
      keys = this.rope.call(keys, offset);
      if (cache) [keys, values] = cache.updateAndFetch(keys, values);
      const attended =
        this._spec.logitSoftcap === undefined
          ? mx.fast.scaledDotProductAttention(queries, keys, values, { scale: this._scale, mask })
          : this.#softcapped(queries, keys, values, mask, this._spec.logitSoftcap);
      return this.o_proj.call(mx.reshape(mx.transpose(attended, [0, 2, 1, 3]), [batch, length, -1]));
    });
  }

  // Attention written out with soft-capped scores, in Gemma 2's order of operations.
  #softcapped(queries: MxArray, keys: MxArray, values: MxArray, mask: AttentionMask, cap: number): MxArray {
    const [batch, heads, length, headDim] = queries.shape as [number, number, number, number];
    const kvHeads = this._spec.kvHeads;
    const repeats = heads / kvHeads;
    let q = mx.multiply(queries, this._scale);
    let k = keys;
    let v = values;
    if (repeats > 1) {
      q = mx.reshape(q, [batch, kvHeads, repeats, length, headDim]);
      k = mx.expandDims(k, 2);
      v = mx.expandDims(v, 2);
    }
    let scores = mx.matmul(q, mx.swapaxes(k, -1, -2));
    scores = mx.multiply(mx.tanh(mx.divide(scores, cap)), cap);
    if (mask === "causal") {
      throw new Error("soft-capped attention needs an explicit mask array, not the fused kernel's causal mask");
    }
    if (mask !== null) {
      if (mask.dtype === "bool") {
        const lowest = LOWEST[scores.dtype];
        if (lowest === undefined) throw new Error(`soft-capped attention: scores of dtype ${scores.dtype}`);
        scores = mx.where(mask, scores, mx.array(lowest, scores.dtype));
      } else {
        scores = mx.add(scores, mask);
      }
    }
    scores = mx.softmax(scores, { axis: -1, precise: true });
    let out = mx.matmul(scores, v);
    if (repeats > 1) out = mx.reshape(out, [batch, heads, length, headDim]);
    return out;
  }
}
