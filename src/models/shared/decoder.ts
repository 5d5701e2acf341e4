// The one decoder stack and the one language-model shell every family runs on, configured by data
// and a block factory (see residual-block.ts for the block):
//   LM.model = { <token embedding>, <position embedding>?, <head>?, <blocks>[i], <final norm> }
//   LM.lm_head unless the embeddings are tied or the head lives inside the stack (GPT-NeoX).
// Child names are each family's (mlx-lm's attribute paths): llama's embed_tokens / layers / norm,
// GPT-2's wte / wpe / h / ln_f, GPT-NeoX's embed_in / embed_out / h / final_layer_norm ...
// The forward pass: embed (scaled where the family scales), add learned positions (GPT-2), one
// mask per kind of layer (made from the cache of the first layer of that kind, as mlx-lm does),
// the blocks, the final norm, the head, then the fixed transform of the logits.
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { Embedding, type EmbeddingLike } from "../../nn/layers/embedding.ts";
import { Linear, type LinearLike } from "../../nn/layers/linear.ts";
import { Module } from "../../nn/module.ts";
import { ArraysCache } from "../cache/arrays-cache.ts";
import { KVCache } from "../cache/kv-cache.ts";
import { createAttentionMask, type Padding } from "../cache/masks.ts";
import { RotatingKVCache } from "../cache/rotating-kv-cache.ts";
import type { CausalLM, LayerCache } from "../causal-lm.ts";
import type { ModelDims, ModelLayout } from "../layout.ts";
import type { AttentionMask } from "./multihead.ts";
import type { NormLayer } from "./norms.ts";
import type { ResidualBlock } from "./residual-block.ts";

/**
 * How a layer mixes positions, which decides its mask and its cache: attention over every earlier
 * position (a KVCache), over a sliding window (a RotatingKVCache of that size), or LFM2's short
 * convolution (a one-slot ArraysCache; its "mask" is the real tokens of a padded batch).
 */
export type Mixing = { kind: "attention"; window?: number } | { kind: "convolution" };

/** The children of the stack, by their names in the family's checkpoints. */
export interface StackNames {
  tokenEmbedding: string;
  /** Learned positions added to the token embeddings (GPT-2's wpe). */
  positionEmbedding?: string;
  blocks: string;
  finalNorm: string;
  /** The untied head inside the stack, where the family keeps it there (GPT-NeoX's embed_out). */
  headInStack?: string;
}

export interface DecoderSpec {
  /** The model_type as run. */
  architecture: string;
  dims: ModelDims;
  names: StackNames;
  /** Block i, with the family's attention, MLP and norms. */
  block: (layer: number) => ResidualBlock;
  finalNorm: () => NormLayer;
  /** How each layer mixes positions (full attention in every layer unless given). */
  mixing?: readonly Mixing[];
  /** The rows of the learned position table (with names.positionEmbedding). */
  positions?: number;
  /** The head is the token embedding (tied), else a Linear (lm_head, or names.headInStack). */
  tieWordEmbeddings: boolean;
  /** Applied to the token embeddings (Gemma's sqrt(hidden) scale, Granite's embedding_multiplier). */
  scaleEmbeddings?: (h: MxArray) => MxArray;
  /** Masks always as arrays, never the fused kernel's "causal" (Gemma 2's written-out attention). */
  maskAsArray?: boolean;
  /** Logits soft-capped as tanh(x / cap) * cap (Gemma 2's final_logit_softcapping). */
  logitSoftcap?: number;
  /** The soft-cap the blocks' attention applies to its scores, declared for the layout (Gemma 2). */
  attentionSoftcap?: number;
  /** Logits divided by this (Granite's logits_scaling). */
  logitsScaling?: number;
  /** The checkpoint tensor rules mlx-lm applies for this family (none unless given). */
  sanitize?: (weights: Map<string, MxArray>, model: DecoderLM) => Map<string, MxArray>;
}

const FULL_ATTENTION: Mixing = { kind: "attention" };

/** The inner model: token ids in, final hidden states out (logits where the head is inside). */
export class DecoderStack extends Module {
  static override readonly inputNames = ["inputs", "cache", "padding"];

  readonly _spec: DecoderSpec;
  readonly _mixing: readonly Mixing[];

