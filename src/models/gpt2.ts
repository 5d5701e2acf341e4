// GPT-2 as mlx-lm's gpt2: learned positions (wpe), fused c_attn [q | k | v] with bias, LayerNorm,
// gelu_approx MLP of 4·n_embd, head tied to wte. Module paths: model.h.N.{ln_1, attn.c_attn, ...}.

import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { geluApprox } from "../nn/layers/activations.ts";
import { Embedding, type EmbeddingLike } from "../nn/layers/embedding.ts";
import { Linear, type LinearLike } from "../nn/layers/linear.ts";
import { LayerNorm } from "../nn/layers/normalization.ts";
import { Module } from "../nn/module.ts";
import { KVCache } from "./cache/kv-cache.ts";
import { createAttentionMask, type Padding } from "./cache/masks.ts";
import type { CausalLM } from "./causal-lm.ts";
import { FcMLP } from "./fc-mlp.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { type AttentionMask, MultiHeadAttention, splitHeads } from "./shared/multihead.ts";
import { ResidualBlock } from "./shared/residual-block.ts";

interface GPT2Spec {
  vocabSize: number;
  dims: number;
  heads: number;
  layers: number;
  positions: number;
  eps: number;
}

export class GPT2Attention extends MultiHeadAttention {
  c_attn: LinearLike;
  c_proj: LinearLike;
  readonly _heads: number;
  readonly _scale: number;

  constructor(spec: GPT2Spec) {
    super();
    if (spec.dims % spec.heads !== 0) throw new Error("gpt2: n_embd must be divisible by n_head");
    this._heads = spec.heads;
    this._scale = (spec.dims / spec.heads) ** -0.5;
    this.c_attn = new Linear(spec.dims, 3 * spec.dims, { bias: true });
    this.c_proj = new Linear(spec.dims, spec.dims, { bias: true });
  }

  static override readonly inputNames = ["x", "mask", "cache"];

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const [q, k, v] = mx.split(this.c_attn.call(x), 3, -1) as [MxArray, MxArray, MxArray];
      const heads = (a: MxArray) => splitHeads(a, this._heads);
      const out = this.attend(heads(q), heads(k), heads(v), { scale: this._scale, mask, cache });
      return this.project(out, this.c_proj);
    });
  }
}

export class GPT2Block extends ResidualBlock {
  attn: GPT2Attention;
  mlp: FcMLP;
  ln_1: LayerNorm;
  ln_2: LayerNorm;

  constructor(spec: GPT2Spec) {
    super();
    this.attn = new GPT2Attention(spec);
    this.mlp = new FcMLP(spec.dims, 4 * spec.dims, geluApprox);
    this.ln_1 = new LayerNorm(spec.dims, { eps: spec.eps });
    this.ln_2 = new LayerNorm(spec.dims, { eps: spec.eps });
  }

  static override readonly inputNames = ["x", "mask", "cache"];

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const h = this.addAttention(x, this.attn.call(this.ln_1.call(x), mask, cache));
      return this.addMlp(h, this.mlp.call(this.ln_2.call(h)));
    });
  }
}

export class GPT2Model extends Module {
  wte: EmbeddingLike;
  wpe: EmbeddingLike;
  h: GPT2Block[];
  ln_f: LayerNorm;

  constructor(spec: GPT2Spec) {
    super();
    this.wte = new Embedding(spec.vocabSize, spec.dims);
    this.wpe = new Embedding(spec.positions, spec.dims);
    this.h = Array.from({ length: spec.layers }, () => new GPT2Block(spec));
    this.ln_f = new LayerNorm(spec.dims, { eps: spec.eps });
  }

  static override readonly inputNames = ["inputs", "cache", "padding"];

  override forward(inputs: MxArray, cache?: KVCache[], padding?: Padding): MxArray {
    return mx.tidy(() => {
      const length = inputs.shape[1] as number;
      const offset = cache?.[0]?.offset ?? 0;
      let h = this.wte.call(inputs);
      // A padded batch's positions count from each row's first real token ([B, L]).
      const positions = padding?.any ? padding.positions(length) : mx.add(mx.arange(length), offset);
      h = mx.add(h, this.wpe.call(positions));
      const mask = createAttentionMask(h, cache?.[0], undefined, false, padding);
      this.h.forEach((block, i) => {
        h = block.call(h, mask, cache?.[i]);
      });
      return this.ln_f.call(h);
    });
  }
}

export class GPT2LM extends Module implements CausalLM {
  model: GPT2Model;

  constructor(spec: GPT2Spec) {
    super();
    this.model = new GPT2Model(spec);
  }

  static override readonly inputNames = ["inputs", "cache", "padding"];

  override forward(inputs: MxArray, cache?: KVCache[], padding?: Padding): MxArray {
    return mx.tidy(() => this.model.wte.asLinear(this.model.call(inputs, cache, padding)));
  }

  get layers(): GPT2Block[] {
    return this.model.h;
  }

  makeCache(): KVCache[] {
    return this.model.h.map(() => new KVCache());
  }

  /**
   * Hugging Face GPT-2 checkpoints (names without "model.") store Conv1D weights [in, out]:
   * c_attn, c_proj and c_fc are transposed, attn.bias (the causal-mask buffer) dropped, and every
   * name gets the "model." prefix.
   */
  sanitize(weights: Map<string, MxArray>): Map<string, MxArray> {
    const out = new Map<string, MxArray>();
    const conv1d = /^h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
    for (const [name, value] of weights) {
      if (/^h\.\d+\.attn\.bias$/.test(name) && this.#isLayer(name)) continue;
      const array = conv1d.test(name) && this.#isLayer(name) ? mx.transpose(value, [1, 0]) : value;
      out.set(name.startsWith("model.") ? name : `model.${name}`, array);
    }
    return out;
  }

  // mlx-lm's rules name h.0 ... h.(n_layer-1) only.
  #isLayer(name: string): boolean {
    return Number(name.split(".")[1]) < this.model.h.length;
  }
}

export function buildGPT2(config: ModelConfig): GPT2LM {
  const c = new ConfigReader(config);
  return new GPT2LM({
    vocabSize: c.number("vocab_size"),
    dims: c.number("n_embd"),
    heads: c.number("n_head"),
    layers: c.number("n_layer"),
    positions: c.number("n_positions"),
    eps: c.number("layer_norm_epsilon"),
  });
}
