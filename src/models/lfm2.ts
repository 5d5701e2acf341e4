// LFM2 as mlx-lm's lfm2: a stack of short-convolution layers and attention layers
// (full_attn_idxs, else layer_types). Conv layers: in_proj → B, C, x; depthwise Conv1d over B·x
// (left-padded, or continued from the cached last kernel-1 inputs); C · conv; out_proj. Attention
// layers: per-head q_layernorm / k_layernorm, RoPE, out_proj. SwiGLU feed_forward (w1, w3, w2) with
// the auto-adjusted width; pre-norms operator_norm / ffn_norm; final embedding_norm; always tied.

import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { silu } from "../nn/layers/activations.ts";
import { Conv1d } from "../nn/layers/conv.ts";
import { Embedding, type EmbeddingLike } from "../nn/layers/embedding.ts";
import { Linear, type LinearLike } from "../nn/layers/linear.ts";
import { RMSNorm } from "../nn/layers/normalization.ts";
import { RoPE } from "../nn/layers/rope.ts";
import { Module } from "../nn/module.ts";
import { ArraysCache } from "./cache/arrays-cache.ts";
import { KVCache } from "./cache/kv-cache.ts";
import { createAttentionMask, type Padding } from "./cache/masks.ts";
import type { CausalLM, LayerCache } from "./causal-lm.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { type AttentionMask, MultiHeadAttention } from "./shared/multihead.ts";
import { ResidualBlock } from "./shared/residual-block.ts";

interface Lfm2Spec {
  vocabSize: number;
  hiddenSize: number;
  heads: number;
  kvHeads: number;
  layers: number;
  normEps: number;
  convBias: boolean;
  convKernel: number;
  blockDim: number;
  ffDim: number;
  ropeTheta: number;
  attentionLayers: Set<number>;
}

export class Lfm2Attention extends MultiHeadAttention {
  q_layernorm: RMSNorm;
  k_layernorm: RMSNorm;
  q_proj: LinearLike;
  k_proj: LinearLike;
  v_proj: LinearLike;
  out_proj: LinearLike;
  rope: RoPE;
  readonly _heads: number;
  readonly _kvHeads: number;
  readonly _scale: number;

  constructor(spec: Lfm2Spec) {
    super();
    const { hiddenSize, heads, kvHeads } = spec;
    const headDim = Math.floor(hiddenSize / heads);
    this._heads = heads;
    this._kvHeads = kvHeads;
    this._scale = headDim ** -0.5;
    this.q_layernorm = new RMSNorm(headDim, spec.normEps);
    this.k_layernorm = new RMSNorm(headDim, spec.normEps);
    this.q_proj = new Linear(hiddenSize, heads * headDim, { bias: false });
    this.k_proj = new Linear(hiddenSize, kvHeads * headDim, { bias: false });
    this.v_proj = new Linear(hiddenSize, kvHeads * headDim, { bias: false });
    this.out_proj = new Linear(heads * headDim, hiddenSize, { bias: false });
    this.rope = new RoPE(headDim, { traditional: false, base: spec.ropeTheta });
  }

  static override readonly inputNames = ["x", "mask", "cache"];

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const [batch, length] = x.shape as [number, number];
      const heads = (projected: MxArray, count: number, norm?: RMSNorm) => {
        const split = mx.reshape(projected, [batch, length, count, -1]);
        return mx.transpose(norm ? norm.call(split) : split, [0, 2, 1, 3]);
      };
      const queries = heads(this.q_proj.call(x), this._heads, this.q_layernorm);
      const keys = heads(this.k_proj.call(x), this._kvHeads, this.k_layernorm);
      const values = heads(this.v_proj.call(x), this._kvHeads);
      const out = this.attend(queries, keys, values, { scale: this._scale, mask, cache, rope: this.rope });
      return this.project(out, this.out_proj);
    });
  }
}

export class ShortConv extends Module {
  conv: Conv1d;
  in_proj: LinearLike;
  out_proj: LinearLike;
  readonly _kernel: number;

  constructor(spec: Lfm2Spec) {
    super();
    const { hiddenSize, convKernel, convBias: bias } = spec;
    this._kernel = convKernel;
    this.conv = new Conv1d(hiddenSize, hiddenSize, convKernel, { groups: hiddenSize, bias });
    this.in_proj = new Linear(hiddenSize, 3 * hiddenSize, { bias });
    this.out_proj = new Linear(hiddenSize, hiddenSize, { bias });
  }

