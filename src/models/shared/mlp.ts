// The gated MLP of the llama-like families: down(act(gate(x)) * up(x)), with act silu (SwiGLU) unless
// given (Gemma: exact gelu; Gemma 2/3: tanh gelu).
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { silu } from "../../nn/layers/activations.ts";
import { Linear, type LinearLike } from "../../nn/layers/linear.ts";
import { Module } from "../../nn/module.ts";

export type Activation = (x: MxArray) => MxArray;

export class GatedMLP extends Module {
  gate_proj: LinearLike;
  down_proj: LinearLike;
  up_proj: LinearLike;
  readonly _activation: Activation;

  constructor(hiddenSize: number, intermediateSize: number, bias = false, activation: Activation = silu) {
    super();
    this.gate_proj = new Linear(hiddenSize, intermediateSize, { bias });
    this.down_proj = new Linear(intermediateSize, hiddenSize, { bias });
    this.up_proj = new Linear(hiddenSize, intermediateSize, { bias });
    this._activation = activation;
  }

  override forward(x: MxArray): MxArray {
    return mx.tidy(() =>
      this.down_proj.call(mx.multiply(this._activation(this.gate_proj.call(x)), this.up_proj.call(x))),
    );
  }
}