  constructor(spec: DecoderSpec) {
    super();
    const { dims, names } = spec;
    this._spec = spec;
    this._mixing = spec.mixing ?? new Array(dims.layers).fill(FULL_ATTENTION);
    if (this._mixing.length !== dims.layers) {
      throw new Error(`${spec.architecture}: ${this._mixing.length} layer kinds for ${dims.layers} layers`);
    }
    const children = this as unknown as Record<string, unknown>;
    children[names.tokenEmbedding] = new Embedding(dims.vocabSize, dims.dModel);
    if (names.positionEmbedding !== undefined) {
      if (spec.positions === undefined) throw new Error(`${spec.architecture}: learned positions need a table size`);
      children[names.positionEmbedding] = new Embedding(spec.positions, dims.dModel);
    }
    if (names.headInStack !== undefined) {
      children[names.headInStack] = new Linear(dims.dModel, dims.vocabSize, { bias: false });
    }
    children[names.blocks] = Array.from({ length: dims.layers }, (_, i) => spec.block(i));
    children[names.finalNorm] = spec.finalNorm();
  }

  get tokenEmbedding(): EmbeddingLike {
    return this.#child(this._spec.names.tokenEmbedding) as EmbeddingLike;
  }

  get blocks(): ResidualBlock[] {
    return this.#child(this._spec.names.blocks) as ResidualBlock[];
  }

  get finalNorm(): NormLayer {
    return this.#child(this._spec.names.finalNorm) as NormLayer;
  }

