// GPT-NeoX (Pythia) as mlx-lm's gpt_neox: query_key_value fused per head ([q|k|v] of head 0, then
// head 1 ...), partial rotary (rotary_pct), LayerNorm, gelu_approx MLP of 4·hidden, parallel or
// sequential residual (use_parallel_residual), untied model.embed_out.

import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { geluApprox } from "../nn/layers/activations.ts";
import { Embedding, type EmbeddingLike } from "../nn/layers/embedding.ts";
import { Linear, type LinearLike } from "../nn/layers/linear.ts";
import { LayerNorm } from "../nn/layers/normalization.ts";
import { RoPE } from "../nn/layers/rope.ts";
import { Module } from "../nn/module.ts";
import { KVCache } from "./cache/kv-cache.ts";
import { createAttentionMask, type Padding } from "./cache/masks.ts";
import type { CausalLM } from "./causal-lm.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { type AttentionMask, MultiHeadAttention } from "./shared/multihead.ts";
import { ResidualBlock } from "./shared/residual-block.ts";

interface GPTNeoXSpec {
  vocabSize: number;
  hiddenSize: number;
  heads: number;
  layers: number;
  eps: number;
  rotaryBase: number;
  rotaryPct: number;
  parallelResidual: boolean;
}

export class GPTNeoXAttention extends MultiHeadAttention {
  query_key_value: LinearLike;
  dense: LinearLike;
  rope: RoPE;
  readonly _heads: number;
  readonly _headDim: number;
  readonly _scale: number;

  constructor(spec: GPTNeoXSpec) {
    super();
    if (spec.hiddenSize % spec.heads !== 0) {
      throw new Error("gpt_neox: hidden_size must be divisible by num_attention_heads");
    }
    this._heads = spec.heads;
    this._headDim = spec.hiddenSize / spec.heads;
    this._scale = this._headDim ** -0.5;
    this.rope = new RoPE(Math.trunc(this._headDim * spec.rotaryPct), { traditional: false, base: spec.rotaryBase });
    this.query_key_value = new Linear(spec.hiddenSize, 3 * spec.hiddenSize, { bias: true });
    this.dense = new Linear(spec.hiddenSize, spec.hiddenSize, { bias: true });
  }

  static override readonly inputNames = ["x", "mask", "cache"];

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const [batch, length] = x.shape as [number, number];
      const qkv = mx.reshape(this.query_key_value.call(x), [batch, length, this._heads, 3 * this._headDim]);
      const [q, k, v] = mx.split(qkv, 3, -1).map((a) => mx.transpose(a, [0, 2, 1, 3])) as [MxArray, MxArray, MxArray];
      const out = this.attend(q, k, v, { scale: this._scale, mask, cache, rope: this.rope });
      return this.project(out, this.dense);
    });
  }
}

export class GPTNeoXMLP extends Module {
  dense_h_to_4h: LinearLike;
  dense_4h_to_h: LinearLike;

  constructor(hiddenSize: number) {
    super();
    this.dense_h_to_4h = new Linear(hiddenSize, 4 * hiddenSize, { bias: true });
    this.dense_4h_to_h = new Linear(4 * hiddenSize, hiddenSize, { bias: true });
  }

  override forward(x: MxArray): MxArray {
    return mx.tidy(() => this.dense_4h_to_h.call(geluApprox(this.dense_h_to_4h.call(x))));
  }
}

export class GPTNeoXBlock extends ResidualBlock {
  attention: GPTNeoXAttention;
  mlp: GPTNeoXMLP;
  input_layernorm: LayerNorm;
  post_attention_layernorm: LayerNorm;
  readonly _parallelResidual: boolean;

  constructor(spec: GPTNeoXSpec) {
    super();
    this.attention = new GPTNeoXAttention(spec);
    this.mlp = new GPTNeoXMLP(spec.hiddenSize);
    this.input_layernorm = new LayerNorm(spec.hiddenSize, { eps: spec.eps });
    this.post_attention_layernorm = new LayerNorm(spec.hiddenSize, { eps: spec.eps });
    this._parallelResidual = spec.parallelResidual;
    if (spec.parallelResidual) this.hook_resid_mid = undefined;
  }

