// The pre-norm decoder of the llama-like families (mlx-lm's llama, qwen2, qwen3, gemma, granite ...):
//   Model.model = { embed_tokens, layers[i] = { input_layernorm, self_attn, post_attention_layernorm, mlp }, norm }
//   Model.lm_head unless the embeddings are tied.
// Gemma 2/3 layers are "sandwiched": post_attention_layernorm normalizes the attention output, and
// pre_feedforward_layernorm / post_feedforward_layernorm surround the MLP.

import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { Embedding, type EmbeddingLike } from "../../nn/layers/embedding.ts";
import { Linear, type LinearLike } from "../../nn/layers/linear.ts";
import { Module } from "../../nn/module.ts";
import { KVCache } from "../cache/kv-cache.ts";
import { createAttentionMask, type Padding } from "../cache/masks.ts";
import { Attention, type AttentionSpec, type NormFactory, type NormLayer, rmsNorm } from "./attention.ts";
import { type Activation, GatedMLP } from "./mlp.ts";
import type { AttentionMask } from "./multihead.ts";
import { ResidualBlock } from "./residual-block.ts";

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
  /** The norm layers (RMSNorm unless given; Gemma's (1 + weight) RMSNorm). */
  norm?: NormFactory;
  /** The MLP's gate activation (silu unless given). */
  mlpActivation?: Activation;
  /** Gemma 2/3: norms after attention and around the MLP (see the top of this file). */
  sandwichNorms?: boolean;
  /** Gemma 3's clip_residual: float16 residual sums done in float32 and clipped to the float16 range. */
  clipFloat16Residual?: boolean;
  /** Applied to the token embeddings (Gemma's sqrt(hidden) scale, Granite's embedding_multiplier). */
  scaleEmbeddings?: (h: MxArray) => MxArray;
  /** Each branch's output is multiplied by this before the residual add (Granite). */
  residualMultiplier?: number;
  /** Masks always as arrays, never the fused kernel's "causal" (Gemma 2's written-out attention). */
  maskAsArray?: boolean;
  /** Logits soft-capped as tanh(x / cap) * cap (Gemma 2's final_logit_softcapping). */
  finalLogitSoftcap?: number;
  /** Logits divided by this (Granite's logits_scaling). */
  logitsScaling?: number;
  /** The cache of layer i for generation (a KVCache unless given: Gemma 3's sliding layers rotate). */
  cacheFor?: (layer: number) => KVCache;
  /** The checkpoint tensor rules mlx-lm applies for this family (the llama ones unless given). */
  sanitize?: (weights: Map<string, MxArray>, model: DecoderLM) => Map<string, MxArray>;
}

const FLOAT16_MAX = 65504;

export class DecoderLayer extends ResidualBlock {
  self_attn: Attention;
  mlp: GatedMLP;
  input_layernorm: NormLayer;
  post_attention_layernorm: NormLayer;
  pre_feedforward_layernorm?: NormLayer;
  post_feedforward_layernorm?: NormLayer;
  readonly _spec: DecoderSpec;

  constructor(spec: DecoderSpec, layer: number) {
    super();
    const norm = spec.norm ?? rmsNorm;
    this._spec = spec;
    this.self_attn = new Attention(spec.attention(layer));
    this.mlp = new GatedMLP(spec.hiddenSize, spec.intermediateSize, spec.mlpBias, spec.mlpActivation);
    this.input_layernorm = norm(spec.hiddenSize, spec.rmsNormEps);
    this.post_attention_layernorm = norm(spec.hiddenSize, spec.rmsNormEps);
    if (spec.sandwichNorms) {
      this.pre_feedforward_layernorm = norm(spec.hiddenSize, spec.rmsNormEps);
      this.post_feedforward_layernorm = norm(spec.hiddenSize, spec.rmsNormEps);
    }
  }

