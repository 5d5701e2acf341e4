// Phi-3 / Phi-4-mini as mlx-lm's phi3: fused qkv_proj [q | k | v] and gate_up_proj [gate | up],
// partial_rotary_factor, rope_scaling longrope / su (SuScaledRoPE: long factors always, input scale
// on the rotated features) or linear; RMSNorm pre-norm decoder; lm_head unless tied.

import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { silu } from "../nn/layers/activations.ts";
import { Embedding, type EmbeddingLike } from "../nn/layers/embedding.ts";
import { Linear, type LinearLike } from "../nn/layers/linear.ts";
import { RMSNorm } from "../nn/layers/normalization.ts";
import { type Offset, RoPE, RotaryEmbedding } from "../nn/layers/rope.ts";
import { Module } from "../nn/module.ts";
import type { KVCache } from "./cache/kv-cache.ts";
import { createAttentionMask, type Padding } from "./cache/masks.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { type AttentionMask, MultiHeadAttention, splitHeads } from "./shared/multihead.ts";
import { ResidualBlock } from "./shared/residual-block.ts";
import { StackLM } from "./stack-lm.ts";

interface Phi3Spec {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  heads: number;
  kvHeads: number;
  layers: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  rope: () => RotaryEmbedding;
}

/**
 * mlx-lm's SuScaledRoPE: frequencies base^(2i/dims) times the long factors, and the rotated
 * features multiplied by sqrt(1 + ln(f) / ln(original)) where f = max / original positions > 1.
 * (Its original_max_position_embeddings is phi3's top-level config field, which is why this is
 * not the longrope of initializeRope, which reads it from rope_scaling.)
 */
export class SuScaledRoPE extends RotaryEmbedding {
  readonly _freqs: MxArray;
  readonly _scale: number;

  constructor(
    readonly _dims: number,
    base: number,
    maxPositions: number,
    originalMaxPositions: number,
    longFactor: number | number[],
  ) {
    super();
    this._freqs = mx.tidy(() =>
      mx.multiply(mx.array(longFactor, "float32"), mx.power(base, mx.divide(mx.arange(0, _dims, 2, "float32"), _dims))),
    );
    const factor = maxPositions / originalMaxPositions;
    this._scale = factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(originalMaxPositions));
  }

  override forward(x: MxArray, offset: Offset = 0): MxArray {
    return mx.tidy(() =>
      mx.fast.rope(mx.at(x, "...", `:${this._dims}`).multiply(this._scale), this._dims, {
        traditional: false,
        base: null,
        scale: 1,
        offset,
        freqs: this._freqs,
      }),
    );
  }
}

export class Phi3Attention extends MultiHeadAttention {
  qkv_proj: LinearLike;
  o_proj: LinearLike;
  rope: RotaryEmbedding;
  readonly _heads: number;
  readonly _kvHeads: number;
  readonly _headDim: number;
  readonly _scale: number;

  constructor(spec: Phi3Spec) {
    super();
    this._heads = spec.heads;
    this._kvHeads = spec.kvHeads;
    this._headDim = Math.floor(spec.hiddenSize / spec.heads);
    this._scale = this._headDim ** -0.5;
    const width = (spec.heads + 2 * spec.kvHeads) * this._headDim;
    this.qkv_proj = new Linear(spec.hiddenSize, width, { bias: false });
    this.o_proj = new Linear(spec.heads * this._headDim, spec.hiddenSize, { bias: false });
    this.rope = spec.rope();
  }

  static override readonly inputNames = ["x", "mask", "cache"];

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const queryWidth = this._heads * this._headDim;
      const [q, k, v] = mx.split(this.qkv_proj.call(x), [queryWidth, queryWidth + this._kvHeads * this._headDim], -1);
      const out = this.attend(
        splitHeads(q as MxArray, this._heads),
        splitHeads(k as MxArray, this._kvHeads),
        splitHeads(v as MxArray, this._kvHeads),
        { scale: this._scale, mask, cache, rope: this.rope },
      );
      return this.project(out, this.o_proj);
    });
  }
}

export class Phi3MLP extends Module {
  gate_up_proj: LinearLike;
  down_proj: LinearLike;

  constructor(dims: number, hiddenDims: number) {
    super();
    this.gate_up_proj = new Linear(dims, 2 * hiddenDims, { bias: false });
    this.down_proj = new Linear(hiddenDims, dims, { bias: false });
  }