  static override readonly inputNames = ["x", "mask", "cache"];

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const attn = this.attention.call(this.input_layernorm.call(x), mask, cache);
      if (this._parallelResidual) {
        // (attn + ffn) + x, in mlx-lm's order of additions.
        const ffn = this.mlp.call(this.post_attention_layernorm.call(x));
        return mx.add(mx.add(this.hook_attn_out.call(attn), this.hook_mlp_out.call(ffn)), x);
      }
      const h = this.addAttention(x, attn);
      return this.addMlp(h, this.mlp.call(this.post_attention_layernorm.call(h)));
    });
  }
}

export class GPTNeoXModel extends Module {
  embed_in: EmbeddingLike;
  embed_out: LinearLike;
  h: GPTNeoXBlock[];
  final_layer_norm: LayerNorm;

  constructor(spec: GPTNeoXSpec) {
    super();
    this.embed_in = new Embedding(spec.vocabSize, spec.hiddenSize);
    this.embed_out = new Linear(spec.hiddenSize, spec.vocabSize, { bias: false });
    this.h = Array.from({ length: spec.layers }, () => new GPTNeoXBlock(spec));
    this.final_layer_norm = new LayerNorm(spec.hiddenSize, { eps: spec.eps });
  }

  /** Logits: the head lives inside the model here, as in mlx-lm. */
  static override readonly inputNames = ["inputs", "cache", "padding"];

  override forward(inputs: MxArray, cache?: KVCache[], padding?: Padding): MxArray {
    return mx.tidy(() => {
      let h = this.embed_in.call(inputs);
      const mask = createAttentionMask(h, cache?.[0], undefined, false, padding);
      this.h.forEach((block, i) => {
        h = block.call(h, mask, cache?.[i]);
      });
      return this.embed_out.call(this.final_layer_norm.call(h));
    });
  }
}

export class GPTNeoXLM extends Module implements CausalLM {
  model: GPTNeoXModel;

  constructor(spec: GPTNeoXSpec) {
    super();
    this.model = new GPTNeoXModel(spec);
  }

  static override readonly inputNames = ["inputs", "cache", "padding"];

  override forward(inputs: MxArray, cache?: KVCache[], padding?: Padding): MxArray {
    return this.model.call(inputs, cache, padding);
  }

  get layers(): GPTNeoXBlock[] {
    return this.model.h;
  }

  makeCache(): KVCache[] {
    return this.model.h.map(() => new KVCache());
  }

  /** Drops the PyTorch buffers, prefixes "model.", maps gpt_neox.layers. → h. and gpt_neox. → "". */
  sanitize(weights: Map<string, MxArray>): Map<string, MxArray> {
    const out = new Map<string, MxArray>();
    const buffers = [".attention.bias", ".attention.masked_bias", ".attention.rotary_emb.inv_freq"];
    for (const [name, value] of weights) {
      if (buffers.some((suffix) => name.endsWith(suffix))) continue;
      const prefixed = name.startsWith("model.") ? name : `model.${name}`;
      out.set(prefixed.replaceAll(".gpt_neox.layers.", ".h.").replaceAll(".gpt_neox.", "."), value);
    }
    return out;
  }
}

export function buildGPTNeoX(config: ModelConfig): GPTNeoXLM {
  const c = new ConfigReader(config);
  return new GPTNeoXLM({
    vocabSize: c.number("vocab_size"),
    hiddenSize: c.number("hidden_size"),
    heads: c.number("num_attention_heads"),
    layers: c.number("num_hidden_layers"),
    eps: c.number("layer_norm_eps"),
    rotaryBase: c.number("rotary_emb_base"),
    rotaryPct: c.number("rotary_pct"),
    parallelResidual: c.boolean("use_parallel_residual", true),
  });
}
