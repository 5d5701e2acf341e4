// OLMo 2 and OLMo 3 as mlx-lm's olmo2 / olmo3: q_norm / k_norm are RMSNorms over the whole
// projection (before the head split), and the decoder has no pre-norms: the attention and MLP
// outputs are normed (post_attention_layernorm, post_feedforward_layernorm) before the residual
// add. OLMo 3 adds layer_types: sliding layers (window sliding_window) rotate with plain RoPE,
// full layers with the config's rope_scaling.

import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { Embedding, type EmbeddingLike } from "../nn/layers/embedding.ts";
import { Linear, type LinearLike } from "../nn/layers/linear.ts";
import { RMSNorm } from "../nn/layers/normalization.ts";
import { initializeRope, RoPE, type RotaryEmbedding } from "../nn/layers/rope.ts";
import { Module } from "../nn/module.ts";
import { KVCache } from "./cache/kv-cache.ts";
import { createAttentionMask, type Padding } from "./cache/masks.ts";
import { RotatingKVCache } from "./cache/rotating-kv-cache.ts";
import type { CausalLM } from "./causal-lm.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { GatedMLP } from "./shared/mlp.ts";
import { type AttentionMask, MultiHeadAttention, splitHeads } from "./shared/multihead.ts";
import { ResidualBlock } from "./shared/residual-block.ts";

interface OlmoSpec {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  layers: number;
  rmsNormEps: number;
  attentionBias: boolean;
  mlpBias: boolean;
  tieWordEmbeddings: boolean;
  /** Per layer: the sliding window, or undefined for full attention. */
  slidingWindows: (number | undefined)[];
  rope: (layer: number) => RotaryEmbedding;
}

export class OlmoAttention extends MultiHeadAttention {
  q_proj: LinearLike;
  k_proj: LinearLike;
  v_proj: LinearLike;
  o_proj: LinearLike;
  q_norm: RMSNorm;
  k_norm: RMSNorm;
  rope: RotaryEmbedding;
  readonly _heads: number;
  readonly _kvHeads: number;
  readonly _scale: number;

  constructor(spec: OlmoSpec, layer: number) {
    super();
    const { hiddenSize, heads, kvHeads, headDim, attentionBias: bias } = spec;
    this._heads = heads;
    this._kvHeads = kvHeads;
    this._scale = headDim ** -0.5;
    this.q_proj = new Linear(hiddenSize, heads * headDim, { bias });
    this.k_proj = new Linear(hiddenSize, kvHeads * headDim, { bias });
    this.v_proj = new Linear(hiddenSize, kvHeads * headDim, { bias });
    this.o_proj = new Linear(heads * headDim, hiddenSize, { bias });
    this.q_norm = new RMSNorm(heads * headDim, spec.rmsNormEps);
    this.k_norm = new RMSNorm(kvHeads * headDim, spec.rmsNormEps);
    this.rope = spec.rope(layer);
  }

  static override readonly inputNames = ["x", "mask", "cache"];

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const queries = splitHeads(this.q_norm.call(this.q_proj.call(x)), this._heads);
      const keys = splitHeads(this.k_norm.call(this.k_proj.call(x)), this._kvHeads);
      const values = splitHeads(this.v_proj.call(x), this._kvHeads);
      const out = this.attend(queries, keys, values, { scale: this._scale, mask, cache, rope: this.rope });
      return this.project(out, this.o_proj);
    });
  }
}

export class OlmoBlock extends ResidualBlock {
  self_attn: OlmoAttention;
  mlp: GatedMLP;
  post_attention_layernorm: RMSNorm;
  post_feedforward_layernorm: RMSNorm;

  constructor(spec: OlmoSpec, layer: number) {
    super();
    this.self_attn = new OlmoAttention(spec, layer);
    this.mlp = new GatedMLP(spec.hiddenSize, spec.intermediateSize, spec.mlpBias);
    this.post_attention_layernorm = new RMSNorm(spec.hiddenSize, spec.rmsNormEps);
    this.post_feedforward_layernorm = new RMSNorm(spec.hiddenSize, spec.rmsNormEps);
  }

  static override readonly inputNames = ["x", "mask", "cache"];

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const h = this.addAttention(x, this.post_attention_layernorm.call(this.self_attn.call(x, mask, cache)));
      return this.addMlp(h, this.post_feedforward_layernorm.call(this.mlp.call(h)));
    });
  }
}

export class OlmoModel extends Module {
  embed_tokens: EmbeddingLike;
  layers: OlmoBlock[];
  norm: RMSNorm;
  readonly _slidingWindows: (number | undefined)[];

  constructor(spec: OlmoSpec) {
    super();
    this.embed_tokens = new Embedding(spec.vocabSize, spec.hiddenSize);
    this.layers = Array.from({ length: spec.layers }, (_, i) => new OlmoBlock(spec, i));
    this.norm = new RMSNorm(spec.hiddenSize, spec.rmsNormEps);
    this._slidingWindows = spec.slidingWindows;
  }

  static override readonly inputNames = ["inputs", "cache", "padding"];

