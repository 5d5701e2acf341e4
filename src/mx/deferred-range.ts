// Index arrays whose range check is left to their owner (not part of the public mx API).
//
// mx.take checks an index array by evaluating it, which waits for everything the array depends
// on. Generation feeds the token the model is still computing back as the next step's input, and
// builds that step's graph before the token is known; waiting there would undo the overlap. So
// the generator marks that input: take then clamps it into range inside the graph (whatever its
// values, nothing is read out of bounds, and in-range values pass through unchanged) and records
// the extent it indexed; the owner checks the value against that extent once it reads it.
import type { MxArray } from "./array.ts";
import { array, astype } from "./creation.ts";
import { clip, minimum } from "./elementwise.ts";

export interface DeferredRange {
  /** The smallest axis size the positions have indexed so far (Infinity until they index one). */
  extent: number;
}

const deferred = new WeakMap<MxArray, DeferredRange>();

/** Marks `positions` so that take clamps them instead of evaluating them; check `extent` later. */
export function deferRangeCheck(positions: MxArray): DeferredRange {
  let range = deferred.get(positions);
  if (!range) {
    range = { extent: Number.POSITIVE_INFINITY };
    deferred.set(positions, range);
  }
  return range;
}

/** Whether `positions` were marked by deferRangeCheck (their values are not known yet). */
export function isDeferred(positions: MxArray): boolean {
  return deferred.has(positions);
}

/** Whether `value` is a valid position for the extent recorded (negative ones count from the end). */
export function inDeferredRange(value: number, range: DeferredRange): boolean {
  return value >= -range.extent && value < range.extent;
}

/**
 * For marked positions indexing an axis of `size`: records the extent and returns the positions
 * clamped to [-size, size - 1] (a new array the caller disposes). Undefined for unmarked ones.
 */
export function clampDeferred(positions: MxArray, size: number): MxArray | undefined {
  const range = deferred.get(positions);
  if (!range) return undefined;
  range.extent = Math.min(range.extent, size);
  // A sampler's argmax or categorical draw is uint32: only the upper bound can be passed, and one
  // minimum (in that dtype, with no casts) bounds it, where the general clip below takes five ops
  // a decode step.
  if (positions.dtype === "uint32" || positions.dtype === "uint64") {
    const last = array(size - 1, positions.dtype);
    try {
      return minimum(positions, last);
    } finally {
      last.dispose();
    }
  }
  // int32 holds every position of an axis MLX can index; wider or unsigned values that wrap in
  // the conversion still end up in range after the clip.
  const wide = astype(positions, "int32");
  try {
    return clip(wide, -size, size - 1);
  } finally {
    wide.dispose();
  }
}
