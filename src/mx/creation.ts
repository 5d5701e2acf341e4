// Making arrays: from JS data, from raw bytes, and the standard constructors.
import { MxArray, type NestedList, wrap } from "./array.ts";
import { type AnyTypedArray, type DType, dtypeCode, ITEM_SIZE, isFloating, isInteger } from "./dtype.ts";
import { type HostRange, rangeOf, recordHostRange } from "./host-range.ts";
import { integerData } from "./integer-data.ts";
import { packed } from "./list-slots.ts";
import { type Handle, nativeFunctions } from "./native.ts";
import { describe, operand } from "./operand.ts";

const n = nativeFunctions(
  "arange",
  "astype",
  "dispose",
  "eye",
  "fromBytes",
  "full",
  "linspace",
  "ones",
  "onesLike",
  "tri",
  "view",
  "zeros",
  "zerosLike",
);

/** What mx.array() accepts. */
export type ArrayData = NestedList | AnyTypedArray | MxArray;

function typedArrayDtype(data: AnyTypedArray): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Uint16Array) return "uint16";
  if (data instanceof Uint32Array) return "uint32";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof BigUint64Array) return "uint64";
  throw new TypeError(`unsupported typed array ${describe(data)}`);
}

function bytesOf(data: AnyTypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function astypeHandle(h: Handle, dtype: DType): Handle {
  return n.astype(h, dtypeCode(dtype)) as Handle;
}

// Flattens nested JS arrays, checking that they are rectangular, and infers the dtype as Python
// MLX does: all booleans -> bool, all integers -> int32, any other number -> float32; bigint -> int64.
function flatten(data: NestedList): { flat: unknown[]; shape: number[]; kind: "bool" | "int" | "float" | "bigint" } {
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const flat: unknown[] = [];
  const visit = (value: unknown, dim: number, path: string): void => {
    if (dim === shape.length) {
      if (Array.isArray(value)) throw new TypeError(`ragged nested array: ${path} has more dimensions than the first`);
      flat.push(value);
      return;
    }
    if (!Array.isArray(value) || value.length !== shape[dim]) {
      throw new TypeError(`ragged nested array: ${path} should be a list of length ${shape[dim]}`);
    }
    for (const [i, v] of value.entries()) visit(v, dim + 1, `${path}[${i}]`);
  };
  visit(data, 0, "data");
  let kind: "bool" | "int" | "float" | "bigint" = "bool";
  for (const [i, v] of flat.entries()) {
    if (typeof v === "boolean") continue;
    if (typeof v === "bigint") {
      kind = "bigint";
      continue;
    }
    if (typeof v !== "number") throw new TypeError(`element ${i} is ${describe(v)}; expected numbers or booleans`);
    if (kind === "bigint") throw new TypeError("cannot mix bigint and number elements");
    if (!Number.isInteger(v) || v > 2 ** 31 - 1 || v < -(2 ** 31)) kind = "float";
    else if (kind === "bool") kind = "int";
  }
  if (flat.length === 0) kind = "float";
  return { flat, shape, kind };
}

/**
 * An array from JS data: a number or boolean, nested lists of them (rectangular), a typed array
 * (1-D, its own dtype; Float64Array becomes float32 as in Python MLX), or another Array (copied by reference). With `dtype`, values are converted
 * to it (rounding as MLX's astype does). To reinterpret raw bits (e.g. bfloat16 patterns in a
 * Uint16Array), use mx.fromRaw.
 */
export function array(data: ArrayData, dtype?: DType): MxArray {
  if (dtype !== undefined) dtypeCode(dtype); // an unknown dtype fails here, with the list of known ones
  let handle: Handle;
  if (data instanceof MxArray) {
    handle = n.astype(data.handle, dtypeCode(dtype ?? data.dtype)) as Handle;
    return wrap(handle);
  }
  if (ArrayBuffer.isView(data)) {
    const typed = data as AnyTypedArray;
    const stored = typedArrayDtype(typed);
    handle = n.fromBytes(bytesOf(typed), [typed.length], dtypeCode(stored)) as Handle;
    // As Python MLX does with float64 NumPy arrays: float32 unless float64 is asked for (float64
    // runs on the CPU only).
    const target = dtype ?? (stored === "float64" ? "float32" : stored);
    if (target !== stored) return wrap(convertOwned(handle, target));
    return isInteger(stored) ? recordHostRange(wrap(handle), rangeOf(typed)) : wrap(handle);
  }
  const { flat, shape, kind } = flatten(data as NestedList);
  let typed: AnyTypedArray;
  let natural: DType;
  if (dtype !== undefined && isInteger(dtype) && kind !== "bool") {
    // Written straight into the dtype: a conversion from int32 or float32 would lose big values.
    typed = integerData(flat, dtype);
    natural = dtype;
  } else if (kind === "bigint") {
    typed = bigintData(flat as bigint[]);
    natural = "int64";
  } else if (kind === "bool") {
    typed = Uint8Array.from(flat as boolean[], (v) => (v ? 1 : 0));
    natural = "bool";
  } else if (kind === "int") {
    typed = Int32Array.from(flat as (number | boolean)[], Number);
    natural = "int32";
  } else {
    // float64 JS numbers go to float32 (MLX's default) via float64 when a wider dtype is asked.
    natural = dtype === "float64" ? "float64" : "float32";
    typed =
      natural === "float64" ? Float64Array.from(flat as number[], Number) : Float32Array.from(flat as number[], Number);
  }
  handle = n.fromBytes(bytesOf(typed), shape, dtypeCode(natural)) as Handle;
  if (dtype && dtype !== natural) return wrap(convertOwned(handle, dtype));
  return isInteger(natural) ? recordHostRange(wrap(handle), rangeOf(typed)) : wrap(handle);
}

// bigint elements as int64, refusing those int64 cannot hold (BigInt64Array would wrap them).
function bigintData(values: bigint[]): BigInt64Array {
  return integerData(values, "int64") as BigInt64Array;
}

// astype into a new handle and release the intermediate one at once.
function convertOwned(handle: Handle, dtype: DType): Handle {
  const out = astypeHandle(handle, dtype);
  n.dispose(handle);
  return out;
}

/**
 * An array whose data are the given bytes, reinterpreted as `dtype` (no conversion): e.g. raw
 * float16 or bfloat16 bit patterns in a Uint16Array. The byte length must equal the shape's
 * element count times the dtype's size.
 */
export function fromRaw(data: AnyTypedArray | ArrayBuffer, shape: readonly number[], dtype: DType): MxArray {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : bytesOf(data);
  const expected = shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
  if (bytes.byteLength !== expected) {
    throw new RangeError(
      `fromRaw: ${bytes.byteLength} bytes given, but shape [${shape}] of ${dtype} needs ${expected}`,
    );
  }
  return wrap(n.fromBytes(bytes, shape, dtypeCode(dtype)) as Handle);
}

export function zeros(shape: readonly number[], dtype: DType = "float32"): MxArray {
  return wrap(n.zeros(packed(shape), dtypeCode(dtype)));
}

export function ones(shape: readonly number[], dtype: DType = "float32"): MxArray {
  return wrap(n.ones(packed(shape), dtypeCode(dtype)));
}

/** An array of `shape` filled with `value` (a scalar, or an Array broadcast to the shape). */
export function full(shape: readonly number[], value: number | boolean | MxArray, dtype?: DType): MxArray {
  return wrap(n.full(packed(shape), operand(value), dtype === undefined ? undefined : dtypeCode(dtype)));
}

export function zerosLike(a: MxArray): MxArray {
  return wrap(n.zerosLike(a.handle));
}

export function onesLike(a: MxArray): MxArray {
  return wrap(n.onesLike(a.handle));
}

/**
 * Evenly spaced values in [start, stop): arange(stop), arange(start, stop), arange(start, stop, step).
 * The dtype defaults to int32 when every bound is an integer, float32 otherwise.
 */
export function arange(start: number, stop?: number, step?: number, dtype?: DType): MxArray {
  const [lo, hi] = stop === undefined ? [0, start] : [start, stop];
  const st = step ?? 1;
  const ints = Number.isInteger(lo) && Number.isInteger(hi) && Number.isInteger(st);
  const made = dtype ?? (ints ? "int32" : "float32");
  const array = wrap(n.arange(lo, hi, st, dtypeCode(made)));
  return ints && (made === "int32" || made === "int64") ? recordHostRange(array, arangeRange(lo, hi, st)) : array;
}

// The least and greatest of an integer arange, known without reading it (positions are taken
// with it, and a take of host-known positions need not wait for the device).
function arangeRange(start: number, stop: number, step: number): HostRange | undefined {
  const count = step === 0 ? 0 : Math.ceil((stop - start) / step);
  if (count <= 0) return undefined;
  const last = start + (count - 1) * step;
  const [min, max] = step > 0 ? [start, last] : [last, start];
  // int32 wraps past its range; such values are left to be read.
  return min >= -(2 ** 31) && max < 2 ** 31 ? { min, max } : undefined;
}

/** `num` evenly spaced values from start to stop (inclusive unless endpoint is false). */
export function linspace(
  start: number,
  stop: number,
  num = 50,
  options: { dtype?: DType; endpoint?: boolean } = {},
): MxArray {
  const dtype = options.dtype ?? "float32";
  if (!isFloating(dtype)) throw new TypeError(`linspace needs a floating dtype, got ${dtype}`);
  return wrap(n.linspace(start, stop, num, options.endpoint ?? true, dtypeCode(dtype)));
}

/** An n x m matrix with ones on diagonal k. */
export function eye(nRows: number, mCols?: number, k = 0, dtype: DType = "float32"): MxArray {
  return wrap(n.eye(nRows, mCols ?? nRows, k, dtypeCode(dtype)));
}

export function identity(size: number, dtype: DType = "float32"): MxArray {
  return eye(size, size, 0, dtype);
}

/** An n x m matrix with ones at and below diagonal k. */
export function tri(nRows: number, mCols?: number, k = 0, dtype: DType = "float32"): MxArray {
  return wrap(n.tri(nRows, mCols ?? nRows, k, dtypeCode(dtype)));
}

/** The same array converted to `dtype`. */
export function astype(a: MxArray, dtype: DType): MxArray {
  return wrap(astypeHandle(a.handle, dtype));
}

/** The same bytes read as another dtype (sizes must divide the last axis). */
export function view(a: MxArray, dtype: DType): MxArray {
  return wrap(n.view(a.handle, dtypeCode(dtype)));
}
