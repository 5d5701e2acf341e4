// LFM2 as mlx-lm's lfm2: a stack of short-convolution layers and attention layers
// (full_attn_idxs, else layer_types). Conv layers: in_proj → B, C, x; depthwise Conv1d over B·x
// (left-padded, or continued from the cached last kernel-1 inputs); C · conv; out_proj. Attention
// layers: per-head q_layernorm / k_layernorm, RoPE, out_proj. SwiGLU feed_forward (w1, w3, w2) with
// the auto-adjusted width; pre-norms operator_norm / ffn_norm; final embedding_norm; always tied.
import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { Conv1d } from "../nn/layers/conv.ts";
import { Linear, type LinearLike } from "../nn/layers/linear.ts";
import { RMSNorm } from "../nn/layers/normalization.ts";
import { RoPE } from "../nn/layers/rope.ts";
import { Module } from "../nn/module.ts";
import type { ArraysCache } from "./cache/arrays-cache.ts";
import type { KVCache } from "./cache/kv-cache.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { DecoderLM } from "./shared/decoder.ts";
import { GatedMLP } from "./shared/mlp.ts";
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
  static override readonly inputNames = ["x", "mask", "cache"];

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
   * `mask`: the real tokens of a left-padded batch (bool [B, L]), or null: padding positions feed
   * zeros into the convolution, as the zeros a prompt alone is padded with, so no padding reaches
   * real tokens.
   */
  override forward(x: MxArray, mask: AttentionMask, cache?: ArraysCache): MxArray {
    const realTokens = mask as MxArray | null;
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

export function buildLfm2(config: ModelConfig): DecoderLM {
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
  const spec: Lfm2Spec = {
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
  };
  const { hiddenSize, kvHeads, vocabSize, normEps } = spec;
  const names = { gate: "w1", up: "w3", down: "w2" };
  const isAttention = (layer: number) => spec.attentionLayers.has(layer);
  return new DecoderLM({
    architecture: config.model_type,
    dims: {
      layers,
      dModel: hiddenSize,
      heads,
      kvHeads,
      headDim: Math.floor(hiddenSize / heads),
      vocabSize,
      dMlp: ffDim,
    },
    names: { tokenEmbedding: "embed_tokens", blocks: "layers", finalNorm: "embedding_norm" },
    block: (i) =>
      new ResidualBlock({
        mixer: isAttention(i) ? ["self_attn", new Lfm2Attention(spec)] : ["conv", new ShortConv(spec)],
        mlp: ["feed_forward", new GatedMLP(spec.blockDim, ffDim, { names })],
        norms: {
          beforeMixer: ["operator_norm", new RMSNorm(hiddenSize, normEps)],
          beforeMlp: ["ffn_norm", new RMSNorm(hiddenSize, normEps)],
        },
      }),
    finalNorm: () => new RMSNorm(hiddenSize, normEps),
    // Attention layers keep a KVCache, convolution layers a one-slot ArraysCache.
    mixing: Array.from({ length: layers }, (_, i) =>
      isAttention(i) ? { kind: "attention" } : { kind: "convolution" },
    ),
    tieWordEmbeddings: true,
    sanitize: sanitizeLfm2,
  });
}

/** Conv weights saved as [out, in/groups, kernel] (PyTorch) become [out, kernel, in/groups]. */
function sanitizeLfm2(weights: Map<string, MxArray>): Map<string, MxArray> {
  const out = new Map<string, MxArray>();
  for (const [name, value] of weights) {
    const torchLayout = name.includes("conv.weight") && (value.shape.at(-1) as number) > (value.shape[1] as number);
    out.set(name, torchLayout ? mx.transpose(value, [0, 2, 1]) : value);
  }
  return out;
}
