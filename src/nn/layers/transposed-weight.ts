// A weight's transpose, made once and reused: a decode step multiplies by over a hundred
// transposed weights, and making each transpose anew costs an op (and a primitive for MLX to
// schedule) per product per step. The transpose is a view of the weight's memory with swapped
// strides, whether made once or at every call, so the products are the same kernels on the same
// data, bit for bit.
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { isComputed } from "../../mx/runtime.ts";

export class TransposedWeight {
  #of: MxArray | undefined;
  #view: MxArray | undefined;

  /**
   * Runs `use` with Wᵀ for `weight`. The transpose is kept only for a computed weight, and only
   * while the module holds that same Array: a new or disposed weight, or a transform's tracer,
   * gets a transpose of its own, freed when `use` returns. Reuse is checked by identity at every
   * call, so assigning a new weight needs no notice.
   */
  with<T>(weight: MxArray, use: (transposed: MxArray) => T): T {
    if (weight !== this.#of || weight.disposed || !this.#view || this.#view.disposed) {
      this.release();
      // A disposed weight throws here, as it would without the cache.
      if (!isComputed(weight)) {
        const transposed = mx.transpose(weight);
        try {
          return use(transposed);
        } finally {
          transposed.dispose();
        }
      }
      this.#of = weight;
      this.#view = mx.keep(mx.transpose(weight));
    }
    return use(this.#view);
  }

  /** Frees the kept transpose (it holds the weight's memory alive). */
  release(): void {
    this.#view?.dispose();
    this.#view = undefined;
    this.#of = undefined;
  }
}
