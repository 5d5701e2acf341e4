// The positions of the k largest elements, ordered: what `mx.topk` (values only, unordered, as in
// Python MLX) leaves to the caller in every top-token readout.
import { MxArray } from "./array.ts";
import { index, takeAlongAxis } from "./indexing.ts";
import { describe } from "./operand.ts";
import { argpartition, argsort } from "./reduce.ts";
import { tidy } from "./scope.ts";
import { flip, reshape } from "./shape.ts";

/**
 * Indices (uint32) of the `k` largest elements along `axis` (default -1; null: the flattened
 * array), from the largest down (NaN counts as largest), equal values in index order (which of
 * several values tied at the k-th place is kept is not specified). `mx.takeAlongAxis(a, idx, axis)`
 * gives their values.
 */
export function argtopk(a: MxArray, k: number, axis: number | null = -1): MxArray {
  if (!(a instanceof MxArray)) throw new TypeError(`argtopk: expected an mx.Array, got ${describe(a)}`);
  const ndim = axis === null ? 1 : a.ndim;
  const along = axis ?? 0;
  if (!Number.isInteger(along) || along < -ndim || along >= ndim) {
    throw new RangeError(`argtopk: axis ${String(axis)} is out of range for an array of ${ndim} dimensions`);
  }
  const dim = along < 0 ? ndim + along : along;
  const size = axis === null ? a.size : (a.shape[dim] as number);
  if (!Number.isInteger(k) || k < 1 || k > size) {
    throw new RangeError(`argtopk: k must be an integer from 1 to ${size} (the axis' length); got ${describe(k)}`);
  }
  return tidy(() => {
    const x = axis === null ? reshape(a, [-1]) : a;
    // argpartition puts the k largest in the last k places, unordered; sorting only those orders them.
    const lastK = index(argpartition(x, size - k, dim), ...new Array(dim).fill(":"), `${size - k}:`);
    // Indices descending, a stable ascending sort by value, then reversed: values from the largest
    // down, equal values in index order (no negation, so unsigned dtypes sort right too).
    const byIndexDown = flip(takeAlongAxis(lastK, argsort(lastK, dim), dim), dim);
    const ascending = argsort(takeAlongAxis(x, byIndexDown, dim), dim);
    return flip(takeAlongAxis(byIndexDown, ascending, dim), dim);
  });
}
