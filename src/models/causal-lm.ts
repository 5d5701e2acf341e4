// What the loader and the generator need of a language model, whatever its module tree:
// token ids [B, L] in, logits [B, L, vocab] out, one cache per layer, mlx-lm's sanitize rules.
// DecoderLM (src/models/shared/decoder.ts), which every architecture runs on, satisfies it.
import type { MxArray } from "../mx/array.ts";
import type { Module } from "../nn/module.ts";
import type { Padding } from "./cache/masks.ts";
import type { ModelLayout } from "./layout.ts";

/** The per-layer state a model keeps across generation steps (KVCache, RotatingKVCache, ArraysCache ...). */
export interface LayerCache {
  dispose(): void;
}

export interface CausalLM extends Module {
  /**
   * Logits of token ids [B, L]. With `padding` (a batch of prompts left-padded to one length, no
   * cache), each row's real positions get the numbers they get alone.
   */
  forward(inputs: MxArray, cache?: LayerCache[], padding?: Padding): MxArray;
  /**
   * The last position's logits [B, 1, vocab] when the stream `hidden` [B, L, d] enters block
   * `start`, the blocks before it not run (patching and ablation skip the unchanged layers).
   */
  forwardFrom(start: number, hidden: MxArray, cache?: LayerCache[]): MxArray;
  /** One cache per layer, of the kind each layer needs, for generation. */
  makeCache(): LayerCache[];
  /** The checkpoint's tensors renamed / dropped / reshaped as mlx-lm's sanitize does. */
  sanitize(weights: Map<string, MxArray>): Map<string, MxArray>;
  /** Where the model keeps its embeddings, final norm and unembedding, its logit transform and sizes. */
  readonly layout: ModelLayout;
  /** The repeated blocks, as mlx-lm's `model.layers` property. */
  readonly layers: readonly Module[];
}
