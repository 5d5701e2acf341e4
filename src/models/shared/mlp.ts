// The gated MLP of the llama-like families: down(silu(gate(x)) * up(x)).
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { silu } from "../../nn/layers/activations.ts";
import { Linear, type LinearLike } from "../../nn/layers/linear.ts";
import { Module } from "../../nn/module.ts";

export class GatedMLP extends Module {
  gate_proj: LinearLike;
  down_proj: LinearLike;
  up_proj: LinearLike;

  constructor(hiddenSize: number, intermediateSize: number, bias = false) {
    super();
    this.gate_proj = new Linear(hiddenSize, intermediateSize, { bias });
    this.down_proj = new Linear(intermediateSize, hiddenSize, { bias });
    this.up_proj = new Linear(hiddenSize, intermediateSize, { bias });
  }

  override forward(x: MxArray): MxArray {
    return mx.tidy(() => this.down_proj.call(mx.multiply(silu(this.gate_proj.call(x)), this.up_proj.call(x))));
  }
}
