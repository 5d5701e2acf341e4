// Phi-3 / Phi-4-mini as mlx-lm's phi3: fused qkv_proj [q | k | v] and gate_up_proj [gate | up],
// partial_rotary_factor, rope_scaling longrope / su (SuScaledRoPE: long factors always, input scale
// on the rotated features) or linear; RMSNorm pre-norm decoder; lm_head unless tied.
// mlx-lm's phi3 has no sanitize: the weights load as they are.

import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { Linear, type LinearLike } from "../nn/layers/linear.ts";
import { type Offset, RoPE, RotaryEmbedding } from "../nn/layers/rope.ts";
import type { KVCache } from "./cache/kv-cache.ts";
import { LLAMA_NAMES } from "./llama-like.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { DecoderLM } from "./shared/decoder.ts";
import { GatedMLP } from "./shared/mlp.ts";
import { type AttentionMask, MultiHeadAttention, splitHeads } from "./shared/multihead.ts";
import { rmsNorm } from "./shared/norms.ts";
import { ResidualBlock } from "./shared/residual-block.ts";

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

export function buildPhi3(config: ModelConfig): DecoderLM {
  const c = new ConfigReader(config);
  const hiddenSize = c.number("hidden_size");
  const heads = c.number("num_attention_heads");
  const headDim = Math.floor(hiddenSize / heads);
  const spec: Phi3Spec = {
    vocabSize: c.number("vocab_size"),
    hiddenSize,
    intermediateSize: c.number("intermediate_size"),
    heads,
    kvHeads: c.optionalNumber("num_key_value_heads") ?? heads,
    layers: c.number("num_hidden_layers"),
    rmsNormEps: c.number("rms_norm_eps"),
    tieWordEmbeddings: c.boolean("tie_word_embeddings", false),
    rope: phi3Rope(c, headDim),
  };
  const { kvHeads, layers, vocabSize, intermediateSize: dMlp, rmsNormEps: eps } = spec;
  const names = { gateUp: "gate_up_proj", down: "down_proj" };
  return new DecoderLM({
    architecture: config.model_type,
    dims: { layers, dModel: hiddenSize, heads, kvHeads, headDim, vocabSize, dMlp },
    names: LLAMA_NAMES,
    block: () =>
      new ResidualBlock({
        mixer: ["self_attn", new Phi3Attention(spec)],
        mlp: ["mlp", new GatedMLP(hiddenSize, dMlp, { names })],
        norms: {
          beforeMixer: ["input_layernorm", rmsNorm(hiddenSize, eps)],
          beforeMlp: ["post_attention_layernorm", rmsNorm(hiddenSize, eps)],
        },
      }),
    finalNorm: () => rmsNorm(hiddenSize, eps),
    tieWordEmbeddings: spec.tieWordEmbeddings,
  });
}
