// Indexing (Python's a[...] and a.at[...]), take, take/put along an axis, static and dynamic slices.

import { MxArray, wrap } from "./array.ts";
import { array as arrayFrom } from "./creation.ts";
import { clampDeferred } from "./deferred-range.ts";
import { isInteger } from "./dtype.ts";
import { hostRange } from "./host-range.ts";
import { packed } from "./list-slots.ts";
import { type Handle, nativeFunctions } from "./native.ts";
import { describe, type Operand, operand } from "./operand.ts";
import { evaluate } from "./runtime.ts";

const n = nativeFunctions(
  "dynamicSlice",
  "dynamicSliceUpdate",
  "getItem",
  "max",
  "min",
  "putAlongAxis",
  "stridedSlice",
  "stridedSliceUpdate",
  "take",
  "takeAlongAxis",
  "updateItem",
);

/**
 * A slice of one axis, as Python's `start:stop:step`. A missing or null bound means "from the
 * beginning" / "to the end" in the step's direction; negative bounds count from the end; the
 * step defaults to 1 and may be negative.
 */
export interface Slice {
  start?: number | null;
  stop?: number | null;
  step?: number | null;
}

/** Python's `None` (`np.newaxis`) in an index: inserts an axis of size 1. */
export const newaxis = null;

/** Python's `...` in an index: as many whole axes as the other indices leave. */
export const ellipsis = "...";

/** Nested JS arrays of integers, used as an index array (like Python's `a[[0, 2]]`). */
export type IndexList = readonly number[] | readonly IndexList[];

/**
 * One entry of an index, as in Python/NumPy:
 * - an integer (negative counts from the end) selects one position and removes the axis;
 * - a slice, as a string in Python syntax (":", "1:", "::-1", "-3:", "1:7:2") or a Slice object;
 * - `null` (mx.newaxis) inserts an axis of size 1; `"..."` (mx.ellipsis) stands for the axes left;
 * - an integer Array (or nested JS list of integers) gathers positions; several index arrays are
 *   broadcast together, and their dims go where the arrays stand, or first when other entries
 *   separate them (NumPy's rule).
 */
export type Index = number | string | Slice | null | MxArray | IndexList;

const ACCEPTED =
  'an integer, a slice string such as ":" or "1:-1:2", a {start, stop, step} object, null (new axis), "..." or an integer Array';

// The addon's form of one index entry: an integer boxed as [i] (a bare number is an Array
// handle), null, a [start, stop, step] slice, or an Array handle.
type WireEntry = [number] | null | [number | null, number | null, number | null] | Handle;

// A slice string: start:stop or start:stop:step, each part an optional integer.
const SLICE_PATTERN = /^\s*(-?\d+)?\s*:\s*(-?\d+)?\s*(?::\s*(-?\d+)?\s*)?$/;

// Slice strings seen, parsed: model code indexes with the same few strings at every step. The
// triples are only read (by the addon), never changed. Emptied when full.
const parsedSlices = new Map<string, [number | null, number | null, number | null]>();

function parseSliceString(text: string): [number | null, number | null, number | null] {
  let wire = parsedSlices.get(text);
  if (wire === undefined) {
    wire = parseSliceText(text);
    if (parsedSlices.size >= 1024) parsedSlices.clear();
    parsedSlices.set(text, wire);
  }
  return wire;
}

function parseSliceText(text: string): [number | null, number | null, number | null] {
  const match = SLICE_PATTERN.exec(text);
  if (!match) {
    throw new TypeError(`cannot index with the string ${JSON.stringify(text)}; expected ${ACCEPTED}`);
  }
  const part = (s: string | undefined) => (s === undefined ? null : Number(s));
  return [part(match[1]), part(match[2]), part(match[3])];
}

function sliceBound(value: unknown, name: string): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value)) throw new TypeError(`slice ${name} must be an integer or null; got ${describe(value)}`);
  return value as number;
}

function isSliceObject(x: object): x is Slice {
  if (Object.getPrototypeOf(x) !== Object.prototype) return false;
  return Object.keys(x).every((k) => k === "start" || k === "stop" || k === "step");
}

function axisText(axis: number, size: number): string {
  return `axis ${axis} with size ${size}`;
}

