// The pre-norm decoder of the llama-like families (mlx-lm's llama, qwen2, qwen3 ...):
//   Model.model = { embed_tokens, layers[i] = { input_layernorm, self_attn, post_attention_layernorm, mlp }, norm }
//   Model.lm_head unless the embeddings are tied.
import { KVCache } from "../../generate/kv-cache.ts";
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { Embedding, type EmbeddingLike } from "../../nn/layers/embedding.ts";
import { Linear, type LinearLike } from "../../nn/layers/linear.ts";
import { RMSNorm } from "../../nn/layers/normalization.ts";
import { Module } from "../../nn/module.ts";
import { createAttentionMask } from "../masks.ts";
import { Attention, type AttentionSpec } from "./attention.ts";
import { GatedMLP } from "./mlp.ts";

export interface DecoderSpec {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  rmsNormEps: number;
  mlpBias: boolean;
  tieWordEmbeddings: boolean;
  /** Per layer: the sliding window, or undefined for full attention. */
  slidingWindows: (number | undefined)[];
  attention: (layer: number) => AttentionSpec;
}

export class DecoderLayer extends Module {
  self_attn: Attention;
  mlp: GatedMLP;
  input_layernorm: RMSNorm;
  post_attention_layernorm: RMSNorm;

  constructor(spec: DecoderSpec, layer: number) {
    super();
    this.self_attn = new Attention(spec.attention(layer));
    this.mlp = new GatedMLP(spec.hiddenSize, spec.intermediateSize, spec.mlpBias);
    this.input_layernorm = new RMSNorm(spec.hiddenSize, spec.rmsNormEps);
    this.post_attention_layernorm = new RMSNorm(spec.hiddenSize, spec.rmsNormEps);
  }

  override forward(x: MxArray, mask: MxArray | "causal" | null, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const h = mx.add(x, this.self_attn.call(this.input_layernorm.call(x), mask, cache));
      return mx.add(h, this.mlp.call(this.post_attention_layernorm.call(h)));
    });
  }
}

export class DecoderStack extends Module {
  embed_tokens: EmbeddingLike;
  layers: DecoderLayer[];
  norm: RMSNorm;
  readonly _slidingWindows: (number | undefined)[];

  constructor(spec: DecoderSpec) {
    super();
    this.embed_tokens = new Embedding(spec.vocabSize, spec.hiddenSize);
    this.layers = Array.from({ length: spec.layers }, (_, i) => new DecoderLayer(spec, i));
    this.norm = new RMSNorm(spec.hiddenSize, spec.rmsNormEps);
    this._slidingWindows = spec.slidingWindows;
  }

  override forward(inputs: MxArray, cache?: KVCache[]): MxArray {
    return mx.tidy(() => {
      let h = this.embed_tokens.call(inputs);
      // One mask per distinct window, made from the first layer that uses it (as mlx-lm does).
      const masks = new Map<number | undefined, MxArray | "causal" | null>();
      this.layers.forEach((layer, i) => {
        const window = this._slidingWindows[i];
        if (!masks.has(window)) masks.set(window, createAttentionMask(h, cache?.[i], window));
        h = layer.call(h, masks.get(window) ?? null, cache?.[i]);
      });
      return this.norm.call(h);
    });
  }
}

/** A causal language model: token ids [B, L] in, logits [B, L, vocab] out. */
export class DecoderLM extends Module {
  model: DecoderStack;
  lm_head?: LinearLike;
  readonly _spec: DecoderSpec;

  constructor(spec: DecoderSpec) {
    super();
    this._spec = spec;
    this.model = new DecoderStack(spec);
    if (!spec.tieWordEmbeddings) this.lm_head = new Linear(spec.hiddenSize, spec.vocabSize, { bias: false });
  }

  override forward(inputs: MxArray, cache?: KVCache[]): MxArray {
    return mx.tidy(() => {
      const hidden = this.model.call(inputs, cache);
      return this.lm_head ? this.lm_head.call(hidden) : this.model.embed_tokens.asLinear(hidden);
    });
  }

  get layers(): DecoderLayer[] {
    return this.model.layers;
  }

  /** One KV cache per layer, for generation. */
  makeCache(): KVCache[] {
    return this.model.layers.map(() => new KVCache());
  }

  /** Drops checkpoint tensors mlx-lm drops for these families before loading. */
  sanitize(weights: Map<string, MxArray>): Map<string, MxArray> {
    const out = new Map<string, MxArray>();
    for (const [name, value] of weights) {
      if (name.includes("self_attn.rotary_emb.inv_freq")) continue;
      if (this._spec.tieWordEmbeddings && name === "lm_head.weight") continue;
      out.set(name, value);
    }
    return out;
  }
}
