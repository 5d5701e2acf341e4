// StarCoder2 as mlx-lm's starcoder2: biases everywhere, LayerNorm (norm_epsilon), exact-gelu
// c_fc / c_proj MLP, GQA attention with plain RoPE (the shared attention, with biases); lm_head
// unless tied. sliding_window is not read by mlx-lm, so every layer attends to every position.

import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { gelu } from "../nn/layers/activations.ts";
import { Embedding, type EmbeddingLike } from "../nn/layers/embedding.ts";
import { LayerNorm } from "../nn/layers/normalization.ts";
import { RoPE } from "../nn/layers/rope.ts";
import { Module } from "../nn/module.ts";
import type { KVCache } from "./cache/kv-cache.ts";
import { createAttentionMask, type Padding } from "./cache/masks.ts";
import { FcMLP } from "./fc-mlp.ts";
import { Attention, type AttentionSpec } from "./shared/attention.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import type { AttentionMask } from "./shared/multihead.ts";
import { ResidualBlock } from "./shared/residual-block.ts";
import { StackLM } from "./stack-lm.ts";

interface Starcoder2Spec {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  eps: number;
  tieWordEmbeddings: boolean;
  attention: () => AttentionSpec;
}

export class Starcoder2Block extends ResidualBlock {
  self_attn: Attention;
  mlp: FcMLP;
  input_layernorm: LayerNorm;
  post_attention_layernorm: LayerNorm;

  constructor(spec: Starcoder2Spec) {
    super();
    this.self_attn = new Attention(spec.attention());
    this.mlp = new FcMLP(spec.hiddenSize, spec.intermediateSize, gelu);
    this.input_layernorm = new LayerNorm(spec.hiddenSize, { eps: spec.eps });
    this.post_attention_layernorm = new LayerNorm(spec.hiddenSize, { eps: spec.eps });
  }

  static override readonly inputNames = ["x", "mask", "cache"];

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const h = this.addAttention(x, this.self_attn.call(this.input_layernorm.call(x), mask, cache));
      return this.addMlp(h, this.mlp.call(this.post_attention_layernorm.call(h)));
    });
  }
}

export class Starcoder2Model extends Module {
  embed_tokens: EmbeddingLike;
  layers: Starcoder2Block[];
  norm: LayerNorm;

  constructor(spec: Starcoder2Spec) {
    super();
    this.embed_tokens = new Embedding(spec.vocabSize, spec.hiddenSize);
    this.layers = Array.from({ length: spec.layers }, () => new Starcoder2Block(spec));
    this.norm = new LayerNorm(spec.hiddenSize, { eps: spec.eps });
  }

  static override readonly inputNames = ["inputs", "cache", "padding"];

  override forward(inputs: MxArray, cache?: KVCache[], padding?: Padding): MxArray {
    return mx.tidy(() => {
      let h = this.embed_tokens.call(inputs);
      const mask = createAttentionMask(h, cache?.[0], undefined, false, padding);
      this.layers.forEach((layer, i) => {
        h = layer.call(h, mask, cache?.[i]);
      });
      return this.norm.call(h);
    });
  }
}

/** mlx-lm's starcoder2 has no sanitize: the weights load as they are. */
export class Starcoder2LM extends StackLM<Starcoder2Model> {
  constructor(spec: Starcoder2Spec) {
    super(new Starcoder2Model(spec), spec);
  }
}

export function buildStarcoder2(config: ModelConfig): Starcoder2LM {
  const c = new ConfigReader(config);
  const hiddenSize = c.number("hidden_size");
  const heads = c.number("num_attention_heads");
  const headDim = Math.floor(hiddenSize / heads);
  const theta = c.number("rope_theta", 100000);
  return new Starcoder2LM({
    vocabSize: c.number("vocab_size", 49152),
    hiddenSize,
    intermediateSize: c.number("intermediate_size"),
    layers: c.number("num_hidden_layers"),
    eps: c.number("norm_epsilon", 1e-5),
    tieWordEmbeddings: c.boolean("tie_word_embeddings", true),
    attention: () => ({
      hiddenSize,
      heads,
      kvHeads: c.number("num_key_value_heads"),
      headDim,
      qkvBias: true,
      outputBias: true,
      rope: new RoPE(headDim, { traditional: false, base: theta }),
    }),
  });
}
