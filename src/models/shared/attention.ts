// Multi-head attention as the llama-like families of mlx-lm compute it: projections, optional
// per-head q/k norms, RoPE at the cache offset, grouped-query attention on the fused kernel, or
// written out where the scores are soft-capped (Gemma 2).
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { Linear, type LinearLike } from "../../nn/layers/linear.ts";
import type { RotaryEmbedding } from "../../nn/layers/rope.ts";
import type { KVCache } from "../cache/kv-cache.ts";
import { type AttentionMask, MultiHeadAttention, splitHeads } from "./multihead.ts";
import { type NormFactory, type NormLayer, rmsNorm } from "./norms.ts";

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
   * written out (see MultiHeadAttention).
   */
  logitSoftcap?: number;
  rope: RotaryEmbedding;
}

export class Attention extends MultiHeadAttention {
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
        // A norm before the head transpose (Qwen3) runs on [B, L, heads, D]; otherwise the heads are
        // split first (splitHeads: one reshape at one position) and any norm follows.
        if (norm && !after)
          return mx.transpose(norm.call(mx.reshape(projected, [batch, length, count, -1])), [0, 2, 1, 3]);
        const split = splitHeads(projected, count);
        return norm ? norm.call(split) : split;
      };
      const queries = heads(this.q_proj.call(x), this._spec.heads, this.q_norm);
      const keys = heads(this.k_proj.call(x), this._spec.kvHeads, this.k_norm);
      const values = heads(this.v_proj.call(x), this._spec.kvHeads);
      const attended = this.attend(queries, keys, values, {
        scale: this._scale,
        mask,
        cache,
        rope: this.rope,
        softcap: this._spec.logitSoftcap,
      });
      return this.project(attended, this.o_proj);
    });
  }
}