// Checks that every position of an integer index array lies in [-size, size). MLX does not check
// (it reads out of bounds), so this evaluates the positions: their min and max are read here.
function checkPositions(positions: MxArray, size: number, where: string): void {
  if (positions.size === 0) return;
  const known = hostRange(positions);
  if (known) {
    requireWithin(known.min, known.max, size, where);
    return;
  }
  const lo = wrap(n.min(positions.handle, null, false));
  const hi = wrap(n.max(positions.handle, null, false));
  try {
    evaluate(lo, hi);
    requireWithin(Number(lo.item()), Number(hi.item()), size, where);
  } finally {
    lo.dispose();
    hi.dispose();
  }
}

function requireWithin(min: number, max: number, size: number, where: string): void {
  if (min < -size || max >= size) {
    const bad = min < -size ? min : max;
    throw new RangeError(`index ${bad} is out of range for ${where} (valid: ${-size} to ${size - 1})`);
  }
}

function checkIndexDtype(positions: MxArray, what: string): void {
  if (positions.dtype === "bool") {
    throw new TypeError(`${what}: boolean mask indices are not supported; index with integer positions`);
  }
  if (!isInteger(positions.dtype)) {
    throw new TypeError(`${what}: index arrays must hold integers; got ${positions.dtype}`);
  }
}

// An index array from an Array or nested JS list; `made` collects arrays to dispose afterwards.
function indexArray(value: MxArray | IndexList, what: string, made: MxArray[]): MxArray {
  let positions: MxArray;
  if (value instanceof MxArray) {
    positions = value;
  } else {
    // An empty list holds no numbers to infer a dtype from; as in NumPy it is an integer index.
    positions = value.length === 0 ? arrayFrom([], "int32") : arrayFrom(value as number[]);
    made.push(positions);
  }
  checkIndexDtype(positions, what);
  return positions;
}

type Parsed =
  | { kind: "int"; value: number }
  | { kind: "slice"; wire: [number | null, number | null, number | null] }
  | { kind: "newaxis" }
  | { kind: "ellipsis" }
  | { kind: "array"; positions: MxArray };

function parseIndex(index: unknown, made: MxArray[]): Parsed {
  if (index === null) return { kind: "newaxis" };
  if (typeof index === "number") {
    if (!Number.isInteger(index)) throw new TypeError(`index ${index} is not an integer; expected ${ACCEPTED}`);
    return { kind: "int", value: index };
  }
  if (typeof index === "string") {
    if (index.trim() === "...") return { kind: "ellipsis" };
    return { kind: "slice", wire: parseSliceString(index) };
  }
  if (index instanceof MxArray) return { kind: "array", positions: indexArray(index, "index", made) };
  if (Array.isArray(index)) return { kind: "array", positions: indexArray(index, "index", made) };
  if (typeof index === "object" && isSliceObject(index)) {
    return {
      kind: "slice",
      wire: [sliceBound(index.start, "start"), sliceBound(index.stop, "stop"), sliceBound(index.step, "step")],
    };
  }
  const hint = index === undefined ? " (use null or mx.newaxis for a new axis)" : "";
  throw new TypeError(`cannot index with ${describe(index)}${hint}; expected ${ACCEPTED}`);
}

// Validates an index list against `a` and turns it into the addon's form: the ellipsis expanded,
// integers and slices checked, index arrays checked against their axis.
function resolve(a: MxArray, indices: readonly unknown[], made: MxArray[]): WireEntry[] {
  const parsed = indices.map((x) => parseIndex(x, made));
  const shape = a.shape;
  const ellipses = parsed.filter((p) => p.kind === "ellipsis").length;
  if (ellipses > 1) throw new TypeError("an index can have only one ellipsis (...)");
  const consumed = parsed.filter((p) => p.kind !== "newaxis" && p.kind !== "ellipsis").length;
  if (consumed > shape.length) {
    throw new RangeError(
      `too many indices: ${consumed} given for an array of shape [${shape}] (${shape.length} dimensions)`,
    );
  }
  const out: WireEntry[] = [];
  let axis = 0;
  for (const p of parsed) {
    if (p.kind === "newaxis") {
      out.push(null);
      continue;
    }
    if (p.kind === "ellipsis") {
      for (let k = 0; k < shape.length - consumed; k++, axis++) out.push([null, null, null]);
      continue;
    }
    const size = shape[axis] as number;
    if (p.kind === "int") {
      if (p.value < -size || p.value >= size) {
        throw new RangeError(
          `index ${p.value} is out of range for ${axisText(axis, size)} (valid: ${-size} to ${size - 1})`,
        );
      }
      out.push([p.value]);
    } else if (p.kind === "slice") {
      if (p.wire[2] === 0) throw new RangeError(`slice step cannot be zero (${axisText(axis, size)})`);
      out.push(p.wire);
    } else {
      checkPositions(p.positions, size, axisText(axis, size));
      out.push(p.positions.handle);
    }
    axis++;
  }
  return out;
}

