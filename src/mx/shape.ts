// Shape manipulation (mlx.core counterparts).
import { type MxArray, wrap, wrapAll } from "./array.ts";
import { packed } from "./list-slots.ts";
import { nativeFunctions } from "./native.ts";
import { handles, type Operand, operand } from "./operand.ts";

const n = nativeFunctions(
  "atleast1d",
  "atleast2d",
  "atleast3d",
  "broadcastArrays",
  "broadcastTo",
  "concatenate",
  "expandDims",
  "flatten",
  "flip",
  "moveaxis",
  "pad",
  "repeat",
  "reshape",
  "split",
  "squeeze",
  "stack",
  "swapaxes",
  "tile",
  "transpose",
  "unflatten",
  "unstack",
);

/** The same data with a new shape; one dimension may be -1 (inferred). */
export function reshape(a: Operand, shape: readonly number[]): MxArray {
  return wrap(n.reshape(operand(a), packed(shape)));
}

/** Permutes the axes (reverses them when `axes` is omitted). */
export function transpose(a: Operand, axes?: readonly number[]): MxArray {
  return wrap(n.transpose(operand(a), packed(axes)));
}

export function swapaxes(a: Operand, axis1: number, axis2: number): MxArray {
  return wrap(n.swapaxes(operand(a), axis1, axis2));
}

export function moveaxis(a: Operand, source: number, destination: number): MxArray {
  return wrap(n.moveaxis(operand(a), source, destination));
}

/** Inserts size-1 axes at the given positions. */
export function expandDims(a: Operand, axis: number | readonly number[]): MxArray {
  return wrap(n.expandDims(operand(a), packed(axis)));
}

/** Removes size-1 axes: the given ones, or all. */
export function squeeze(a: Operand, axis?: number | readonly number[]): MxArray {
  return wrap(n.squeeze(operand(a), packed(axis)));
}

/** Merges axes startAxis..endAxis (inclusive; all by default) into one. */
export function flatten(a: Operand, startAxis = 0, endAxis = -1): MxArray {
  return wrap(n.flatten(operand(a), startAxis, endAxis));
}

/** Splits one axis into the given shape. */
export function unflatten(a: Operand, axis: number, shape: readonly number[]): MxArray {
  return wrap(n.unflatten(operand(a), axis, packed(shape)));
}

export function concatenate(arrays: readonly MxArray[], axis = 0): MxArray {
  return wrap(n.concatenate(handles(arrays), axis));
}

/** Joins arrays of one shape along a new axis. */
export function stack(arrays: readonly MxArray[], axis = 0): MxArray {
  return wrap(n.stack(handles(arrays), axis));
}

/** Splits along an axis, removing it. */
export function unstack(a: Operand, axis = 0): MxArray[] {
  return wrapAll(n.unstack(operand(a), axis));
}

/** Splits into `sections` equal parts, or at the given indices, along `axis`. */
export function split(a: Operand, sections: number | readonly number[], axis = 0): MxArray[] {
  return wrapAll(n.split(operand(a), sections, axis));
}

/** Repeats each element `repeats` times along `axis` (over the flattened array without one). */
export function repeat(a: Operand, repeats: number, axis?: number): MxArray {
  return wrap(n.repeat(operand(a), repeats, axis));
}

export function tile(a: Operand, reps: number | readonly number[]): MxArray {
  return wrap(n.tile(operand(a), reps));
}

export function broadcastTo(a: Operand, shape: readonly number[]): MxArray {
  return wrap(n.broadcastTo(operand(a), packed(shape)));
}

export function broadcastArrays(arrays: readonly MxArray[]): MxArray[] {
  return wrapAll(n.broadcastArrays(handles(arrays)));
}

/** Padding widths: one number for every side of every axis, [low, high] for every axis, or per axis. */
export type PadWidth = number | readonly [number, number] | readonly (readonly [number, number])[];

/**
 * Pads with a constant (default 0) or by repeating the edge values. `width` as in NumPy: n, [low,
 * high], or one [low, high] per axis.
 */
export function pad(
  a: MxArray,
  width: PadWidth,
  options: { value?: Operand; mode?: "constant" | "edge" } = {},
): MxArray {
  const ndim = a.ndim;
  let pairs: (readonly [number, number])[];
  if (typeof width === "number") pairs = Array.from({ length: ndim }, () => [width, width] as const);
  else if (width.length === 2 && typeof width[0] === "number") {
    const pair = width as readonly [number, number];
    pairs = Array.from({ length: ndim }, () => pair);
  } else pairs = (width as readonly (readonly [number, number])[]).slice();
  if (pairs.length !== ndim) {
    throw new RangeError(`pad: ${pairs.length} [low, high] pairs given for an array of ${ndim} dimensions`);
  }
  const axes = pairs.map((_, i) => i);
  return wrap(
    n.pad(
      a.handle,
      axes,
      pairs.map((p) => p[0]),
      pairs.map((p) => p[1]),
      operand(options.value ?? 0),
      options.mode ?? "constant",
    ),
  );
}

/** Reverses the order of elements along the given axes. */
export function flip(a: Operand, axis: number | readonly number[]): MxArray {
  return wrap(n.flip(operand(a), axis));
}

export function atleast1d(a: Operand): MxArray {
  return wrap(n.atleast1d(operand(a)));
}

export function atleast2d(a: Operand): MxArray {
  return wrap(n.atleast2d(operand(a)));
}

export function atleast3d(a: Operand): MxArray {
  return wrap(n.atleast3d(operand(a)));
}
