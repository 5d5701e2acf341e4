// Reductions, softmax, cumulative scans, sorting and selection (mlx.core counterparts).
import { type MxArray, wrap, wrapAll } from "./array.ts";
import { type DType, dtypeCode } from "./dtype.ts";
import { nativeFunction, nativeFunctions } from "./native.ts";
import { describe, type Operand, operand } from "./operand.ts";

const n = nativeFunctions(
  "argmax",
  "argmin",
  "argpartition",
  "argsort",
  "cumprod",
  "cumsum",
  "minmax",
  "partition",
  "searchsorted",
  "softmax",
  "sort",
  "std",
  "topk",
  "unique",
  "var",
);

/** Axes to reduce over: one axis, several, or (undefined/null) all of them. Negative axes count from the end. */
export type Axes = number | readonly number[] | null | undefined;

/** Options of reductions: `axis` (all axes by default) and `keepdims` (false: reduced axes are removed). */
export interface ReduceOptions {
  axis?: Axes;
  keepdims?: boolean;
}

/** Options of var and std: as ReduceOptions, plus `ddof` (delta degrees of freedom, default 0). */
export interface VarianceOptions extends ReduceOptions {
  ddof?: number;
}

/** Options of argmax and argmin: one `axis` (by default the flattened array) and `keepdims`. */
export interface ArgReduceOptions {
  axis?: number | null;
  keepdims?: boolean;
}

/** Options of softmax: `axis` (all axes by default) and `precise` (accumulate half inputs in float32). */
export interface SoftmaxOptions {
  axis?: Axes;
  precise?: boolean;
}

/**
 * Options of cumulative scans: `axis` (by default the flattened array), `reverse` (scan from the
 * end), `inclusive` (true: element i includes a[i]; false: it holds the scan of the ones before).
 */
export interface ScanOptions {
  axis?: number | null;
  reverse?: boolean;
  inclusive?: boolean;
}

/** Options of cumsum and cumprod: as ScanOptions, plus the `dtype` to accumulate and return in. */
export interface AccumulateOptions extends ScanOptions {
  dtype?: DType;
}

