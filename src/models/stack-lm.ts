// The shape most families share around their own blocks: Model.model = { embed_tokens, layers,
// norm ... } and Model.lm_head unless the embeddings are tied, a KV cache per layer.

import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import type { EmbeddingLike } from "../nn/layers/embedding.ts";
import { Linear, type LinearLike } from "../nn/layers/linear.ts";
import { Module } from "../nn/module.ts";
import { KVCache } from "./cache/kv-cache.ts";
import type { Padding } from "./cache/masks.ts";
import type { CausalLM } from "./causal-lm.ts";

/** The inner model: token ids in, final hidden states out. */
export interface TokenStack extends Module {
  embed_tokens: EmbeddingLike;
  layers: Module[];
  forward(inputs: MxArray, cache?: KVCache[], padding?: Padding): MxArray;
}

export interface HeadSpec {
  hiddenSize: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
}

export class StackLM<S extends TokenStack> extends Module implements CausalLM {
  model: S;
  lm_head?: LinearLike;

  constructor(model: S, spec: HeadSpec) {
    super();
    this.model = model;
    if (!spec.tieWordEmbeddings) this.lm_head = new Linear(spec.hiddenSize, spec.vocabSize, { bias: false });
  }

  static override readonly inputNames = ["inputs", "cache", "padding"];

  override forward(inputs: MxArray, cache?: KVCache[], padding?: Padding): MxArray {
    return mx.tidy(() => {
      const hidden = (this.model as TokenStack).call(inputs, cache, padding);
      return this.lm_head ? this.lm_head.call(hidden) : this.model.embed_tokens.asLinear(hidden);
    });
  }

  get layers(): S["layers"] {
    return this.model.layers;
  }

  makeCache(): KVCache[] {
    return this.model.layers.map(() => new KVCache());
  }

  /** No tensor renamed or dropped (families whose mlx-lm model has no sanitize). */
  sanitize(weights: Map<string, MxArray>): Map<string, MxArray> {
    return weights;
  }
}
