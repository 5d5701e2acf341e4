// JS numbers and bigints written into an integer dtype, refusing what the dtype cannot hold. MLX's
// own conversion wraps around (2 ** 31 as int32 becomes -2 ** 31) or goes through float32 (which
// rounds 4294967295 up to 2 ** 32, then 0 as uint32), and both lose the value without a word.
import type { AnyTypedArray, DType } from "./dtype.ts";
import { describe } from "./operand.ts";

/** The inclusive range of each integer dtype, as bigints. */
export const INTEGER_RANGE: Partial<Record<DType, readonly [bigint, bigint]>> = {
  uint8: [0n, 255n],
  uint16: [0n, 65535n],
  uint32: [0n, 4294967295n],
  uint64: [0n, 18446744073709551615n],
  int8: [-128n, 127n],
  int16: [-32768n, 32767n],
  int32: [-2147483648n, 2147483647n],
  int64: [-9223372036854775808n, 9223372036854775807n],
};

/**
 * The values as a typed array of `dtype` (an integer dtype). Fractions are truncated toward zero,
 * as MLX's cast does; a value outside the dtype's range, NaN or Infinity throws a RangeError that
 * names the element.
 */
export function integerData(values: readonly unknown[], dtype: DType): AnyTypedArray {
  const range = INTEGER_RANGE[dtype];
  if (!range) throw new TypeError(`${dtype} is not an integer dtype`);
  const [lo, hi] = range;
  if (dtype !== "int64" && dtype !== "uint64") return narrowIntegerData(values, dtype, Number(lo), Number(hi));
  const exact = values.map((v, i) => {
    let whole: bigint;
    if (typeof v === "bigint") whole = v;
    else if (typeof v === "boolean") whole = v ? 1n : 0n;
    else if (typeof v === "number" && Number.isFinite(v)) whole = BigInt(Math.trunc(v));
    else throw new RangeError(`element ${i} (${describe(v)}) cannot be stored as ${dtype}`);
    if (whole < lo || whole > hi) {
      throw new RangeError(`element ${i} (${String(v)}) is out of range for ${dtype} (${lo} to ${hi})`);
    }
    return whole;
  });
  return dtype === "int64" ? BigInt64Array.from(exact) : BigUint64Array.from(exact);
}

// Dtypes of at most 32 bits, whose whole range JS numbers hold exactly: the same checks without a
// bigint per element (token ids pass through here on every forward pass).
function narrowIntegerData(values: readonly unknown[], dtype: DType, lo: number, hi: number): AnyTypedArray {
  const Typed = {
    uint8: Uint8Array,
    uint16: Uint16Array,
    uint32: Uint32Array,
    int8: Int8Array,
    int16: Int16Array,
    int32: Int32Array,
  }[dtype as "int32"];
  const out = new Typed(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let whole: number;
    if (typeof v === "number" && Number.isFinite(v)) whole = Math.trunc(v);
    else if (typeof v === "bigint") whole = v < BigInt(lo) || v > BigInt(hi) ? Number.NaN : Number(v);
    else if (typeof v === "boolean") whole = v ? 1 : 0;
    else throw new RangeError(`element ${i} (${describe(v)}) cannot be stored as ${dtype}`);
    if (!(whole >= lo && whole <= hi)) {
      throw new RangeError(`element ${i} (${String(v)}) is out of range for ${dtype} (${lo} to ${hi})`);
    }
    out[i] = whole;
  }
  return out;
}
