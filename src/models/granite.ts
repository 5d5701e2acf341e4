// Granite (3.x) as mlx-lm runs it: the llama decoder with its multipliers: embeddings ×
// embedding_multiplier, each residual branch × residual_multiplier, attention_multiplier as the
// softmax scale, logits ÷ logits_scaling.
import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { initializeRope } from "../nn/layers/rope.ts";
import { LLAMA_NAMES, llamaBlock } from "./llama-like.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { DecoderLM } from "./shared/decoder.ts";
import { rmsNorm } from "./shared/norms.ts";

export function buildGranite(config: ModelConfig): DecoderLM {
  const c = new ConfigReader(config);
  const hiddenSize = c.number("hidden_size");
  const heads = c.number("num_attention_heads");
  const layers = c.number("num_hidden_layers");
  const headDim = Math.floor(hiddenSize / heads);
  const attentionBias = c.boolean("attention_bias");
  const embeddingMultiplier = c.number("embedding_multiplier");
  const tied = c.boolean("tie_word_embeddings", true);
  const vocabSize = c.number("vocab_size");
  const dMlp = c.number("intermediate_size");
  const eps = c.number("rms_norm_eps");
  const mlpBias = c.boolean("mlp_bias");
  const residualMultiplier = c.number("residual_multiplier");
  const logitsScaling = c.number("logits_scaling");
  const kvHeads = c.number("num_key_value_heads");
  const rope = () =>
    initializeRope(
      headDim,
      c.number("rope_theta"),
      false,
      c.object("rope_scaling"),
      c.number("max_position_embeddings"),
    );
  return new DecoderLM({
    architecture: config.model_type,
    dims: { layers, dModel: hiddenSize, heads, kvHeads, headDim, vocabSize, dMlp },
    names: LLAMA_NAMES,
    block: () =>
      llamaBlock({
        attention: {
          hiddenSize,
          heads,
          kvHeads,
          headDim,
          qkvBias: attentionBias,
          outputBias: attentionBias,
          scale: c.number("attention_multiplier"),
          rope: rope(),
        },
        dModel: hiddenSize,
        dMlp,
        eps,
        mlpBias,
        residualMultiplier,
      }),
    finalNorm: () => rmsNorm(hiddenSize, eps),
    tieWordEmbeddings: tied,
    scaleEmbeddings: (h: MxArray) => mx.multiply(h, embeddingMultiplier),
    logitsScaling,
    // Only a tied checkpoint's lm_head.weight is dropped (rotary_emb.inv_freq is not).
    sanitize: (weights) => {
      if (tied) weights.delete("lm_head.weight");
      return weights;
    },
  });
}