  override forward(inputs: MxArray, cache?: KVCache[], padding?: Padding): MxArray {
    return mx.tidy(() => {
      let h = this.embed_tokens.call(inputs);
      // One mask per kind of layer, from the cache of the first layer of that kind.
      const masks = new Map<number | undefined, AttentionMask>();
      this._slidingWindows.forEach((window, i) => {
        if (!masks.has(window)) masks.set(window, createAttentionMask(h, cache?.[i], window, false, padding));
      });
      this.layers.forEach((layer, i) => {
        h = layer.call(h, masks.get(this._slidingWindows[i]) ?? null, cache?.[i]);
      });
      return this.norm.call(h);
    });
  }
}

export class OlmoLM extends Module implements CausalLM {
  model: OlmoModel;
  lm_head?: LinearLike;
  readonly _dropRotaryBuffers: boolean;

  constructor(spec: OlmoSpec, dropRotaryBuffers: boolean) {
    super();
    this.model = new OlmoModel(spec);
    if (!spec.tieWordEmbeddings) this.lm_head = new Linear(spec.hiddenSize, spec.vocabSize, { bias: false });
    this._dropRotaryBuffers = dropRotaryBuffers;
  }

  static override readonly inputNames = ["inputs", "cache", "padding"];

  override forward(inputs: MxArray, cache?: KVCache[], padding?: Padding): MxArray {
    return mx.tidy(() => {
      const hidden = this.model.call(inputs, cache, padding);
      return this.lm_head ? this.lm_head.call(hidden) : this.model.embed_tokens.asLinear(hidden);
    });
  }

  get layers(): OlmoBlock[] {
    return this.model.layers;
  }

  /** Full layers get a KVCache, sliding layers a RotatingKVCache of their window (as mlx-lm's olmo3). */
  makeCache(): KVCache[] {
    return this.model._slidingWindows.map((window) =>
      window === undefined ? new KVCache() : new RotatingKVCache(window),
    );
  }

  /** olmo2 drops the rotary_emb.inv_freq buffers; olmo3 loads the weights as they are. */
  sanitize(weights: Map<string, MxArray>): Map<string, MxArray> {
    if (!this._dropRotaryBuffers) return weights;
    return new Map([...weights].filter(([name]) => !name.includes("self_attn.rotary_emb.inv_freq")));
  }
}

function commonSpec(c: ConfigReader) {
  const hiddenSize = c.number("hidden_size");
  const heads = c.number("num_attention_heads");
  return {
    vocabSize: c.number("vocab_size"),
    hiddenSize,
    intermediateSize: c.number("intermediate_size"),
    heads,
    kvHeads: c.optionalNumber("num_key_value_heads") ?? heads,
    headDim: c.optionalNumber("head_dim") ?? Math.floor(hiddenSize / heads),
    layers: c.number("num_hidden_layers"),
    rmsNormEps: c.number("rms_norm_eps"),
    attentionBias: c.boolean("attention_bias", false),
  };
}

export function buildOlmo2(config: ModelConfig): OlmoLM {
  const c = new ConfigReader(config);
  const common = commonSpec(c);
  const theta = c.number("rope_theta", 10000);
  const traditional = c.boolean("rope_traditional", false);
  const scaling = c.object("rope_scaling");
  const maxPositions = c.optionalNumber("max_position_embeddings");
  return new OlmoLM(
    {
      ...common,
      mlpBias: c.boolean("mlp_bias", false),
      tieWordEmbeddings: c.boolean("tie_word_embeddings", true),
      slidingWindows: new Array(common.layers).fill(undefined),
      rope: () => initializeRope(common.headDim, theta, traditional, scaling, maxPositions),
    },
    true,
  );
}

export function buildOlmo3(config: ModelConfig): OlmoLM {
  const c = new ConfigReader(config);
  const common = commonSpec(c);
  const theta = c.number("rope_theta");
  const scaling = c.object("rope_scaling");
  const maxPositions = c.number("max_position_embeddings");
  const window = c.number("sliding_window");
  const layerTypes =
    c.stringList("layer_types") ??
    Array.from({ length: common.layers }, (_, i) => ((i + 1) % 4 === 0 ? "full_attention" : "sliding_attention"));
  if (layerTypes.length !== common.layers) {
    throw new Error(`config.json: "layer_types" has ${layerTypes.length} entries for ${common.layers} layers`);
  }
  for (const t of layerTypes) {
    if (t !== "full_attention" && t !== "sliding_attention") {
      throw new Error(`config.json: olmo3 layer type "${t}" is not supported (full_attention, sliding_attention)`);
    }
  }
  return new OlmoLM(
    {
      ...common,
      mlpBias: false,
      tieWordEmbeddings: c.boolean("tie_word_embeddings", false),
      slidingWindows: layerTypes.map((t) => (t === "sliding_attention" ? window : undefined)),
      rope: (layer) =>
        layerTypes[layer] === "full_attention"
          ? initializeRope(common.headDim, theta, false, scaling, maxPositions)
          : new RoPE(common.headDim, { traditional: false, base: theta }),
    },
    false,
  );
}
