// The two-layer MLP of GPT-2 and StarCoder2: c_proj(act(c_fc(x))), both with biases.
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { Linear, type LinearLike } from "../nn/layers/linear.ts";
import { Module } from "../nn/module.ts";

export class FcMLP extends Module {
  c_fc: LinearLike;
  c_proj: LinearLike;
  readonly _activation: (x: MxArray) => MxArray;

  constructor(dims: number, hiddenDims: number, activation: (x: MxArray) => MxArray) {
    super();
    this.c_fc = new Linear(dims, hiddenDims, { bias: true });
    this.c_proj = new Linear(hiddenDims, dims, { bias: true });
    this._activation = activation;
  }

  override forward(x: MxArray): MxArray {
    return mx.tidy(() => this.c_proj.call(this._activation(this.c_fc.call(x))));
  }
}
