// 1-D convolution with mlx.nn.Conv1d's parameter names and layout: weight [out, kernel, in / groups].
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { Module } from "../module.ts";

export class Conv1d extends Module {
  weight: MxArray;
  bias?: MxArray;
  readonly _options: { stride: number; padding: number; dilation: number; groups: number };

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    options: { stride?: number; padding?: number; dilation?: number; groups?: number; bias?: boolean } = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    if (inChannels % groups !== 0) throw new Error(`Conv1d: ${inChannels} input channels in ${groups} groups`);
    this.weight = mx.zeros([outChannels, kernelSize, inChannels / groups]);
    if (options.bias ?? true) this.bias = mx.zeros([outChannels]);
    this._options = {
      stride: options.stride ?? 1,
      padding: options.padding ?? 0,
      dilation: options.dilation ?? 1,
      groups,
    };
  }

  /** x [N, L, C_in] → [N, L_out, C_out]. */
  override forward(x: MxArray): MxArray {
    return mx.tidy(() => {
      const y = mx.conv1d(x, this.weight, this._options);
      return this.bias ? mx.add(y, this.bias) : y;
    });
  }
}
