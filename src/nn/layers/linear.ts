// Linear layers: plain and quantized, with mlx.nn's parameter names and math.
import type { MxArray } from "../../mx/array.ts";
import type { DType } from "../../mx/dtype.ts";
import * as mx from "../../mx/index.ts";
import { linear } from "../../mx/linalg.ts";
import { Module } from "../module.ts";

/** y = x Wᵀ + b, with weight [outputDims, inputDims] as in mlx.nn.Linear. */
export class Linear extends Module {
  weight: MxArray;
  bias?: MxArray;

  constructor(inputDims: number, outputDims: number, options: { bias?: boolean } = {}) {
    super();
    this.weight = mx.zeros([outputDims, inputDims]);
    if (options.bias ?? true) this.bias = mx.zeros([outputDims]);
  }

  override forward(x: MxArray): MxArray {
    return linear(x, this.weight, this.bias);
  }

  /** The weight [outputDims, inputDims] as a new Array in `dtype` (the caller owns it). */
  denseWeight(dtype: DType = this.weight.dtype): MxArray {
    return mx.astype(this.weight, dtype);
  }

  toQuantized(spec: QuantizationSpec): QuantizedLinear {
    const [outputDims, inputDims] = this.weight.shape as [number, number];
    return new QuantizedLinear(inputDims, outputDims, { ...spec, bias: this.bias !== undefined });
  }
}

export type QuantizationMode = "affine" | "mxfp4" | "nvfp4" | "mxfp8";

/** How a layer's weight is packed: as mlx-lm writes it in config.json "quantization". */
export interface QuantizationSpec {
  groupSize: number;
  bits: number;
  mode: QuantizationMode;
}

/** Packed size of one row of `dims` values at `bits` bits, in uint32 words. */
export function packedWidth(dims: number, bits: number): number {
  return (dims * bits) / 32;
}

/**
 * A Linear whose weight is quantized (mlx.nn.QuantizedLinear): weight is packed uint32, with
 * per-group scales (and biases in affine mode).
 */
export class QuantizedLinear extends Module {
  weight: MxArray;
  scales: MxArray;
  biases?: MxArray;
  bias?: MxArray;
  readonly _spec: QuantizationSpec;

  constructor(inputDims: number, outputDims: number, options: QuantizationSpec & { bias?: boolean }) {
    super();
    this._spec = { groupSize: options.groupSize, bits: options.bits, mode: options.mode };
    this.weight = mx.zeros([outputDims, packedWidth(inputDims, options.bits)], "uint32");
    const groups = inputDims / options.groupSize;
    const affine = options.mode === "affine";
    this.scales = mx.zeros([outputDims, groups], affine ? "float32" : "uint8");
    if (affine) this.biases = mx.zeros([outputDims, groups]);
    if (options.bias) this.bias = mx.zeros([outputDims]);
  }

  override forward(x: MxArray): MxArray {
    return mx.tidy(() => {
      const y = mx.quantizedMatmul(x, this.weight, this.scales, this.biases ?? null, {
        transpose: true,
        ...this._spec,
      });
      return this.bias ? mx.add(y, this.bias) : y;
    });
  }

  /** The weight [outputDims, inputDims] dequantized to `dtype` (the caller owns it). */
  denseWeight(dtype: DType): MxArray {
    return mx.dequantize(this.weight, this.scales, this.biases ?? null, { ...this._spec, dtype });
  }

  /**
   * A plain Linear computing the same product in `dtype`: the weight dequantized with its scales
   * and biases first widened to `dtype` (so a float32 result is exact, not rounded through
   * float16), the bias cast.
   */
  toDense(dtype: DType): Linear {
    const [outputDims, inputDims] = [this.weight.shape[0] as number, this.weight.shape[1] as number];
    const dense = new Linear((inputDims * 32) / this._spec.bits, outputDims, { bias: this.bias !== undefined });
    dense.weight.dispose();
    dense.weight = mx.tidy(() => dequantizeWide(this.weight, this.scales, this.biases, this._spec, dtype));
    if (this.bias && dense.bias) {
      dense.bias.dispose();
      dense.bias = mx.astype(this.bias, dtype);
    }
    return dense;
  }
}

/** Packed weights dequantized to `dtype`, affine scales and biases widened to it first. */
export function dequantizeWide(
  weight: MxArray,
  scales: MxArray,
  biases: MxArray | undefined,
  spec: QuantizationSpec,
  dtype: DType,
): MxArray {
  // mxfp/nvfp scales are uint8 exponents, not values: those dequantize as they are.
  const widen = (a: MxArray) => (spec.mode === "affine" ? mx.astype(a, dtype) : a);
  return mx.dequantize(weight, widen(scales), biases ? widen(biases) : null, { ...spec, dtype });
}

/** A linear layer as a model holds it: plain, or quantized once the checkpoint says so. */
export type LinearLike = Linear | QuantizedLinear;
