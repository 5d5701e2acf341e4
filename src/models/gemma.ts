// The Gemma line of mlx-lm (gemma, gemma2, gemma3_text), each a reading of its config onto the
// shared decoder: RMSNorm scaling by (1 + weight), embeddings scaled by sqrt(hidden_size), gated
// GELU MLPs, tied embeddings; Gemma 2 adds soft-capped attention and logits and sandwich norms,
// Gemma 3 q/k norms and interleaved sliding-window layers with their own RoPE base.
import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { gelu, geluApprox } from "../nn/layers/activations.ts";
import { initializeRope, RoPE } from "../nn/layers/rope.ts";
import { LLAMA_NAMES, llamaBlock } from "./llama-like.ts";
import type { AttentionSpec } from "./shared/attention.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { DecoderLM } from "./shared/decoder.ts";
import { rmsNormPlusOne } from "./shared/norms.ts";

/** x rounded to the nearest bfloat16 (through float32, ties to even), as MLX converts a scalar. */
export function toBfloat16(x: number): number {
  const bits = new Uint32Array(new Float32Array([x]).buffer);
  const b = bits[0] as number;
  bits[0] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16;
  return new Float32Array(bits.buffer)[0] as number;
}

export const GEMMA_TYPES = ["gemma", "gemma2", "gemma3_text"];

// A field mlx-lm reads as a number with a default: null is not a number there either.
function numberOr(c: ConfigReader, field: string, fallback: number): number {
  if (c.config[field] === null) {
    throw new Error(`config.json: "${field}" is null; model_type ${c.config.model_type} needs a number`);
  }
  return c.number(field, fallback);
}

// Switches of the transformers configs that mlx-lm's Gemma files do not read: with these values
// mlx-lm would compute something else than the checkpoint was trained for, so they fail here.
function rejectUnread(config: ModelConfig): void {
  if (config.attention_bias === true) {
    throw new Error(
      `config.json: "attention_bias": true is not supported for ${config.model_type} (mlx-lm has no attention biases)`,
    );
  }
  if (config.use_bidirectional_attention === true) {
    throw new Error(
      `config.json: "use_bidirectional_attention": true (an embedding model) is not supported; ${config.model_type} runs causal attention`,
    );
  }
}

export function buildGemma(config: ModelConfig): DecoderLM {
  rejectUnread(config);
  switch (config.model_type) {
    case "gemma":
      return buildGemma1(new ConfigReader(config));
    case "gemma2":
      return buildGemma2(new ConfigReader(config));
    case "gemma3_text":
      return buildGemma3Text(new ConfigReader(config));
    default:
      throw new Error(`not a Gemma model_type: ${config.model_type}`);
  }
}

// What gemma and gemma2 read alike (both require head_dim and num_key_value_heads).
function common(c: ConfigReader) {
  const hiddenSize = c.number("hidden_size");
  const headDim = c.number("head_dim");
  const heads = c.number("num_attention_heads");
  const kvHeads = c.number("num_key_value_heads");
  const attention = (scale: number | undefined): AttentionSpec => ({
    hiddenSize,
    heads,
    kvHeads,
    headDim,
    qkvBias: false,
    outputBias: false,
    ...(scale === undefined ? {} : { scale }),
    rope: new RoPE(headDim, {
      traditional: c.boolean("rope_traditional", false),
      base: numberOr(c, "rope_theta", 10000),
    }),
  });
  const vocabSize = c.number("vocab_size");
  const dMlp = c.number("intermediate_size");
  const layers = c.number("num_hidden_layers");
  const eps = c.number("rms_norm_eps");
  const embedScale = Math.sqrt(hiddenSize);
  const block = { dModel: hiddenSize, dMlp, eps, mlpBias: false, norm: rmsNormPlusOne };
  return {
    attention,
    block,
    spec: {
      architecture: c.config.model_type,
      dims: { layers, dModel: hiddenSize, heads, kvHeads, headDim, vocabSize, dMlp },
      names: LLAMA_NAMES,
      finalNorm: () => rmsNormPlusOne(hiddenSize, eps),
      tieWordEmbeddings: true,
      // No sanitize: these checkpoints carry no tensors mlx-lm drops or renames (a stray
      // lm_head.weight fails the load).
      // hidden_size ** 0.5 as a scalar in the activations' dtype.
      scaleEmbeddings: (h: MxArray) => mx.multiply(h, embedScale),
    },
  };
}

function buildGemma1(c: ConfigReader): DecoderLM {
  const { attention, block, spec } = common(c);
  return new DecoderLM({
    ...spec,
    // mlx-lm's gemma runs the exact (erf) GELU whatever hidden_act / hidden_activation say.
    block: () => llamaBlock({ ...block, attention: attention(undefined), mlpActivation: gelu }),
  });
}

