// The llama-like families of mlx-lm, each a reading of its config onto the shared decoder:
// llama (Llama 2/3.x, Mistral, SmolLM2, TinyLlama), qwen2, qwen3.

import type { ModelConfig } from "../load/config.ts";
import { initializeRope } from "../nn/layers/rope.ts";
import { KVCache } from "./cache/kv-cache.ts";
import { RotatingKVCache } from "./cache/rotating-kv-cache.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { DecoderLM, type DecoderSpec } from "./shared/decoder.ts";

interface Family {
  qkvBias: (c: ConfigReader) => boolean;
  outputBias: (c: ConfigReader) => boolean;
  mlpBias: (c: ConfigReader) => boolean;
  qkNorm: boolean;
  /** Reads rope_theta / rope_scaling nested under rope_parameters (transformers 5 configs). */
  nestedRope?: boolean;
  defaultRopeTheta?: number;
  defaultTieEmbeddings?: boolean;
}

const FAMILIES: Record<string, Family> = {
  llama: {
    qkvBias: (c) => c.boolean("attention_bias", false),
    outputBias: (c) => c.boolean("attention_bias", false),
    mlpBias: (c) => c.boolean("mlp_bias", false),
    qkNorm: false,
    defaultRopeTheta: 10000,
    defaultTieEmbeddings: true,
  },
  qwen2: {
    qkvBias: () => true,
    outputBias: () => false,
    mlpBias: () => false,
    qkNorm: false,
    defaultRopeTheta: 1000000,
    defaultTieEmbeddings: true,
  },
  qwen3: { qkvBias: () => false, outputBias: () => false, mlpBias: () => false, qkNorm: true, nestedRope: true },
};

export const LLAMA_LIKE_TYPES = Object.keys(FAMILIES);

function ropeSettings(c: ConfigReader, family: Family): { theta: number; scaling?: Record<string, unknown> } {
  const nested = family.nestedRope ? c.object("rope_parameters") : undefined;
  const theta = c.optionalNumber("rope_theta") ?? (nested?.rope_theta as number | undefined) ?? family.defaultRopeTheta;
  if (typeof theta !== "number") throw new Error('config.json: "rope_theta" is missing');
  return { theta, scaling: c.object("rope_scaling") ?? nested };
}

export function buildLlamaLike(config: ModelConfig): DecoderLM {
  const family = FAMILIES[config.model_type];
  if (!family) throw new Error(`not a llama-like model_type: ${config.model_type}`);
  const c = new ConfigReader(config);
  const hiddenSize = c.number("hidden_size");
  const heads = c.number("num_attention_heads");
  const layers = c.number("num_hidden_layers");
  const headDim = c.optionalNumber("head_dim") ?? Math.floor(hiddenSize / heads);
  const rmsNormEps = c.number("rms_norm_eps");
  const { theta, scaling } = ropeSettings(c, family);
  const layerTypes = c.stringList("layer_types") ?? new Array(layers).fill("full_attention");
  for (const t of layerTypes) {
    if (t !== "full_attention" && t !== "sliding_attention") {
      throw new Error(`config.json: layer type "${t}" is not supported (full_attention, sliding_attention)`);
    }
  }
  const window = c.optionalNumber("sliding_window");
  const spec: DecoderSpec = {
    vocabSize: c.number("vocab_size"),
    hiddenSize,
    intermediateSize: c.number("intermediate_size"),
    layers,
    rmsNormEps,
    mlpBias: family.mlpBias(c),
    tieWordEmbeddings: c.boolean("tie_word_embeddings", family.defaultTieEmbeddings),
    slidingWindows: layerTypes.map((t) => (t === "sliding_attention" ? window : undefined)),
    // mlx-lm's llama gives sliding layers a rotating cache of the window's size.
    cacheFor: (i) => (layerTypes[i] === "sliding_attention" ? new RotatingKVCache(window as number) : new KVCache()),
    attention: () => ({
      hiddenSize,
      heads,
      kvHeads: c.optionalNumber("num_key_value_heads") ?? heads,
      headDim,
      qkvBias: family.qkvBias(c),
      outputBias: family.outputBias(c),
      ...(family.qkNorm ? { qkNormEps: rmsNormEps } : {}),
      rope: initializeRope(
        headDim,
        theta,
        c.boolean("rope_traditional", false),
        scaling,
        c.optionalNumber("max_position_embeddings"),
      ),
    }),
  };
  if (layerTypes.includes("sliding_attention") && window === undefined) {
    throw new Error('config.json: sliding_attention layers need "sliding_window"');
  }
  return new DecoderLM(spec);
}
