// What the loader and the generator need of a language model, whatever its module tree:
// token ids [B, L] in, logits [B, L, vocab] out, one cache per layer, mlx-lm's sanitize rules.
// DecoderLM and every architecture file's model satisfy it.
import type { KVCache } from "../generate/kv-cache.ts";
import type { MxArray } from "../mx/array.ts";
import type { Module } from "../nn/module.ts";

export interface CausalLM extends Module {
  forward(inputs: MxArray, cache?: KVCache[]): MxArray;
  /** One cache per layer, for generation. */
  makeCache(): KVCache[];
  /** The checkpoint's tensors renamed / dropped / reshaped as mlx-lm's sanitize does. */
  sanitize(weights: Map<string, MxArray>): Map<string, MxArray>;
  /** The repeated blocks, as mlx-lm's `model.layers` property. */
  readonly layers: readonly Module[];
}
