// A cache of fixed slots of state arrays, as mlx-lm's ArraysCache: the short-convolution layers
// of LFM2 keep their last kernel-1 inputs in slot 0.
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";

export class ArraysCache {
  #slots: (MxArray | undefined)[];

  constructor(size: number) {
    this.#slots = new Array(size).fill(undefined);
  }

  get(slot: number): MxArray | undefined {
    return this.#slots[slot];
  }

  /** Stores a state array (it outlives any tidy scope) and releases the one it replaces. */
  set(slot: number, value: MxArray): void {
    mx.keep(value);
    const old = this.#slots[slot];
    if (old !== value) old?.dispose();
    this.#slots[slot] = value;
  }

  /** The arrays stored, as mlx-lm's state. */
  get state(): MxArray[] {
    return this.#slots.filter((a) => a !== undefined);
  }

  dispose(): void {
    for (const a of this.#slots) a?.dispose();
    this.#slots.fill(undefined);
  }
}
