// The dtypes of MLX arrays. The order of DTYPES is the addon's dtype code (native/src/convert.cc).

export const DTYPES = [
  "bool",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "int8",
  "int16",
  "int32",
  "int64",
  "float16",
  "float32",
  "float64",
  "bfloat16",
  "complex64",
] as const;

export type DType = (typeof DTYPES)[number];

const codes = new Map<string, number>(DTYPES.map((name, code) => [name, code]));

export function dtypeCode(dtype: DType): number {
  const code = codes.get(dtype);
  if (code === undefined) {
    throw new TypeError(`unknown dtype ${JSON.stringify(dtype)}; expected one of ${DTYPES.join(", ")}`);
  }
  return code;
}

export function dtypeFromCode(code: number): DType {
  const name = DTYPES[code];
  if (name === undefined) throw new Error(`unknown dtype code ${code}`);
  return name;
}

export const ITEM_SIZE: Record<DType, number> = {
  bool: 1,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  float16: 2,
  float32: 4,
  float64: 8,
  bfloat16: 2,
  complex64: 8,
};

/**
 * The typed array that holds each dtype's data. float16 and bfloat16 are their raw 16-bit
 * patterns (Node 20 has no Float16Array); complex64 is interleaved (real, imaginary) float32 pairs.
 */
export interface TypedArrayOf {
  bool: Uint8Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  float16: Uint16Array;
  float32: Float32Array;
  float64: Float64Array;
  bfloat16: Uint16Array;
  complex64: Float32Array;
}

export type AnyTypedArray = TypedArrayOf[DType];

type TypedArrayConstructor = {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): AnyTypedArray;
  BYTES_PER_ELEMENT: number;
};

export const TYPED_ARRAY: Record<DType, TypedArrayConstructor> = {
  bool: Uint8Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  float16: Uint16Array,
  float32: Float32Array,
  float64: Float64Array,
  bfloat16: Uint16Array,
  complex64: Float32Array,
};

export function isFloating(dtype: DType): boolean {
  return dtype === "float16" || dtype === "float32" || dtype === "float64" || dtype === "bfloat16";
}

export function isInteger(dtype: DType): boolean {
  return dtype !== "bool" && !isFloating(dtype) && dtype !== "complex64";
}

// The dtypes as constants, as Python's mx.float32 ...: `mx.array(data, mx.float32)`.
export const bool = "bool" satisfies DType;
export const uint8 = "uint8" satisfies DType;
export const uint16 = "uint16" satisfies DType;
export const uint32 = "uint32" satisfies DType;
export const uint64 = "uint64" satisfies DType;
export const int8 = "int8" satisfies DType;
export const int16 = "int16" satisfies DType;
export const int32 = "int32" satisfies DType;
export const int64 = "int64" satisfies DType;
export const float16 = "float16" satisfies DType;
export const float32 = "float32" satisfies DType;
export const float64 = "float64" satisfies DType;
export const bfloat16 = "bfloat16" satisfies DType;
export const complex64 = "complex64" satisfies DType;