  override forward(inputs: MxArray, cache?: LayerCache[], padding?: Padding): MxArray {
    return mx.tidy(() => {
      const { names, scaleEmbeddings } = this._spec;
      let h = this.tokenEmbedding.call(inputs);
      if (scaleEmbeddings) h = scaleEmbeddings(h);
      if (names.positionEmbedding !== undefined) {
        const length = inputs.shape[1] as number;
        const offset = (cache?.[0] as KVCache | undefined)?.offset ?? 0;
        // A padded batch's positions count from each row's first real token ([B, L]).
        const positions = padding?.any ? padding.positions(length) : mx.arange(offset, offset + length);
        h = mx.add(h, (this.#child(names.positionEmbedding) as EmbeddingLike).call(positions));
      }
      return this.runBlocks(h, 0, cache, padding);
    });
  }

  /**
   * The stream `h` [B, L, d] entering block `start` (the positions after the cache's), through
   * blocks start.., the final norm and a head kept in the stack. `forward` is this from block 0;
   * a later start skips blocks whose outputs are already known (patching, ablation). With
   * `lastPosition`, only the last position goes on after the blocks.
   */
  runBlocks(h: MxArray, start: number, cache?: LayerCache[], padding?: Padding, lastPosition = false): MxArray {
    const { names, maskAsArray } = this._spec;
    if (!Number.isInteger(start) || start < 0 || start > this.blocks.length) {
      throw new Error(`start block must be an integer from 0 to ${this.blocks.length}, got ${start}`);
    }
    return mx.tidy(() => {
      // One attention mask per window, from the cache of the first layer run with that window.
      const masks = new Map<number | undefined, AttentionMask>();
      // Convolution layers take the real tokens of a padded batch, else nothing.
      let realTokens: MxArray | null | undefined;
      this.blocks.forEach((block, i) => {
        if (i < start) return;
        const mixing = this._mixing[i] as Mixing;
        let mask: AttentionMask;
        if (mixing.kind === "convolution") {
          realTokens ??= padding?.any ? padding.realTokens(h.shape[1] as number) : null;
          mask = realTokens;
        } else {
          const layerCache = cache?.[i] as KVCache | undefined;
          if (!masks.has(mixing.window)) {
            masks.set(mixing.window, createAttentionMask(h, layerCache, mixing.window, maskAsArray ?? false, padding));
          }
          mask = masks.get(mixing.window) ?? null;
        }
        h = block.call(h, mask, cache?.[i]);
      });
      if (lastPosition) h = mx.index(h, ":", `${(h.shape[1] as number) - 1}:`, ":");
      h = this.finalNorm.call(h);
      return names.headInStack === undefined ? h : (this.#child(names.headInStack) as LinearLike).call(h);
    });
  }

  #child(name: string): unknown {
    return (this as unknown as Record<string, unknown>)[name];
  }
}

/** A causal language model: token ids [B, L] in, logits [B, L, vocab] out. */
export class DecoderLM extends Module implements CausalLM {
  static override readonly inputNames = ["inputs", "cache", "padding"];

  model: DecoderStack;
  lm_head?: LinearLike;
  readonly _spec: DecoderSpec;

  constructor(spec: DecoderSpec) {
    super();
    this._spec = spec;
    this.model = new DecoderStack(spec);
    if (!spec.tieWordEmbeddings && spec.names.headInStack === undefined) {
      this.lm_head = new Linear(spec.dims.dModel, spec.dims.vocabSize, { bias: false });
    }
  }

  override forward(inputs: MxArray, cache?: LayerCache[], padding?: Padding): MxArray {
    return mx.tidy(() => this.#logits(this.model.call(inputs, cache, padding)));
  }

  /**
   * The last position's logits [B, 1, vocab] when the stream `hidden` [B, L, d] enters block
   * `start` (L positions after the cache's): blocks start.. run with their hooks, the blocks before
   * are not run (nor the stack's own hooks). Patching and ablation start each edited run where its
   * edit is, from the unedited run's stream.
   */
  forwardFrom(start: number, hidden: MxArray, cache?: LayerCache[]): MxArray {
    return mx.tidy(() => this.#logits(this.model.runBlocks(hidden, start, cache, undefined, true)));
  }

  #logits(hidden: MxArray): MxArray {
    let out: MxArray;
    if (this._spec.names.headInStack !== undefined) out = hidden;
    else out = this.lm_head ? this.lm_head.call(hidden) : this.model.tokenEmbedding.asLinear(hidden);
    const cap = this._spec.logitSoftcap;
    if (cap !== undefined) out = mx.multiply(mx.tanh(mx.divide(out, cap)), cap);
    if (this._spec.logitsScaling !== undefined) out = mx.divide(out, this._spec.logitsScaling);
    return out;
  }

  get layers(): ResidualBlock[] {
    return this.model.blocks;
  }

  /** Where this model keeps its embeddings, final norm and head (the head as the weights loaded it). */
  get layout(): ModelLayout {
    const { architecture, dims, names, logitSoftcap, logitsScaling, attentionSoftcap } = this._spec;
    const inStack = (name: string) => `model.${name}`;
    let unembedding = inStack(names.tokenEmbedding);
    if (names.headInStack !== undefined) unembedding = inStack(names.headInStack);
    else if (this.lm_head !== undefined) unembedding = "lm_head";
    return {
      architecture,
      blocks: inStack(names.blocks),
      tokenEmbedding: inStack(names.tokenEmbedding),
      ...(names.positionEmbedding === undefined ? {} : { positionEmbedding: inStack(names.positionEmbedding) }),
      finalNorm: inStack(names.finalNorm),
      unembedding,
      ...(logitSoftcap === undefined ? {} : { logitSoftcap }),
      ...(logitsScaling === undefined ? {} : { logitsScaling }),
      ...(attentionSoftcap === undefined ? {} : { attentionSoftcap }),
      mixing: this.model._mixing.map((m) => (m.kind === "convolution" ? "convolution" : (m.window ?? "attention"))),
      dims: { ...dims },
    };
  }

  /** Each layer's cache for generation, of the kind its mixing needs. */
  makeCache(): LayerCache[] {
    return this.model._mixing.map((mixing) => {
      if (mixing.kind === "convolution") return new ArraysCache(1);
      return mixing.window === undefined ? new KVCache() : new RotatingKVCache(mixing.window);
    });
  }

  /** Applies mlx-lm's checkpoint rules for this family (dropped or renamed tensors) before loading. */
  sanitize(weights: Map<string, MxArray>): Map<string, MxArray> {
    return this._spec.sanitize ? this._spec.sanitize(weights, this) : weights;
  }

  /** Drops the untied head (a checkpoint without lm_head.weight: Gemma 3 then reads the embeddings). */
  tieHead(): void {
    this.lm_head?.dispose();
    this.lm_head = undefined;
  }
}
