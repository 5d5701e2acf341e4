// Multi-head attention as the llama-like families of mlx-lm compute it: projections, optional
// per-head q/k RMSNorm, RoPE at the cache offset, grouped-query attention on the fused kernel.
import type { KVCache } from "../../generate/kv-cache.ts";
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { Linear, type LinearLike } from "../../nn/layers/linear.ts";
import { RMSNorm } from "../../nn/layers/normalization.ts";
import type { RotaryEmbedding } from "../../nn/layers/rope.ts";
import { Module } from "../../nn/module.ts";

export interface AttentionSpec {
  hiddenSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Bias on q, k, v projections, and on o separately. */
  qkvBias: boolean;
  outputBias: boolean;
  /** RMSNorm over each head's queries and keys before RoPE (Qwen3, OLMo-style q/k norms), with this eps. */
  qkNormEps?: number;
  rope: RotaryEmbedding;
}

export type AttentionMask = MxArray | "causal" | null;

export class Attention extends Module {
  q_proj: LinearLike;
  k_proj: LinearLike;
  v_proj: LinearLike;
  o_proj: LinearLike;
  q_norm?: RMSNorm;
  k_norm?: RMSNorm;
  rope: RotaryEmbedding;
  readonly _spec: AttentionSpec;
  readonly _scale: number;

  constructor(spec: AttentionSpec) {
    super();
    const { hiddenSize, heads, kvHeads, headDim } = spec;
    this._spec = spec;
    this._scale = headDim ** -0.5;
    this.q_proj = new Linear(hiddenSize, heads * headDim, { bias: spec.qkvBias });
    this.k_proj = new Linear(hiddenSize, kvHeads * headDim, { bias: spec.qkvBias });
    this.v_proj = new Linear(hiddenSize, kvHeads * headDim, { bias: spec.qkvBias });
    this.o_proj = new Linear(heads * headDim, hiddenSize, { bias: spec.outputBias });
    if (spec.qkNormEps !== undefined) {
      this.q_norm = new RMSNorm(headDim, spec.qkNormEps);
      this.k_norm = new RMSNorm(headDim, spec.qkNormEps);
    }
    this.rope = spec.rope;
  }

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const [batch, length] = x.shape as [number, number];
      const heads = (projected: MxArray, count: number, norm?: RMSNorm) => {
        const split = mx.reshape(projected, [batch, length, count, -1]);
        return mx.transpose(norm ? norm.call(split) : split, [0, 2, 1, 3]);
      };
      let queries = heads(this.q_proj.call(x), this._spec.heads, this.q_norm);
      let keys = heads(this.k_proj.call(x), this._spec.kvHeads, this.k_norm);
      let values = heads(this.v_proj.call(x), this._spec.kvHeads);
      const offset = cache?.offset ?? 0;
      queries = this.rope.call(queries, offset);
      keys = this.rope.call(keys, offset);
      if (cache) [keys, values] = cache.updateAndFetch(keys, values);
      const attended = mx.fast.scaledDotProductAttention(queries, keys, values, { scale: this._scale, mask });
      return this.o_proj.call(mx.reshape(mx.transpose(attended, [0, 2, 1, 3]), [batch, length, -1]));
    });
  }
}
