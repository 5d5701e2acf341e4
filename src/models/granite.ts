// Granite (3.x) as mlx-lm runs it: the llama decoder with its multipliers: embeddings ×
// embedding_multiplier, each residual branch × residual_multiplier, attention_multiplier as the
// softmax scale, logits ÷ logits_scaling.
import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { initializeRope } from "../nn/layers/rope.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { DecoderLM } from "./shared/decoder.ts";

export function buildGranite(config: ModelConfig): DecoderLM {
  const c = new ConfigReader(config);
  const hiddenSize = c.number("hidden_size");
  const heads = c.number("num_attention_heads");
  const layers = c.number("num_hidden_layers");
  const headDim = Math.floor(hiddenSize / heads);
  const attentionBias = c.boolean("attention_bias");
  const embeddingMultiplier = c.number("embedding_multiplier");
  const tied = c.boolean("tie_word_embeddings", true);
  const rope = () =>
    initializeRope(
      headDim,
      c.number("rope_theta"),
      false,
      c.object("rope_scaling"),
      c.number("max_position_embeddings"),
    );
  return new DecoderLM({
    vocabSize: c.number("vocab_size"),
    hiddenSize,
    intermediateSize: c.number("intermediate_size"),
    layers,
    rmsNormEps: c.number("rms_norm_eps"),
    mlpBias: c.boolean("mlp_bias"),
    tieWordEmbeddings: tied,
    slidingWindows: new Array(layers).fill(undefined),
    scaleEmbeddings: (h: MxArray) => mx.multiply(h, embeddingMultiplier),
    residualMultiplier: c.number("residual_multiplier"),
    logitsScaling: c.number("logits_scaling"),
    attention: () => ({
      hiddenSize,
      heads,
      kvHeads: c.number("num_key_value_heads"),
      headDim,
      qkvBias: attentionBias,
      outputBias: attentionBias,
      scale: c.number("attention_multiplier"),
      rope: rope(),
    }),
    // Only a tied checkpoint's lm_head.weight is dropped (rotary_emb.inv_freq is not).
    sanitize: (weights) => {
      if (tied) weights.delete("lm_head.weight");
      return weights;
    },
  });
}