  static override readonly inputNames = ["x", "mask", "cache"];

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const r = this.self_attn.call(this.input_layernorm.call(x), mask, cache);
      if (this.pre_feedforward_layernorm && this.post_feedforward_layernorm) {
        const h = this.addAttention(x, this.post_attention_layernorm.call(r));
        const m = this.mlp.call(this.pre_feedforward_layernorm.call(h));
        return this.addMlp(h, this.post_feedforward_layernorm.call(m));
      }
      const h = this.addAttention(x, r);
      return this.addMlp(h, this.mlp.call(this.post_attention_layernorm.call(h)));
    });
  }

  protected override addAttention(x: MxArray, branch: MxArray): MxArray {
    const sum = this.#residual(x, this.hook_attn_out.call(this.#scaled(branch)));
    return this.hook_resid_mid ? this.hook_resid_mid.call(sum) : sum;
  }

  protected override addMlp(h: MxArray, branch: MxArray): MxArray {
    return this.#residual(h, this.hook_mlp_out.call(this.#scaled(branch)));
  }

  // Granite's residual_multiplier scales each branch before it joins the stream.
  #scaled(branch: MxArray): MxArray {
    const multiplier = this._spec.residualMultiplier;
    return multiplier === undefined ? branch : mx.multiply(branch, multiplier);
  }

  #residual(x: MxArray, r: MxArray): MxArray {
    if (this._spec.clipFloat16Residual && x.dtype === "float16") {
      const sum = mx.add(mx.astype(x, "float32"), mx.astype(r, "float32"));
      return mx.astype(mx.clip(sum, -FLOAT16_MAX, FLOAT16_MAX), "float16");
    }
    return mx.add(x, r);
  }
}

export class DecoderStack extends Module {
  embed_tokens: EmbeddingLike;
  layers: DecoderLayer[];
  norm: NormLayer;
  readonly _spec: DecoderSpec;

  constructor(spec: DecoderSpec) {
    super();
    this._spec = spec;
    this.embed_tokens = new Embedding(spec.vocabSize, spec.hiddenSize);
    this.layers = Array.from({ length: spec.layers }, (_, i) => new DecoderLayer(spec, i));
    this.norm = (spec.norm ?? rmsNorm)(spec.hiddenSize, spec.rmsNormEps);
  }

  static override readonly inputNames = ["inputs", "cache", "padding"];

  override forward(inputs: MxArray, cache?: KVCache[], padding?: Padding): MxArray {
    return mx.tidy(() => {
      let h = this.embed_tokens.call(inputs);
      if (this._spec.scaleEmbeddings) h = this._spec.scaleEmbeddings(h);
      // One mask per distinct window, made from the first layer that uses it (as mlx-lm does).
      const masks = new Map<number | undefined, AttentionMask>();
      this.layers.forEach((layer, i) => {
        const window = this._spec.slidingWindows[i];
        if (!masks.has(window)) {
          masks.set(window, createAttentionMask(h, cache?.[i], window, this._spec.maskAsArray ?? false, padding));
        }
        h = layer.call(h, masks.get(window) ?? null, cache?.[i]);
      });
      return this.norm.call(h);
    });
  }
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

  static override readonly inputNames = ["inputs", "cache", "padding"];

  override forward(inputs: MxArray, cache?: KVCache[], padding?: Padding): MxArray {
    return mx.tidy(() => {
      const hidden = this.model.call(inputs, cache, padding);
      let out = this.lm_head ? this.lm_head.call(hidden) : this.model.embed_tokens.asLinear(hidden);
      const cap = this._spec.finalLogitSoftcap;
      if (cap !== undefined) out = mx.multiply(mx.tanh(mx.divide(out, cap)), cap);
      if (this._spec.logitsScaling !== undefined) out = mx.divide(out, this._spec.logitsScaling);
      return out;
    });
  }

  get layers(): DecoderLayer[] {
    return this.model.layers;
  }

  /** One KV cache per layer, for generation. */
  makeCache(): KVCache[] {
    return this.model.layers.map((_, i) => this._spec.cacheFor?.(i) ?? new KVCache());
  }

  /** Applies mlx-lm's checkpoint rules for this family (dropped or renamed tensors) before loading. */
  sanitize(weights: Map<string, MxArray>): Map<string, MxArray> {
    return (this._spec.sanitize ?? sanitizeLlamaLike)(weights, this);
  }
}