function requireArray(a: unknown, fn: string): MxArray {
  if (!(a instanceof MxArray)) throw new TypeError(`${fn} needs an mx Array to index; got ${describe(a)}`);
  return a;
}

function withIndices<T>(a: MxArray, indices: readonly unknown[], use: (wire: WireEntry[]) => T): T {
  const made: MxArray[] = [];
  try {
    return use(resolve(a, indices, made));
  } finally {
    for (const m of made) m.dispose();
  }
}

/**
 * `a[...indices]` as in Python MLX / NumPy, e.g. Python's `a[1:, ::-2, None]` is
 * `mx.index(a, "1:", "::-2", null)` and `a[..., idx, 0]` is `mx.index(a, "...", idx, 0)`.
 * Out-of-range integers and index-array positions throw a RangeError (index arrays are evaluated
 * to check them).
 */
export function index(a: MxArray, ...indices: Index[]): MxArray {
  const source = requireArray(a, "mx.index");
  return withIndices(source, indices, (wire) => wrap(n.getItem(source.handle, wire)));
}

type UpdateOp = "set" | "add" | "subtract" | "multiply" | "divide" | "maximum" | "minimum";

/**
 * The positions `a[...indices]` of an array, for functional updates (Python's `a.at[...]`): each
 * method returns a new array equal to `a` except there. The value is cast to a's dtype and
 * broadcast to the shape of `mx.index(a, ...indices)`. With repeated index positions, add,
 * subtract, multiply, divide, maximum and minimum apply every occurrence; set keeps one of them.
 */
export class IndexedPositions {
  readonly #array: MxArray;
  readonly #indices: readonly Index[];

  /** @internal Made by mx.at(). */
  constructor(a: MxArray, indices: readonly Index[]) {
    this.#array = a;
    this.#indices = indices;
  }

  #update(op: UpdateOp, value: Operand): MxArray {
    const a = this.#array;
    const v = operand(value);
    return withIndices(a, this.#indices, (wire) => wrap(n.updateItem(a.handle, wire, v, op)));
  }

  /** A copy with these positions replaced by `value` (Python's `x[idx] = value` on a copy). */
  set(value: Operand): MxArray {
    return this.#update("set", value);
  }

  /** A copy with `value` added at these positions. */
  add(value: Operand): MxArray {
    return this.#update("add", value);
  }

  /** A copy with `value` subtracted at these positions. */
  subtract(value: Operand): MxArray {
    return this.#update("subtract", value);
  }

  /** A copy with these positions multiplied by `value`. */
  multiply(value: Operand): MxArray {
    return this.#update("multiply", value);
  }

  /** A copy with these positions divided by `value` (multiplied by its reciprocal, as MLX does). */
  divide(value: Operand): MxArray {
    return this.#update("divide", value);
  }

  /** A copy with these positions set to the larger of themselves and `value`. */
  maximum(value: Operand): MxArray {
    return this.#update("maximum", value);
  }

  /** A copy with these positions set to the smaller of themselves and `value`. */
  minimum(value: Operand): MxArray {
    return this.#update("minimum", value);
  }
}

/**
 * Functional updates at `a[...indices]` (same indices as mx.index), e.g. Python's
 * `x[0, -1] = v` is `mx.at(x, 0, -1).set(v)` and `x.at[idx].add(1)` is `mx.at(x, idx).add(1)`.
 */
export function at(a: MxArray, ...indices: Index[]): IndexedPositions {
  return new IndexedPositions(requireArray(a, "mx.at"), indices);
}

function normalizeAxis(fn: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis)) throw new TypeError(`${fn}: axis must be an integer; got ${describe(axis)}`);
  if (axis < -ndim || axis >= ndim) {
    throw new RangeError(`${fn}: axis ${axis} is out of range for an array with ${ndim} dimensions`);
  }
  return axis < 0 ? axis + ndim : axis;
}

// The extent indices address: the size of `axis`, or of the flattened array.
function extent(fn: string, a: MxArray, axis: number | null): { size: number; where: string } {
  if (axis === null) return { size: a.size, where: `the flattened array of size ${a.size}` };
  const ax = normalizeAxis(fn, axis, a.ndim);
  const size = a.shape[ax] as number;
  return { size, where: axisText(ax, size) };
}