  override forward(x: MxArray): MxArray {
    return mx.tidy(() => {
      const [gate, up] = mx.split(this.gate_up_proj.call(x), 2, -1) as [MxArray, MxArray];
      return this.down_proj.call(mx.multiply(silu(gate), up));
    });
  }
}

export class Phi3Block extends ResidualBlock {
  self_attn: Phi3Attention;
  mlp: Phi3MLP;
  input_layernorm: RMSNorm;
  post_attention_layernorm: RMSNorm;

  constructor(spec: Phi3Spec) {
    super();
    this.self_attn = new Phi3Attention(spec);
    this.mlp = new Phi3MLP(spec.hiddenSize, spec.intermediateSize);
    this.input_layernorm = new RMSNorm(spec.hiddenSize, spec.rmsNormEps);
    this.post_attention_layernorm = new RMSNorm(spec.hiddenSize, spec.rmsNormEps);
  }

  static override readonly inputNames = ["x", "mask", "cache"];

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const h = this.addAttention(x, this.self_attn.call(this.input_layernorm.call(x), mask, cache));
      return this.addMlp(h, this.mlp.call(this.post_attention_layernorm.call(h)));
    });
  }
}

export class Phi3Model extends Module {
  embed_tokens: EmbeddingLike;
  layers: Phi3Block[];
  norm: RMSNorm;

  constructor(spec: Phi3Spec) {
    super();
    this.embed_tokens = new Embedding(spec.vocabSize, spec.hiddenSize);
    this.layers = Array.from({ length: spec.layers }, () => new Phi3Block(spec));
    this.norm = new RMSNorm(spec.hiddenSize, spec.rmsNormEps);
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

/** mlx-lm's phi3 has no sanitize: the weights load as they are. */
export class Phi3LM extends StackLM<Phi3Model> {
  constructor(spec: Phi3Spec) {
    super(new Phi3Model(spec), spec);
  }
}

function phi3Rope(c: ConfigReader, headDim: number): () => RotaryEmbedding {
  const dims = Math.trunc(headDim * c.number("partial_rotary_factor", 1));
  const base = c.number("rope_theta", 10000);
  const scaling = c.object("rope_scaling");
  if (scaling) {
    for (const key of ["long_factor", "type"]) {
      if (!(key in scaling)) throw new Error(`config.json: phi3 rope_scaling must contain "long_factor" and "type"`);
    }
  }
  const type = scaling?.type;
  if (scaling && type !== "longrope" && type !== "su" && type !== "linear") {
    // mlx-lm warns and runs without scaling; a silent change of the math is refused here.
    throw new Error(
      `config.json: phi3 rope_scaling type ${JSON.stringify(type)} is not supported (longrope, su, linear)`,
    );
  }
  if (type === "longrope" || type === "su") {
    const s = scaling as Record<string, unknown>;
    if (!("short_factor" in s)) throw new Error('config.json: phi3 rope_scaling needs "short_factor"');
    const long = s.long_factor;
    if (typeof long !== "number" && !(Array.isArray(long) && long.every((f) => typeof f === "number"))) {
      throw new Error("config.json: rope_scaling.long_factor must be a number or a list of numbers");
    }
    const maxPositions = c.number("max_position_embeddings", 131072);
    const original = c.number("original_max_position_embeddings", 4096);
    return () => new SuScaledRoPE(dims, base, maxPositions, original, long as number | number[]);
  }
  let scale = 1;
  if (type === "linear") {
    const factor = (scaling as Record<string, unknown>).factor;
    if (typeof factor !== "number") throw new Error("config.json: rope_scaling.factor must be a number");
    scale = 1 / factor;
  }
  const traditional = c.boolean("rope_traditional", false);
  return () => new RoPE(dims, { traditional, base, scale });
}

export function buildPhi3(config: ModelConfig): Phi3LM {
  const c = new ConfigReader(config);
  const hiddenSize = c.number("hidden_size");
  const heads = c.number("num_attention_heads");
  return new Phi3LM({
    vocabSize: c.number("vocab_size"),
    hiddenSize,
    intermediateSize: c.number("intermediate_size"),
    heads,
    kvHeads: c.optionalNumber("num_key_value_heads") ?? heads,
    layers: c.number("num_hidden_layers"),
    rmsNormEps: c.number("rms_norm_eps"),
    tieWordEmbeddings: c.boolean("tie_word_embeddings", false),
    rope: phi3Rope(c, Math.floor(hiddenSize / heads)),
  });
}
