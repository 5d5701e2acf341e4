// OLMo 2 and OLMo 3 as mlx-lm's olmo2 / olmo3: q_norm / k_norm are RMSNorms over the whole
// projection (before the head split), and the decoder has no pre-norms: the attention and MLP
// outputs are normed (post_attention_layernorm, post_feedforward_layernorm) before the residual
// add. OLMo 3 adds layer_types: sliding layers (window sliding_window) rotate with plain RoPE,
// full layers with the config's rope_scaling.
import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { Linear, type LinearLike } from "../nn/layers/linear.ts";
import { RMSNorm } from "../nn/layers/normalization.ts";
import { initializeRope, RoPE, type RotaryEmbedding } from "../nn/layers/rope.ts";
import type { KVCache } from "./cache/kv-cache.ts";
import { LLAMA_NAMES } from "./llama-like.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { DecoderLM } from "./shared/decoder.ts";
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

/** OLMo's block: no pre-norms; each branch's output is normed before the residual add. */
function olmoBlock(spec: OlmoSpec, layer: number): ResidualBlock {
  const norm = () => new RMSNorm(spec.hiddenSize, spec.rmsNormEps);
  return new ResidualBlock({
    mixer: ["self_attn", new OlmoAttention(spec, layer)],
    mlp: ["mlp", new GatedMLP(spec.hiddenSize, spec.intermediateSize, { bias: spec.mlpBias })],
    norms: { afterMixer: ["post_attention_layernorm", norm()], afterMlp: ["post_feedforward_layernorm", norm()] },
  });
}

function buildOlmo(config: ModelConfig, spec: OlmoSpec, dropRotaryBuffers: boolean): DecoderLM {
  const { hiddenSize, heads, kvHeads, headDim, layers, vocabSize, intermediateSize: dMlp, rmsNormEps } = spec;
  return new DecoderLM({
    architecture: config.model_type,
    dims: { layers, dModel: hiddenSize, heads, kvHeads, headDim, vocabSize, dMlp },
    names: LLAMA_NAMES,
    block: (i) => olmoBlock(spec, i),
    finalNorm: () => new RMSNorm(hiddenSize, rmsNormEps),
    // Full layers get a KVCache, sliding layers a RotatingKVCache of their window (as mlx-lm's olmo3).
    mixing: spec.slidingWindows.map((window) =>
      window === undefined ? { kind: "attention" } : { kind: "attention", window },
    ),
    tieWordEmbeddings: spec.tieWordEmbeddings,
    // olmo2 drops the rotary_emb.inv_freq buffers; olmo3 loads the weights as they are.
    ...(dropRotaryBuffers
      ? {
          sanitize: (weights: Map<string, MxArray>) =>
            new Map([...weights].filter(([name]) => !name.includes("self_attn.rotary_emb.inv_freq"))),
        }
      : {}),
  });
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

export function buildOlmo2(config: ModelConfig): DecoderLM {
  const c = new ConfigReader(config);
  const common = commonSpec(c);
  const theta = c.number("rope_theta", 10000);
  const traditional = c.boolean("rope_traditional", false);
  const scaling = c.object("rope_scaling");
  const maxPositions = c.optionalNumber("max_position_embeddings");
  return buildOlmo(
    config,
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

export function buildOlmo3(config: ModelConfig): DecoderLM {
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
  return buildOlmo(
    config,
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