function positionsArg(fn: string, indices: MxArray | IndexList, made: MxArray[]): MxArray {
  if (!(indices instanceof MxArray) && !Array.isArray(indices)) {
    throw new TypeError(`${fn}: indices must be an integer Array or a list of integers; got ${describe(indices)}`);
  }
  return indexArray(indices, fn, made);
}

/**
 * Elements at the given positions along `axis` (by default, of the flattened array), like
 * numpy.take. `indices` is an integer, an integer Array or a list; negative positions count from
 * the end; out-of-range ones throw a RangeError.
 */
export function take(a: MxArray, indices: number | MxArray | IndexList, axis: number | null = null): MxArray {
  const source = requireArray(a, "mx.take");
  const { size, where } = extent("take", source, axis);
  if (typeof indices === "number") {
    if (!Number.isInteger(indices)) throw new TypeError(`take: index must be an integer; got ${indices}`);
    if (indices < -size || indices >= size) {
      throw new RangeError(`take: index ${indices} is out of range for ${where} (valid: ${-size} to ${size - 1})`);
    }
    return wrap(n.take(source.handle, [indices], axis));
  }
  const made: MxArray[] = [];
  try {
    const positions = positionsArg("take", indices, made);
    // Positions whose owner checks them later (src/mx/deferred-range.ts) are clamped, not read.
    const clamped = clampDeferred(positions, size);
    if (clamped) made.push(clamped);
    else checkPositions(positions, size, where);
    return wrap(n.take(source.handle, (clamped ?? positions).handle, axis));
  } finally {
    for (const m of made) m.dispose();
  }
}

/**
 * Elements picked along `axis` (default -1; null: the flattened array) by an index array of the
 * same number of dimensions, broadcast against `a` on the other axes (numpy.take_along_axis).
 */
export function takeAlongAxis(a: MxArray, indices: MxArray | IndexList, axis: number | null = -1): MxArray {
  const source = requireArray(a, "mx.takeAlongAxis");
  const { size, where } = extent("takeAlongAxis", source, axis);
  const made: MxArray[] = [];
  try {
    const positions = positionsArg("takeAlongAxis", indices, made);
    checkPositions(positions, size, where);
    return wrap(n.takeAlongAxis(source.handle, positions.handle, axis));
  } finally {
    for (const m of made) m.dispose();
  }
}

/**
 * A copy of `a` with `values` written at the positions an index array picks along `axis` (null,
 * the default as in Python MLX: the flattened array); values are cast to a's dtype.
 */
export function putAlongAxis(
  a: MxArray,
  indices: MxArray | IndexList,
  values: Operand,
  axis: number | null = null,
): MxArray {
  const source = requireArray(a, "mx.putAlongAxis");
  const { size, where } = extent("putAlongAxis", source, axis);
  const made: MxArray[] = [];
  try {
    const positions = positionsArg("putAlongAxis", indices, made);
    checkPositions(positions, size, where);
    return wrap(n.putAlongAxis(source.handle, positions.handle, operand(values), axis));
  } finally {
    for (const m of made) m.dispose();
  }
}

function intList(fn: string, name: string, value: unknown, length?: number): number[] {
  if (!Array.isArray(value) || !value.every((x) => Number.isInteger(x))) {
    throw new TypeError(`${fn}: ${name} must be a list of integers; got ${describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${fn}: ${name} needs ${length} entries (one per axis); got ${value.length}`);
  }
  return value as number[];
}

/**
 * MLX's static slice: `start`, `stop` and `strides` (default all 1) give one entry per axis;
 * negative bounds count from the end and bounds are clipped to the axis, as in Python slices.
 */
export function stridedSlice(
  a: MxArray,
  start: readonly number[],
  stop: readonly number[],
  strides?: readonly number[],
): MxArray {
  const source = requireArray(a, "mx.stridedSlice");
  const ndim = source.ndim;
  const steps =
    strides === undefined ? new Array<number>(ndim).fill(1) : intList("stridedSlice", "strides", strides, ndim);
  if (steps.includes(0)) throw new RangeError("stridedSlice: strides cannot be zero");
  return wrap(
    n.stridedSlice(
      source.handle,
      packed(intList("stridedSlice", "start", start, ndim), 0),
      packed(intList("stridedSlice", "stop", stop, ndim), 1),
      packed(steps, 2),
    ),
  );
}

