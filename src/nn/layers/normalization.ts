// Normalization layers (mlx.nn.RMSNorm, mlx.nn.LayerNorm) on the fused kernels.
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { Module } from "../module.ts";

export class RMSNorm extends Module {
  weight: MxArray;
  readonly _eps: number;

  constructor(dims: number, eps = 1e-5) {
    super();
    this.weight = mx.ones([dims]);
    this._eps = eps;
  }

  override forward(x: MxArray): MxArray {
    return mx.fast.rmsNorm(x, this.weight, this._eps);
  }
}

export class LayerNorm extends Module {
  weight?: MxArray;
  bias?: MxArray;
  readonly _eps: number;

  constructor(dims: number, options: { eps?: number; affine?: boolean; bias?: boolean } = {}) {
    super();
    this._eps = options.eps ?? 1e-5;
    if (options.affine ?? true) {
      this.weight = mx.ones([dims]);
      if (options.bias ?? true) this.bias = mx.zeros([dims]);
    }
  }

  override forward(x: MxArray): MxArray {
    return mx.fast.layerNorm(x, this.weight ?? null, this.bias ?? null, this._eps);
  }
}