function buildGemma2(c: ConfigReader): DecoderLM {
  const { attention, block, spec } = common(c);
  const scale = 1 / Math.sqrt(numberOr(c, "query_pre_attn_scalar", 144));
  const attnCap = numberOr(c, "attn_logit_softcapping", 50);
  return new DecoderLM({
    ...spec,
    block: () =>
      llamaBlock({
        ...block,
        attention: { ...attention(scale), logitSoftcap: attnCap },
        mlpActivation: geluApprox,
        sandwichNorms: true,
      }),
    // mlx-lm's gemma2 attends globally in every layer: sliding_window is not read.
    maskAsArray: true,
    logitSoftcap: numberOr(c, "final_logit_softcapping", 30),
    attentionSoftcap: attnCap,
  });
}

function buildGemma3Text(c: ConfigReader): DecoderLM {
  const layers = c.number("num_hidden_layers", 26);
  const hiddenSize = c.number("hidden_size", 1152);
  const headDim = c.number("head_dim", 256);
  const rmsNormEps = c.number("rms_norm_eps", 1e-6);
  const pattern = c.number("sliding_window_pattern", 6);
  const window = c.number("sliding_window", 512);
  const scale = numberOr(c, "query_pre_attn_scalar", 256) ** -0.5;
  if (!Number.isInteger(pattern) || pattern < 1) {
    throw new Error(`config.json: "sliding_window_pattern" must be a positive integer, got ${pattern}`);
  }
  if (pattern > layers) {
    throw new Error(
      `config.json: sliding_window_pattern ${pattern} > num_hidden_layers ${layers}: mlx-lm's gemma3_text takes the global mask from layer ${pattern - 1}, which does not exist`,
    );
  }
  for (const field of ["attn_logit_softcapping", "final_logit_softcapping"]) {
    if (c.config[field] !== undefined && c.config[field] !== null) {
      throw new Error(`config.json: "${field}" is set, but gemma3_text (as mlx-lm runs it) has no soft-capping`);
    }
  }
  // Layer i is local (sliding) unless (i + 1) is a multiple of the pattern.
  const sliding = Array.from({ length: layers }, (_, i) => (i + 1) % pattern !== 0);
  const layerTypes = c.stringList("layer_types");
  if (layerTypes) {
    const expected = sliding.map((s) => (s ? "sliding_attention" : "full_attention"));
    if (layerTypes.length !== layers || layerTypes.some((t, i) => t !== expected[i])) {
      throw new Error(
        `config.json: "layer_types" ${JSON.stringify(layerTypes)} disagree with sliding_window_pattern ${pattern} (${JSON.stringify(expected)}); mlx-lm's gemma3_text follows the pattern`,
      );
    }
  }
  const ropeTheta = c.number("rope_theta", 1_000_000);
  const localBase = c.number("rope_local_base_freq", 10_000);
  const scaling = c.object("rope_scaling");
  const maxPositions = c.number("max_position_embeddings", 32768);
  // sqrt(hidden_size) rounded to bfloat16, then cast to the activations' dtype (rounded even in fp32).
  const embedScale = toBfloat16(Math.sqrt(hiddenSize));
  const heads = c.number("num_attention_heads", 4);
  const kvHeads = c.number("num_key_value_heads", 1);
  const vocabSize = c.number("vocab_size", 262144);
  const dMlp = c.number("intermediate_size", 6912);
  return new DecoderLM({
    architecture: c.config.model_type,
    dims: { layers, dModel: hiddenSize, heads, kvHeads, headDim, vocabSize, dMlp },
    names: LLAMA_NAMES,
    block: (i) =>
      llamaBlock({
        attention: {
          hiddenSize,
          heads,
          kvHeads,
          headDim,
          qkvBias: false,
          outputBias: false,
          qkNormEps: rmsNormEps,
          qkNorm: rmsNormPlusOne,
          qkNormAfterTranspose: true,
          scale,
          rope: sliding[i]
            ? initializeRope(headDim, localBase, false)
            : initializeRope(headDim, ropeTheta, false, scaling, maxPositions),
        },
        dModel: hiddenSize,
        dMlp,
        eps: rmsNormEps,
        mlpBias: false,
        norm: rmsNormPlusOne,
        mlpActivation: geluApprox,
        sandwichNorms: true,
        clipFloat16Residual: true,
      }),
    finalNorm: () => rmsNormPlusOne(hiddenSize, rmsNormEps),
    // Sliding layers keep a rotating cache of the window's size.
    mixing: sliding.map((s) => (s ? { kind: "attention", window } : { kind: "attention" })),
    // lm_head until sanitize finds no lm_head.weight in the checkpoint (tie_word_embeddings is not read).
    tieWordEmbeddings: false,
    scaleEmbeddings: (h) => mx.multiply(h, embedScale),
    sanitize: (weights, model) => {
      if (!weights.has("lm_head.weight")) model.tieHead();
      return weights;
    },
  });
}