/** A copy of `a` with the static slice (see stridedSlice) replaced by `update` (broadcast). */
export function stridedSliceUpdate(
  a: MxArray,
  update: Operand,
  start: readonly number[],
  stop: readonly number[],
  strides?: readonly number[],
): MxArray {
  const source = requireArray(a, "mx.stridedSliceUpdate");
  const ndim = source.ndim;
  const steps =
    strides === undefined ? new Array<number>(ndim).fill(1) : intList("stridedSliceUpdate", "strides", strides, ndim);
  if (steps.includes(0)) throw new RangeError("stridedSliceUpdate: strides cannot be zero");
  return wrap(
    n.stridedSliceUpdate(
      source.handle,
      operand(update),
      packed(intList("stridedSliceUpdate", "start", start, ndim), 0),
      packed(intList("stridedSliceUpdate", "stop", stop, ndim), 1),
      packed(steps, 2),
    ),
  );
}

// Start positions for a dynamic slice: an integer Array or a list, one per axis, each checked so
// that the slice of the given extents lies inside `a` (MLX does not check, and reads out of bounds).
function startPositions(
  fn: string,
  a: MxArray,
  start: MxArray | readonly number[],
  axes: number[],
  extents: number[],
  made: MxArray[],
): MxArray {
  const positions = start instanceof MxArray ? start : arrayFrom(intList(fn, "start", start));
  if (!(start instanceof MxArray)) made.push(positions);
  checkIndexDtype(positions, fn);
  if (positions.size !== axes.length) {
    throw new RangeError(`${fn}: start needs one position per axis (${axes.length}); got ${positions.size}`);
  }
  const flat = Array.from(positions.toTypedArray() as ArrayLike<number | bigint>, Number);
  for (const [k, axis] of axes.entries()) {
    const dim = a.shape[axis] as number;
    const s = flat[k] as number;
    const e = extents[k] as number;
    if (s < 0 || s + e > dim) {
      throw new RangeError(
        `${fn}: a slice of ${e} starting at ${s} does not fit ${axisText(axis, dim)} (start must be 0 to ${dim - e})`,
      );
    }
  }
  return positions;
}

/**
 * Python's mx.slice: the block of `a` starting at `start` (an integer Array or list, one entry per
 * listed axis; an Array may be computed, e.g. a cache offset) on `axes`, with `sliceSize` (one
 * size per axis of a); other axes whole. The start is checked to keep the block inside `a`.
 */
export function slice(
  a: MxArray,
  start: MxArray | readonly number[],
  axes: readonly number[],
  sliceSize: readonly number[],
): MxArray {
  const source = requireArray(a, "mx.slice");
  const ndim = source.ndim;
  const axisList = intList("slice", "axes", axes).map((x) => normalizeAxis("slice", x, ndim));
  const sizes = intList("slice", "sliceSize", sliceSize, ndim);
  for (const [axis, size] of sizes.entries()) {
    const dim = source.shape[axis] as number;
    if (size < 0 || size > dim) throw new RangeError(`slice: slice size ${size} does not fit ${axisText(axis, dim)}`);
  }
  const made: MxArray[] = [];
  try {
    const extents = axisList.map((axis) => sizes[axis] as number);
    const positions = startPositions("slice", source, start, axisList, extents, made);
    return wrap(n.dynamicSlice(source.handle, positions.handle, axisList, sizes));
  } finally {
    for (const m of made) m.dispose();
  }
}

/**
 * Python's mx.slice_update: a copy of `a` with the block at `start` (an integer Array or list, one
 * entry per listed axis) on `axes` replaced by `update`; the block has update's shape (aligned to
 * the last axes of a, broadcast as needed). The start is checked to keep the block inside `a`.
 */
export function sliceUpdate(
  a: MxArray,
  update: MxArray,
  start: MxArray | readonly number[],
  axes: readonly number[],
): MxArray {
  const source = requireArray(a, "mx.sliceUpdate");
  const value = requireArray(update, "mx.sliceUpdate");
  const ndim = source.ndim;
  const axisList = intList("sliceUpdate", "axes", axes).map((x) => normalizeAxis("sliceUpdate", x, ndim));
  if (value.ndim > ndim) {
    throw new RangeError(`sliceUpdate: the update has ${value.ndim} dimensions, more than the array (${ndim})`);
  }
  const padded = [...new Array<number>(Math.max(0, ndim - value.ndim)).fill(1), ...value.shape];
  const made: MxArray[] = [];
  try {
    const extents = axisList.map((axis) => padded[axis] as number);
    const positions = startPositions("sliceUpdate", source, start, axisList, extents, made);
    return wrap(n.dynamicSliceUpdate(source.handle, value.handle, positions.handle, axisList));
  } finally {
    for (const m of made) m.dispose();
  }
}
