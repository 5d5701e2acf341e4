// Normalization layers (mlx.nn.RMSNorm, mlx.nn.LayerNorm) on the fused kernels, and what the
// analysis needs to apply one to a part of its input with the statistics of the whole (FeatureNorm).
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { Module } from "../module.ts";

/**
 * A norm written as y = centre?(x) / sqrt(mean(centre?(x)²) + eps) · scale + shift, each part as
 * the layer applies it, so that a stack of residual components can be normalized with the
 * statistics of the stream they sum to.
 */
export interface FeatureNorm {
  /** The mean is subtracted before scaling (LayerNorm), or not (RMSNorm). */
  readonly centres: boolean;
  readonly eps: number;
  /** The multiplier of each feature as the layer applies it ((1 + weight) where the layer adds one), if any. */
  scale(): MxArray | undefined;
  /** The added constant of each feature (LayerNorm's bias), if any. */
  shift(): MxArray | undefined;
  /** The layer's own forward pass (its fused kernel). */
  forward(x: MxArray): MxArray;
}

export function isFeatureNorm(module: unknown): module is Module & FeatureNorm {
  return module instanceof RMSNorm || module instanceof LayerNorm;
}

export class RMSNorm extends Module implements FeatureNorm {
  weight: MxArray;
  readonly _eps: number;
  readonly _weightPlusOne: boolean;

  /** `weightPlusOne`: scale by (1 + weight), the 1 added in the weight's dtype (Gemma's RMSNorm). */
  constructor(dims: number, eps = 1e-5, options: { weightPlusOne?: boolean } = {}) {
    super();
    this.weight = mx.ones([dims]);
    this._eps = eps;
    this._weightPlusOne = options.weightPlusOne ?? false;
  }

  override forward(x: MxArray): MxArray {
    if (this._weightPlusOne) return mx.tidy(() => mx.fast.rmsNorm(x, mx.add(1, this.weight), this._eps));
    return mx.fast.rmsNorm(x, this.weight, this._eps);
  }

  get centres(): boolean {
    return false;
  }

  get eps(): number {
    return this._eps;
  }

  scale(): MxArray {
    return this._weightPlusOne ? mx.add(1, this.weight) : this.weight;
  }

  shift(): undefined {
    return undefined;
  }
}

export class LayerNorm extends Module implements FeatureNorm {
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

  get centres(): boolean {
    return true;
  }

  get eps(): number {
    return this._eps;
  }

  scale(): MxArray | undefined {
    return this.weight;
  }

  shift(): MxArray | undefined {
    return this.bias;
  }
}