// Reads an options argument that may also be given as a bare axis, rejecting unknown keys (a
// misspelt option would otherwise be silently ignored).
function readOptions<T extends object>(fn: string, value: unknown, keys: readonly string[]): T {
  if (value === undefined || value === null) return {} as T;
  if (typeof value === "number" || Array.isArray(value)) return { axis: value } as T;
  if (typeof value !== "object") {
    throw new TypeError(`${fn}: expected an axis or an options object {${keys.join(", ")}}, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new TypeError(`${fn}: unknown option ${JSON.stringify(key)}; the options are ${keys.join(", ")}`);
    }
  }
  return value as T;
}

function checkAxes(fn: string, axis: unknown): Axes {
  if (axis === undefined || axis === null || Number.isInteger(axis)) return axis as Axes;
  if (Array.isArray(axis) && axis.every((x) => Number.isInteger(x))) return axis;
  throw new TypeError(
    `${fn}: axis must be an integer, a list of integers, or null for all axes; got ${describe(axis)}`,
  );
}

function checkAxis(fn: string, axis: unknown): number | null | undefined {
  if (axis === undefined || axis === null || Number.isInteger(axis)) return axis as number | null | undefined;
  throw new TypeError(`${fn}: axis must be an integer or null; got ${describe(axis)}`);
}

function checkInt(fn: string, name: string, value: unknown): number {
  if (!Number.isInteger(value)) throw new TypeError(`${fn}: ${name} must be an integer; got ${describe(value)}`);
  return value as number;
}

const REDUCE_KEYS = ["axis", "keepdims"] as const;

type Reduction = (a: Operand, options?: ReduceOptions | Axes) => MxArray;

function reduction(name: string): Reduction {
  const fn = nativeFunction(name);
  return (a, options) => {
    const o = readOptions<ReduceOptions>(name, options, REDUCE_KEYS);
    return wrap(fn(operand(a), checkAxes(name, o.axis), o.keepdims ?? false));
  };
}

/** Sum over the given axes (all by default); bool and small integers sum as int32. */
export const sum = reduction("sum");
/** Mean over the given axes (all by default); integers give float32. */
export const mean = reduction("mean");
/** Product over the given axes (all by default). */
export const prod = reduction("prod");
/** Maximum over the given axes (all by default). */
export const max = reduction("max");
/** Minimum over the given axes (all by default). */
export const min = reduction("min");
/** Whether every element is true (non-zero) over the given axes (all by default). */
export const all = reduction("all");
/** Whether any element is true (non-zero) over the given axes (all by default). */
export const any = reduction("any");
/** log(sum(exp(a))) over the given axes (all by default), computed stably. */
export const logsumexp = reduction("logsumexp");
/** Median over the given axes (all by default). */
export const median = reduction("median");
/** The number of non-zero elements over the given axes (all by default). */
export const countNonzero = reduction("countNonzero");

/** [min, max] over the given axes (all by default), computed together. */
export function minmax(a: Operand, options?: ReduceOptions | Axes): [MxArray, MxArray] {
  const o = readOptions<ReduceOptions>("minmax", options, REDUCE_KEYS);
  return wrapAll(n.minmax(operand(a), checkAxes("minmax", o.axis), o.keepdims ?? false)) as [MxArray, MxArray];
}

const VARIANCE_KEYS = ["axis", "keepdims", "ddof"] as const;

/** Variance over the given axes (all by default), dividing by N - ddof (ddof 0 by default). */
export function variance(a: Operand, options?: VarianceOptions | Axes): MxArray {
  const o = readOptions<VarianceOptions>("var", options, VARIANCE_KEYS);
  return wrap(n.var(operand(a), checkAxes("var", o.axis), o.keepdims ?? false, checkInt("var", "ddof", o.ddof ?? 0)));
}
export { variance as var };

/** Standard deviation over the given axes (all by default), dividing by N - ddof (ddof 0 by default). */
export function std(a: Operand, options?: VarianceOptions | Axes): MxArray {
  const o = readOptions<VarianceOptions>("std", options, VARIANCE_KEYS);
  return wrap(n.std(operand(a), checkAxes("std", o.axis), o.keepdims ?? false, checkInt("std", "ddof", o.ddof ?? 0)));
}

const ARG_KEYS = ["axis", "keepdims"] as const;

/** Index of the largest element along `axis` (by default, into the flattened array); uint32. */
export function argmax(a: Operand, options?: ArgReduceOptions | number | null): MxArray {
  const o = readOptions<ArgReduceOptions>("argmax", options, ARG_KEYS);
  return wrap(n.argmax(operand(a), checkAxis("argmax", o.axis), o.keepdims ?? false));
}

/** Index of the smallest element along `axis` (by default, into the flattened array); uint32. */
export function argmin(a: Operand, options?: ArgReduceOptions | number | null): MxArray {
  const o = readOptions<ArgReduceOptions>("argmin", options, ARG_KEYS);
  return wrap(n.argmin(operand(a), checkAxis("argmin", o.axis), o.keepdims ?? false));
}

/**
 * exp(a) / sum(exp(a)) over the given axes (all by default, as in Python MLX; pass `-1` for the
 * last axis). `precise` accumulates float16/bfloat16 inputs in float32.
 */
export function softmax(a: Operand, options?: SoftmaxOptions | Axes): MxArray {
  const o = readOptions<SoftmaxOptions>("softmax", options, ["axis", "precise"]);
  return wrap(n.softmax(operand(a), checkAxes("softmax", o.axis), o.precise ?? false));
}

const SCAN_KEYS = ["axis", "reverse", "inclusive"] as const;
const ACCUMULATE_KEYS = ["axis", "reverse", "inclusive", "dtype"] as const;

type Scan = (a: Operand, options?: ScanOptions | number | null) => MxArray;

function scan(name: string): Scan {
  const fn = nativeFunction(name);
  return (a, options) => {
    const o = readOptions<ScanOptions>(name, options, SCAN_KEYS);
    return wrap(fn(operand(a), checkAxis(name, o.axis), o.reverse ?? false, o.inclusive ?? true));
  };
}

/** Running maximum along `axis` (by default over the flattened array). */
export const cummax = scan("cummax");
/** Running minimum along `axis` (by default over the flattened array). */
export const cummin = scan("cummin");
/** Running log(sum(exp)) along `axis` (by default over the flattened array). */
export const logcumsumexp = scan("logcumsumexp");

/** Running sum along `axis` (by default over the flattened array); `dtype` sets the accumulator. */
export function cumsum(a: Operand, options?: AccumulateOptions | number | null): MxArray {
  const o = readOptions<AccumulateOptions>("cumsum", options, ACCUMULATE_KEYS);
  const dtype = o.dtype === undefined ? undefined : dtypeCode(o.dtype);
  return wrap(n.cumsum(operand(a), checkAxis("cumsum", o.axis), o.reverse ?? false, o.inclusive ?? true, dtype));
}

/** Running product along `axis` (by default over the flattened array); `dtype` sets the accumulator. */
export function cumprod(a: Operand, options?: AccumulateOptions | number | null): MxArray {
  const o = readOptions<AccumulateOptions>("cumprod", options, ACCUMULATE_KEYS);
  const dtype = o.dtype === undefined ? undefined : dtypeCode(o.dtype);
  return wrap(n.cumprod(operand(a), checkAxis("cumprod", o.axis), o.reverse ?? false, o.inclusive ?? true, dtype));
}

/** A sorted copy along `axis` (default -1; null sorts the flattened array). Stable; NaNs last. */
export function sort(a: Operand, axis: number | null = -1): MxArray {
  return wrap(n.sort(operand(a), checkAxis("sort", axis)));
}

/** Indices that sort along `axis` (default -1; null: the flattened array); uint32. Stable. */
export function argsort(a: Operand, axis: number | null = -1): MxArray {
  return wrap(n.argsort(operand(a), checkAxis("argsort", axis)));
}

/**
 * A copy partitioned along `axis` (default -1; null: flattened) so that the element at position
 * `kth` is the one a sort would put there, smaller ones before it and the others after, in no
 * particular order. A negative kth counts from the end.
 */
export function partition(a: Operand, kth: number, axis: number | null = -1): MxArray {
  return wrap(n.partition(operand(a), checkInt("partition", "kth", kth), checkAxis("partition", axis)));
}

/** Indices that partition along `axis` around `kth` (see partition); uint32. */
export function argpartition(a: Operand, kth: number, axis: number | null = -1): MxArray {
  return wrap(n.argpartition(operand(a), checkInt("argpartition", "kth", kth), checkAxis("argpartition", axis)));
}

/**
 * The `k` largest elements along `axis` (default -1; null: the flattened array), in no
 * particular order: sort the result if the order matters.
 */
export function topk(a: Operand, k: number, axis: number | null = -1): MxArray {
  return wrap(n.topk(operand(a), checkInt("topk", "k", k), checkAxis("topk", axis)));
}

/**
 * Where `values` would be inserted into the 1-D ascending `sortedSequence` to keep it sorted:
 * side "left" (default) gives the count of elements below each value, "right" the count of
 * elements at or below it; uint32, shaped like `values`.
 */
export function searchsorted(sortedSequence: Operand, values: Operand, side: "left" | "right" = "left"): MxArray {
  if (side !== "left" && side !== "right") {
    throw new TypeError(`searchsorted: side must be "left" or "right"; got ${describe(side)}`);
  }
  return wrap(n.searchsorted(operand(sortedSequence), operand(values), side));
}

/** Options of unique: `fillValue` pads the output past the last unique value (default: the smallest value). */
export interface UniqueOptions {
  fillValue?: Operand;
}

/** The sorted unique values with, for each, its first index, the inverse map and its count. */
export interface UniqueAll {
  /** The sorted unique values, padded with fillValue (or cut) to the requested size. */
  values: MxArray;
  /** Index in the flattened input of each value's first occurrence (uint32). */
  index: MxArray;
  /** For each input element, the position of its value in `values` (uint32, the input's shape). */
  inverse: MxArray;
  /** How often each value occurs (0 for padding; int32). */
  counts: MxArray;
}

function checkSize(fn: string, size: unknown): number {
  if (!Number.isInteger(size) || (size as number) < 0) {
    throw new TypeError(`${fn}: size must be a non-negative integer; got ${describe(size)}`);
  }
  return size as number;
}

/**
 * The sorted unique values of the flattened array, as an array of exactly `size` elements (MLX
 * does not infer sizes from values): padded with `fillValue`, or cut to the smallest `size`.
 */
export function unique(a: Operand, size: number, options: UniqueOptions = {}): MxArray {
  const o = readOptions<UniqueOptions>("unique", options, ["fillValue"]);
  const fill = o.fillValue === undefined ? undefined : operand(o.fillValue);
  return wrapAll(n.unique(operand(a), checkSize("unique", size), false, false, false, fill))[0] as MxArray;
}

/** unique() with the first index, inverse map and count of each value (Python's return_* flags). */
export function uniqueAll(a: Operand, size: number, options: UniqueOptions = {}): UniqueAll {
  const o = readOptions<UniqueOptions>("uniqueAll", options, ["fillValue"]);
  const fill = o.fillValue === undefined ? undefined : operand(o.fillValue);
  const [values, index, inverse, counts] = wrapAll(
    n.unique(operand(a), checkSize("uniqueAll", size), true, true, true, fill),
  ) as [MxArray, MxArray, MxArray, MxArray];
  return { values, index, inverse, counts };
}
