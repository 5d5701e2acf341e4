// A batch of prompts of different lengths, left-padded to the longest: what HookedModel runs and
// how to take each prompt's own positions back out of a padded result.

import { Padding } from "../models/cache/masks.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";

export class PaddedBatch {
  /** Token ids [B][L], each row's prompt after `leftPadding[b]` copies of `padId`. */
  readonly tokens: number[][];
  /** Each prompt's number of tokens. */
  readonly lengths: number[];
  /** Padding positions at the start of each row (L - lengths[b]). */
  readonly leftPadding: number[];
  /** The id in padding positions (the tokenizer's pad token, else 0); the models never read it. */
  readonly padId: number;

  constructor(prompts: readonly (readonly number[])[], padId: number) {
    if (prompts.length === 0) throw new Error("a batch needs at least one prompt");
    prompts.forEach((ids, b) => {
      if (ids.length === 0) throw new Error(`prompt ${b} of the batch has no tokens; every prompt needs one at least`);
    });
    const length = Math.max(...prompts.map((ids) => ids.length));
    this.padId = padId;
    this.lengths = prompts.map((ids) => ids.length);
    this.leftPadding = this.lengths.map((n) => length - n);
    this.tokens = prompts.map((ids, b) => [...new Array(this.leftPadding[b]).fill(padId), ...ids]);
  }

  /** Positions per row (the longest prompt's length). */
  get length(): number {
    return (this.tokens[0] as number[]).length;
  }

  /** Whether some row is padded (prompts of different lengths). */
  get padded(): boolean {
    return this.leftPadding.some((p) => p > 0);
  }

  /** [B][L]: 1 at real tokens, 0 at padding. */
  get attentionMask(): number[][] {
    return this.leftPadding.map((p) => Array.from({ length: this.length }, (_, i) => (i < p ? 0 : 1)));
  }

  /** The padding as the models take it (undefined when no row is padded). */
  get padding(): Padding | undefined {
    return this.padded ? new Padding(this.leftPadding) : undefined;
  }

  /**
   * Prompt `row`'s own part of a padded result: index `row` of axis 0, and only its real positions
   * on each axis of `positionAxes` (default [1]: logits and activations [B, L, ...]; attention
   * patterns [B, H, Lq, Lk] take [2, 3]). The result equals that prompt's unbatched one.
   */
  select(array: MxArray, row: number, positionAxes: readonly number[] = [1]): MxArray {
    if (!Number.isInteger(row) || row < 0 || row >= this.lengths.length) {
      throw new Error(`row ${row} is not in the batch (rows 0 to ${this.lengths.length - 1})`);
    }
    if (array.shape[0] !== this.lengths.length) {
      throw new Error(`the array's shape [${array.shape}] has no batch of ${this.lengths.length} rows on axis 0`);
    }
    for (const axis of positionAxes) {
      if (!Number.isInteger(axis) || axis < 1 || axis >= array.ndim) {
        throw new Error(`position axis ${axis} is not one of axes 1 to ${array.ndim - 1} of shape [${array.shape}]`);
      }
    }
    const start = this.leftPadding[row] as number;
    const indices = array.shape.map((size, axis): number | string => {
      if (axis === 0) return row;
      if (!positionAxes.includes(axis)) return ":";
      if (size !== this.length) {
        throw new Error(`axis ${axis} of shape [${array.shape}] has ${size} positions, the batch ${this.length}`);
      }
      return `${start}:`;
    });
    return mx.index(array, ...indices);
  }
}