  /**
   * `realTokens` (bool [B, L], a left-padded batch): padding positions feed zeros into the
   * convolution, as the zeros a prompt alone is padded with, so no padding reaches real tokens.
   */
  static override readonly inputNames = ["x", "cache", "realTokens"];

  override forward(x: MxArray, cache?: ArraysCache, realTokens?: MxArray | null): MxArray {
    return mx.tidy(() => {
      const [b, c, v] = mx.split(this.in_proj.call(x), 3, -1) as [MxArray, MxArray, MxArray];
      let bx = mx.multiply(b, v);
      if (realTokens) bx = mx.where(mx.expandDims(realTokens, -1), bx, mx.zeros([], bx.dtype));
      const keep = this._kernel - 1;
      if (cache) {
        const [batch, , channels] = bx.shape as [number, number, number];
        const state = cache.get(0) ?? mx.zeros([batch, keep, channels], bx.dtype);
        bx = mx.concatenate([state, bx], 1);
        cache.set(0, mx.index(bx, ":", `${-keep}:`, ":"));
      } else {
        bx = mx.pad(bx, [
          [0, 0],
          [keep, 0],
          [0, 0],
        ]);
      }
      return this.out_proj.call(mx.multiply(c, this.conv.call(bx)));
    });
  }
}

export class Lfm2MLP extends Module {
  w1: LinearLike;
  w3: LinearLike;
  w2: LinearLike;

  constructor(dims: number, ffDim: number) {
    super();
    this.w1 = new Linear(dims, ffDim, { bias: false });
    this.w3 = new Linear(dims, ffDim, { bias: false });
    this.w2 = new Linear(ffDim, dims, { bias: false });
  }

  override forward(x: MxArray): MxArray {
    return mx.tidy(() => this.w2.call(mx.multiply(silu(this.w1.call(x)), this.w3.call(x))));
  }
}

export class Lfm2Layer extends ResidualBlock {
  self_attn?: Lfm2Attention;
  conv?: ShortConv;
  feed_forward: Lfm2MLP;
  operator_norm: RMSNorm;
  ffn_norm: RMSNorm;

  constructor(spec: Lfm2Spec, layer: number) {
    super();
    if (spec.attentionLayers.has(layer)) this.self_attn = new Lfm2Attention(spec);
    else this.conv = new ShortConv(spec);
    this.feed_forward = new Lfm2MLP(spec.blockDim, spec.ffDim);
    this.operator_norm = new RMSNorm(spec.hiddenSize, spec.normEps);
    this.ffn_norm = new RMSNorm(spec.hiddenSize, spec.normEps);
  }

  get isAttentionLayer(): boolean {
    return this.self_attn !== undefined;
  }

  /** `mask`: the attention mask, or for a conv layer its real tokens (bool [B, L]) when padded. */
  static override readonly inputNames = ["x", "mask", "cache"];

  override forward(x: MxArray, mask: AttentionMask, cache?: LayerCache): MxArray {
    return mx.tidy(() => {
      const normed = this.operator_norm.call(x);
      const r = this.self_attn
        ? this.self_attn.call(normed, mask, cache as KVCache | undefined)
        : (this.conv as ShortConv).call(normed, cache as ArraysCache | undefined, mask as MxArray | null);
      const h = this.addAttention(x, r);
      return this.addMlp(h, this.feed_forward.call(this.ffn_norm.call(h)));
    });
  }
}

export class Lfm2Model extends Module {
  embed_tokens: EmbeddingLike;
  layers: Lfm2Layer[];
  embedding_norm: RMSNorm;
  readonly _firstAttention: number;

  constructor(spec: Lfm2Spec) {
    super();
    this.embed_tokens = new Embedding(spec.vocabSize, spec.hiddenSize);
    this.layers = Array.from({ length: spec.layers }, (_, i) => new Lfm2Layer(spec, i));
    this.embedding_norm = new RMSNorm(spec.hiddenSize, spec.normEps);
    this._firstAttention = this.layers.findIndex((l) => l.isAttentionLayer);
  }

  static override readonly inputNames = ["inputs", "cache", "padding"];

