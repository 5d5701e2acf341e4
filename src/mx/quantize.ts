// Quantized weights: packing, unpacking, and matrix products on packed weights (mlx.core counterparts).
import { type MxArray, wrap, wrapAll } from "./array.ts";
import { defaultDevice } from "./device.ts";
import { type DType, dtypeCode } from "./dtype.ts";
import { matmul } from "./linalg.ts";
import { type Handle, nativeFunctions } from "./native.ts";
import { describe, operand } from "./operand.ts";
import { runtimeInfo } from "./runtime.ts";
import { tidy } from "./scope.ts";
import { swapaxes } from "./shape.ts";

const n = nativeFunctions("dequantize", "fromFp8", "gatherQmm", "quantize", "quantizedMatmul", "toFp8");

/**
 * How weights are packed. affine: per group a scale and a bias (group size 32, 64 or 128, default
 * 64; bits 1-6 or 8, default 4). mxfp4 (group 32, 4 bits), mxfp8 (group 32, 8 bits), nvfp4 (group
 * 16, 4 bits): small floats with one 8-bit scale per group and no bias.
 */
export type QuantizationMode = "affine" | "mxfp4" | "nvfp4" | "mxfp8";

export interface QuantizationOptions {
  /** Elements of a row that share a scale (and bias); the mode's default when unset. */
  groupSize?: number;
  /** Bits per element; the mode's default when unset. */
  bits?: number;
  /** Default "affine". */
  mode?: QuantizationMode;
}

/** A quantized weight: packed uint32 data, per-group scales, and per-group biases (affine mode only). */
export interface Quantized {
  wq: MxArray;
  scales: MxArray;
  biases?: MxArray;
}

function modeOf(options: { mode?: QuantizationMode }): QuantizationMode {
  const mode = options.mode ?? "affine";
  if (typeof mode !== "string") {
    throw new TypeError(`quantization mode must be "affine", "mxfp4", "nvfp4" or "mxfp8", got ${describe(mode)}`);
  }
  return mode;
}

function optionalHandle(a: MxArray | null | undefined): Handle | undefined {
  return a === null || a === undefined ? undefined : (operand(a) as Handle);
}

/**
 * Quantizes `w` (at least 2-D; last axis divisible by the group size) along its last axis. For
 * nvfp4, `globalScale` is an optional float32 scale applied to the whole tensor.
 */
export function quantize(w: MxArray, options: QuantizationOptions & { globalScale?: MxArray } = {}): Quantized {
  const out = wrapAll(
    n.quantize(operand(w), options.groupSize, options.bits, modeOf(options), optionalHandle(options.globalScale)),
  );
  const [wq, scales, biases] = out as [MxArray, MxArray, MxArray | undefined];
  return biases === undefined ? { wq, scales } : { wq, scales, biases };
}

/**
 * Unpacks a quantized weight. `biases` is required in affine mode and must be null/undefined in
 * the others. The result takes the scales' dtype unless `dtype` is given.
 */
export function dequantize(
  wq: MxArray,
  scales: MxArray,
  biases?: MxArray | null,
  options: QuantizationOptions & { globalScale?: MxArray; dtype?: DType } = {},
): MxArray {
  return wrap(
    n.dequantize(
      operand(wq),
      operand(scales),
      optionalHandle(biases),
      options.groupSize,
      options.bits,
      modeOf(options),
      optionalHandle(options.globalScale),
      options.dtype === undefined ? undefined : dtypeCode(options.dtype),
    ),
  );
}

/**
 * x @ W.T (or x @ W with `transpose: false`) where W is given quantized, without unpacking it:
 * the product a quantized Linear layer computes.
 */
export function quantizedMatmul(
  x: MxArray,
  wq: MxArray,
  scales: MxArray,
  biases?: MxArray | null,
  options: QuantizationOptions & { transpose?: boolean } = {},
): MxArray {
  if (cudaKernelIsWrongFor(x)) {
    return tidy(() => {
      const w = dequantize(wq, scales, biases, { ...options, dtype: x.dtype });
      return matmul(x, (options.transpose ?? true) ? swapaxes(w, -1, -2) : w);
    });
  }
  return wrap(
    n.quantizedMatmul(
      operand(x),
      operand(wq),
      operand(scales),
      optionalHandle(biases),
      options.transpose ?? true,
      options.groupSize,
      options.bits,
      modeOf(options),
    ),
  );
}

/**
 * MLX 0.32.4's CUDA quantized product returns wrong values, different from run to run, when x has
 * more than one row and fewer than 128 elements per row: measured with Python MLX alone on an H100
 * (bench/cuda/qmm_sweep.py: 64 inputs wrong at 4 to 20 rows, 128 and more right at every row count).
 * Only tiny models have such layers, so there the product runs on the unpacked weight instead:
 * the same values up to float rounding, at a cost that does not matter at that size.
 */
function cudaKernelIsWrongFor(x: MxArray): boolean {
  if (runtimeInfo.backend !== "cuda" || defaultDevice() !== "gpu") return false;
  const shape = x.shape;
  const inputs = shape[shape.length - 1] ?? 0;
  return inputs < 128 && x.size / Math.max(inputs, 1) > 1;
}

export interface GatherQmmOptions extends QuantizationOptions {
  /** Which batch entry of x each product uses (default: all, in order). */
  lhsIndices?: MxArray;
  /** Which matrix of the stacked quantized W each product uses (default: all, in order). */
  rhsIndices?: MxArray;
  /** Default true: x @ W.T. */
  transpose?: boolean;
  globalScale?: MxArray;
  /** A promise that rhsIndices are sorted, which allows a faster kernel. */
  sortedIndices?: boolean;
}

/** quantizedMatmul with the matrices picked by index arrays: the quantized mixture-of-experts product. */
export function gatherQmm(
  x: MxArray,
  wq: MxArray,
  scales: MxArray,
  biases?: MxArray | null,
  options: GatherQmmOptions = {},
): MxArray {
  return wrap(
    n.gatherQmm(
      operand(x),
      operand(wq),
      operand(scales),
      optionalHandle(biases),
      optionalHandle(options.lhsIndices),
      optionalHandle(options.rhsIndices),
      options.transpose ?? true,
      options.groupSize,
      options.bits,
      modeOf(options),
      optionalHandle(options.globalScale),
      options.sortedIndices ?? false,
    ),
  );
}

/** Converts floats to E4M3 float8, returned as their uint8 bit patterns. */
export function toFp8(x: MxArray): MxArray {
  return wrap(n.toFp8(operand(x)));
}

/** Converts E4M3 float8 bit patterns (uint8) to `dtype` (default bfloat16). */
export function fromFp8(x: MxArray, dtype: DType = "bfloat16"): MxArray {
  return wrap(n.fromFp8(operand(x), dtypeCode(dtype)));
}
