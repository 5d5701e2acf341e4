// Token embeddings, plain and quantized; asLinear() is the tied unembedding.
import type { MxArray } from "../../mx/array.ts";
import { isDeferred } from "../../mx/deferred-range.ts";
import type { DType } from "../../mx/dtype.ts";
import { hostRange } from "../../mx/host-range.ts";
import * as mx from "../../mx/index.ts";
import { linear } from "../../mx/linalg.ts";
import { Module } from "../module.ts";
import { dequantizeWide, packedWidth, type QuantizationSpec } from "./linear.ts";

/** A lookup table [numEmbeddings, dims] (mlx.nn.Embedding). */
export class Embedding extends Module {
  weight: MxArray;

  constructor(numEmbeddings: number, dims: number) {
    super();
    this.weight = mx.zeros([numEmbeddings, dims]);
  }

  /** The rows for integer token ids `x` (any shape): x.shape + [dims]. */
  override forward(x: MxArray): MxArray {
    requireTokenIds(x);
    return mx.take(this.weight, x, 0);
  }

  /** x Wᵀ: the table used as an output projection (tied embeddings). */
  asLinear(x: MxArray): MxArray {
    return linear(x, this.weight);
  }

  toQuantized(spec: QuantizationSpec): QuantizedEmbedding {
    const [numEmbeddings, dims] = this.weight.shape as [number, number];
    return new QuantizedEmbedding(numEmbeddings, dims, spec);
  }
}

/** An Embedding whose table is quantized (mlx.nn.QuantizedEmbedding). */
export class QuantizedEmbedding extends Module {
  weight: MxArray;
  scales: MxArray;
  biases?: MxArray;
  readonly _spec: QuantizationSpec;

  constructor(numEmbeddings: number, dims: number, spec: QuantizationSpec) {
    super();
    this._spec = { ...spec };
    this.weight = mx.zeros([numEmbeddings, packedWidth(dims, spec.bits)], "uint32");
    const groups = dims / spec.groupSize;
    const affine = spec.mode === "affine";
    this.scales = mx.zeros([numEmbeddings, groups], affine ? "float32" : "uint8");
    if (affine) this.biases = mx.zeros([numEmbeddings, groups]);
  }

  override forward(x: MxArray): MxArray {
    requireTokenIds(x);
    return mx.tidy(() => {
      const rows = (a: MxArray) => mx.take(a, x, 0);
      return mx.dequantize(rows(this.weight), rows(this.scales), this.biases ? rows(this.biases) : null, this._spec);
    });
  }

  asLinear(x: MxArray): MxArray {
    return mx.quantizedMatmul(x, this.weight, this.scales, this.biases ?? null, { transpose: true, ...this._spec });
  }

  /** A plain Embedding holding the table dequantized to `dtype` (scales widened first, as QuantizedLinear.toDense). */
  toDense(dtype: DType): Embedding {
    const [numEmbeddings, packed] = [this.weight.shape[0] as number, this.weight.shape[1] as number];
    const dense = new Embedding(numEmbeddings, (packed * 32) / this._spec.bits);
    dense.weight.dispose();
    dense.weight = mx.tidy(() => dequantizeWide(this.weight, this.scales, this.biases, this._spec, dtype));
    return dense;
  }
}

// Token ids are integers from 0: take() would read a float id's truncation and count a negative
// one from the end of the table. (take() checks the upper bound.) Ids whose range check is
// deferred to the generator (src/mx/deferred-range.ts) are not read here.
function requireTokenIds(x: MxArray): void {
  const dtype = x.dtype;
  if (dtype === "bool" || dtype === "complex64" || dtype.startsWith("float") || dtype === "bfloat16") {
    throw new TypeError(`token ids must be an integer Array, got ${dtype}`);
  }
  if (x.size === 0 || dtype.startsWith("uint") || isDeferred(x)) return;
  // Ids made from JavaScript numbers are checked from the values read as they were made, without
  // waiting for the device.
  const least = hostRange(x)?.min ?? mx.tidy(() => mx.min(x).item() as number | bigint);
  if (least < 0) throw new RangeError(`token id ${least} is negative; token ids run from 0 to the vocabulary size - 1`);
}

/** An embedding table as a model holds it: plain, or quantized once the checkpoint says so. */
export type EmbeddingLike = Embedding | QuantizedEmbedding;
