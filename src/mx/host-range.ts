// Integer arrays made from JavaScript data (mx.array of numbers, bigints or an integer typed
// array): their values were on the host when the array was made, so the least and greatest are
// known without reading the array back. Index checks (take, an embedding's token ids) use them
// instead of evaluating the array, which on a GPU waits for the device. Arrays made any other way
// (by an op, on the device) have no entry and are checked by reading them, as before.
import type { MxArray } from "./array.ts";

export interface HostRange {
  min: number;
  max: number;
}

const known = new WeakMap<MxArray, HostRange>();

/** The least and greatest of `values` (empty: undefined). Bigints are compared as numbers. */
export function rangeOf(values: ArrayLike<number | bigint>): HostRange | undefined {
  if (values.length === 0) return undefined;
  let min = Number(values[0]);
  let max = min;
  for (let i = 1; i < values.length; i++) {
    const v = Number(values[i]);
    if (v < min) min = v;
    else if (v > max) max = v;
  }
  return { min, max };
}

/** Records the range of an integer array's values, read on the host as it was made. */
export function recordHostRange(array: MxArray, range: HostRange | undefined): MxArray {
  if (range) known.set(array, range);
  return array;
}

/** The range recorded for `array` when it was made from JavaScript data, if it was. */
export function hostRange(array: MxArray): HostRange | undefined {
  return known.get(array);
}
