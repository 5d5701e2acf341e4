// The contrast between two sets of residual-stream vectors: the difference of their means (a
// steering direction), its norm, and the typical norm of the vectors it was taken from.
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";

export interface MeanDifference {
  /** mean(positive) - mean(negative), float32 [d]. */
  vector: Float32Array;
  /** Its L2 norm. */
  norm: number;
  /** The mean L2 norm of every vector read (rows of both sets). */
  residualNorm: number;
}

/**
 * The difference of the means of two sets of prompts. Each prompt gives rows [n, d] (one row, or
 * several positions): a prompt's rows are averaged first, so each prompt counts once whatever its
 * length; then the prompts of each set are averaged. All in float32.
 */
export function meanDifference(positive: readonly MxArray[], negative: readonly MxArray[]): MeanDifference {
  if (positive.length === 0 || negative.length === 0) {
    throw new Error("a mean difference needs at least one prompt in each set");
  }
  return mx.tidy(() => {
    const setMean = (prompts: readonly MxArray[]) =>
      mx.mean(mx.stack(prompts.map((rows) => mx.mean(mx.astype(rows, "float32"), { axis: 0 }))), { axis: 0 });
    const vector = mx.subtract(setMean(positive), setMean(negative));
    const rows = mx.concatenate(
      [...positive, ...negative].map((r) => mx.astype(r, "float32")),
      0,
    );
    const norms = mx.sqrt(mx.sum(mx.square(rows), { axis: -1 }));
    return {
      vector: vector.toTypedArray() as Float32Array,
      norm: mx.sqrt(mx.sum(mx.square(vector))).item() as number,
      residualNorm: mx.mean(norms).item() as number,
    };
  });
}

/** The share of the residual norm the suggested steering adds (see suggestedAlpha). */
export const STEERING_SHARE = 0.5;

/**
 * The alpha at which alpha·v has STEERING_SHARE of the mean residual norm where v was read: large
 * enough to move the next-token distribution, small enough that the stream's own content still
 * dominates. Rounded to two significant digits.
 */
export function suggestedAlpha(norm: number, residualNorm: number): number {
  if (!(norm > 0)) return 0;
  return Number(((STEERING_SHARE * residualNorm) / norm).toPrecision(2));
}
