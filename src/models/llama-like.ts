// The llama-like families of mlx-lm, each a reading of its config onto the shared decoder:
// llama (Llama 2/3.x, Mistral, SmolLM2, TinyLlama), qwen2, qwen3.
import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import { initializeRope, type RotaryEmbedding } from "../nn/layers/rope.ts";
import { Attention, type AttentionSpec } from "./shared/attention.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { DecoderLM, type Mixing, type StackNames } from "./shared/decoder.ts";
import { type Activation, GatedMLP } from "./shared/mlp.ts";
import { type NormFactory, rmsNorm } from "./shared/norms.ts";
import { ResidualBlock } from "./shared/residual-block.ts";

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

/** The llama stack's children: model.{embed_tokens, layers, norm}. */
export const LLAMA_NAMES: StackNames = { tokenEmbedding: "embed_tokens", blocks: "layers", finalNorm: "norm" };

export interface LlamaBlockSpec {
  attention: AttentionSpec;
  dModel: number;
  dMlp: number;
  eps: number;
  mlpBias: boolean;
  /** RMSNorm unless given (the Gemma line's (1 + weight) RMSNorm). */
  norm?: NormFactory;
  /** silu unless given. */
  mlpActivation?: Activation;
  /**
   * Gemma 2/3: post_attention_layernorm normalizes the attention output, and
   * pre_feedforward_layernorm / post_feedforward_layernorm surround the MLP.
   */
  sandwichNorms?: boolean;
  residualMultiplier?: number;
  clipFloat16Residual?: boolean;
}

/** A llama-like block: { self_attn, mlp, input_layernorm, post_attention_layernorm (, pre/post_feedforward_layernorm) }. */
export function llamaBlock(spec: LlamaBlockSpec): ResidualBlock {
  const norm = () => (spec.norm ?? rmsNorm)(spec.dModel, spec.eps);
  return new ResidualBlock({
    mixer: ["self_attn", new Attention(spec.attention)],
    mlp: [
      "mlp",
      new GatedMLP(spec.dModel, spec.dMlp, {
        bias: spec.mlpBias,
        ...(spec.mlpActivation ? { activation: spec.mlpActivation } : {}),
      }),
    ],
    norms: spec.sandwichNorms
      ? {
          beforeMixer: ["input_layernorm", norm()],
          afterMixer: ["post_attention_layernorm", norm()],
          beforeMlp: ["pre_feedforward_layernorm", norm()],
          afterMlp: ["post_feedforward_layernorm", norm()],
        }
      : { beforeMixer: ["input_layernorm", norm()], beforeMlp: ["post_attention_layernorm", norm()] },
    ...(spec.residualMultiplier === undefined ? {} : { residualMultiplier: spec.residualMultiplier }),
    ...(spec.clipFloat16Residual ? { clipFloat16Residual: true } : {}),
  });
}

/** The checkpoint tensors mlx-lm drops for the llama-like families before loading. */
export function sanitizeLlamaLike(weights: Map<string, MxArray>, model: DecoderLM): Map<string, MxArray> {
  const out = new Map<string, MxArray>();
  for (const [name, value] of weights) {
    if (name.includes("self_attn.rotary_emb.inv_freq")) continue;
    if (model._spec.tieWordEmbeddings && name === "lm_head.weight") continue;
    out.set(name, value);
  }
  return out;
}

/** What a family that runs on the llama code changes: its name, and the RoPE of some layers. */
export interface LlamaVariant {
  /** The model_type as run (the config's, unless given). */
  architecture?: string;
  /** Replaces the RoPE made for a layer (SmolLM3's layers without position embedding). */
  rope?: (layer: number, made: RotaryEmbedding) => RotaryEmbedding;
}

export function buildLlamaLike(config: ModelConfig, variant: LlamaVariant = {}): DecoderLM {
  const rope = variant.rope;
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
  if (layerTypes.includes("sliding_attention") && window === undefined) {
    throw new Error('config.json: sliding_attention layers need "sliding_window"');
  }
  const kvHeads = c.optionalNumber("num_key_value_heads") ?? heads;
  const vocabSize = c.number("vocab_size");
  const dMlp = c.number("intermediate_size");
  const mlpBias = family.mlpBias(c);
  const tieWordEmbeddings = c.boolean("tie_word_embeddings", family.defaultTieEmbeddings);
  // Sliding layers attend within their window, with a rotating cache of the window's size (as mlx-lm's llama).
  const mixing: Mixing[] = layerTypes.map((t) =>
    t === "sliding_attention" ? { kind: "attention", window: window as number } : { kind: "attention" },
  );
  const attention = (layer: number): AttentionSpec => {
    const made = initializeRope(
      headDim,
      theta,
      c.boolean("rope_traditional", false),
      scaling,
      c.optionalNumber("max_position_embeddings"),
    );
    return {
      hiddenSize,
      heads,
      kvHeads,
      headDim,
      qkvBias: family.qkvBias(c),
      outputBias: family.outputBias(c),
      ...(family.qkNorm ? { qkNormEps: rmsNormEps } : {}),
      rope: rope ? rope(layer, made) : made,
    };
  };
  return new DecoderLM({
    architecture: variant.architecture ?? config.model_type,
    dims: { layers, dModel: hiddenSize, heads, kvHeads, headDim, vocabSize, dMlp },
    names: LLAMA_NAMES,
    block: (i) => llamaBlock({ attention: attention(i), dModel: hiddenSize, dMlp, eps: rmsNormEps, mlpBias }),
    finalNorm: () => rmsNorm(hiddenSize, rmsNormEps),
    mixing,
    tieWordEmbeddings,
    sanitize: sanitizeLlamaLike,
  });
}