  override forward(inputs: MxArray, cache?: LayerCache[], padding?: Padding): MxArray {
    return mx.tidy(() => {
      let h = this.embed_tokens.call(inputs);
      const attentionCache = cache?.[this._firstAttention] as KVCache | undefined;
      const mask = this._firstAttention < 0 ? null : createAttentionMask(h, attentionCache, undefined, false, padding);
      // Conv layers take no mask without padding (mlx-lm's ArraysCache.make_mask gives none).
      const convMask = padding?.any ? padding.realTokens(h.shape[1] as number) : null;
      this.layers.forEach((layer, i) => {
        h = layer.call(h, layer.isAttentionLayer ? mask : convMask, cache?.[i]);
      });
      return this.embedding_norm.call(h);
    });
  }
}

export class Lfm2LM extends Module implements CausalLM {
  model: Lfm2Model;

  constructor(spec: Lfm2Spec) {
    super();
    this.model = new Lfm2Model(spec);
  }

  static override readonly inputNames = ["inputs", "cache", "padding"];

  override forward(inputs: MxArray, cache?: LayerCache[], padding?: Padding): MxArray {
    return mx.tidy(() => this.model.embed_tokens.asLinear(this.model.call(inputs, cache, padding)));
  }

  get layers(): Lfm2Layer[] {
    return this.model.layers;
  }

  /** A KVCache for attention layers, a one-slot ArraysCache for conv layers. */
  makeCache(): LayerCache[] {
    return this.model.layers.map((l) => (l.isAttentionLayer ? new KVCache() : new ArraysCache(1)));
  }

  /** Conv weights saved as [out, in/groups, kernel] (PyTorch) become [out, kernel, in/groups]. */
  sanitize(weights: Map<string, MxArray>): Map<string, MxArray> {
    const out = new Map<string, MxArray>();
    for (const [name, value] of weights) {
      const torchLayout = name.includes("conv.weight") && (value.shape.at(-1) as number) > (value.shape[1] as number);
      out.set(name, torchLayout ? mx.transpose(value, [0, 2, 1]) : value);
    }
    return out;
  }
}

export function buildLfm2(config: ModelConfig): Lfm2LM {
  const c = new ConfigReader(config);
  const layers = c.number("num_hidden_layers");
  const heads = c.number("num_attention_heads");
  let ffDim = c.optionalNumber("block_ff_dim") ?? c.optionalNumber("intermediate_size");
  if (ffDim === undefined) throw new Error('config.json: lfm2 needs "block_ff_dim" or "intermediate_size"');
  if (c.boolean("block_auto_adjust_ff_dim")) {
    ffDim = Math.trunc((2 * ffDim) / 3);
    const multiplier = c.optionalNumber("block_ffn_dim_multiplier");
    if (multiplier !== undefined) ffDim = Math.trunc(multiplier * ffDim);
    const multipleOf = c.number("block_multiple_of");
    ffDim = multipleOf * Math.ceil(ffDim / multipleOf);
  }
  const ropeParameters = c.object("rope_parameters");
  const ropeTheta =
    ropeParameters && "rope_theta" in ropeParameters
      ? (ropeParameters.rope_theta as number)
      : c.number("rope_theta", 1000000);
  let attentionIndices = config.full_attn_idxs as number[] | undefined | null;
  if (attentionIndices == null) {
    const types = c.stringList("layer_types");
    if (!types) throw new Error('config.json: lfm2 needs "full_attn_idxs" or "layer_types"');
    attentionIndices = types.flatMap((t, i) => (t === "full_attention" ? [i] : []));
  }
  if (!Array.isArray(attentionIndices) || attentionIndices.some((i) => !Number.isInteger(i))) {
    throw new Error('config.json: "full_attn_idxs" must be a list of layer indices');
  }
  if (attentionIndices.length === 0) {
    throw new Error("config.json: lfm2 needs at least one full-attention layer (mlx-lm reads the first)");
  }
  return new Lfm2LM({
    vocabSize: c.number("vocab_size"),
    hiddenSize: c.number("hidden_size"),
    heads,
    kvHeads: c.optionalNumber("num_key_value_heads") ?? heads,
    layers,
    normEps: c.number("norm_eps"),
    convBias: c.boolean("conv_bias"),
    convKernel: c.number("conv_L_cache"),
    blockDim: c.number("block_dim"),
    ffDim,
    ropeTheta,
    attentionLayers: new Set(attentionIndices),
  });
}
