// Short integer lists (shapes, axes, slice bounds) cross into the addon through a buffer both
// share, not as JS arrays: the addon reads a JS array with two Node-API calls per element, which
// made up much of a small op's cost (native/src/list_slots.cc). Only src/mx uses this.
import { type Handle, native, nativeFunctions } from "./native.ts";

const n = nativeFunctions("shape", "shapeToSlot");

const SLOT_LENGTH = 64; // a count and up to 63 values (native/src/mlux.h: kListSlotLength)
const buffer = native.listSlots as unknown as ArrayBuffer;
const slots = [0, 1, 2, 3].map((k) => new Float64Array(buffer, k * SLOT_LENGTH * 8, SLOT_LENGTH));

/**
 * @internal What to pass the addon for a list argument: a short list of numbers, written into slot
 * `k` (one slot per list argument of a call), or the value itself otherwise (anything else the
 * addon reads and checks element by element, with the same errors). The slot holds the numbers
 * as given: the addon checks that they are integers.
 */
export function packed(list: unknown, k = 0): unknown {
  if (!Array.isArray(list) || list.length >= SLOT_LENGTH) return list;
  const slot = slots[k] as Float64Array;
  for (let i = 0; i < list.length; i++) {
    const v: unknown = list[i];
    if (typeof v !== "number") return list;
    slot[i + 1] = v;
  }
  slot[0] = list.length;
  return slot;
}

/** @internal The shape of the array `handle` names, read through slot 0. */
export function shapeOf(handle: Handle): number[] {
  const ndim = n.shapeToSlot(handle) as number;
  if (ndim < 0) return n.shape(handle) as number[];
  const slot = slots[0] as Float64Array;
  const shape = new Array<number>(ndim);
  for (let d = 0; d < ndim; d++) shape[d] = slot[d + 1] as number;
  return shape;
}
