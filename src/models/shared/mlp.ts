// The two MLPs of every family, with the child names each family's checkpoints use:
//   GatedMLP: down(act(gate(x)) · up(x)), act silu (SwiGLU) unless given; gate and up as two
//             projections (llama's gate_proj / up_proj, LFM2's w1 / w3) or one fused [gate | up]
//             projection (Phi-3's gate_up_proj).
//   PlainMLP: down(act(up(x))) (GPT-2's c_fc / c_proj, GPT-NeoX's dense_h_to_4h / dense_4h_to_h).
// Children are created in the order the names are given, as each family declares them.
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { silu, siluGate } from "../../nn/layers/activations.ts";
import { Linear, type LinearLike } from "../../nn/layers/linear.ts";
import { Module } from "../../nn/module.ts";
import { BLOCKED_FROM } from "./query-blocks.ts";

export type Activation = (x: MxArray) => MxArray;

export type GatedNames = { gate: string; up: string; down: string } | { gateUp: string; down: string };

export interface MLPOptions<N> {
  bias?: boolean;
  activation?: Activation;
  names?: N;
}

const LLAMA_NAMES: GatedNames = { gate: "gate_proj", down: "down_proj", up: "up_proj" };

function child(module: Module, name: string): LinearLike {
  return (module as unknown as Record<string, LinearLike>)[name] as LinearLike;
}

function addChild(module: Module, name: string, layer: LinearLike): void {
  (module as unknown as Record<string, LinearLike>)[name] = layer;
}

export class GatedMLP extends Module {
  readonly _names: GatedNames;
  readonly _activation: Activation;
  /**
   * Whether silu(gate) · up over BLOCKED_FROM or more positions runs as mlux's own float32 CPU kernel
   * (mx.cpuKernels.siluGate: its exponential differs from libmlx's in the last bits): set at load
   * where attention runs in query blocks (compute-dtype.ts), never under "native".
   */
  _ownKernels = false;

  constructor(dims: number, hiddenDims: number, options: MLPOptions<GatedNames> = {}) {
    super();
    const bias = options.bias ?? false;
    this._names = options.names ?? LLAMA_NAMES;
    this._activation = options.activation ?? silu;
    for (const [role, name] of Object.entries(this._names)) {
      const layer =
        role === "down"
          ? new Linear(hiddenDims, dims, { bias })
          : new Linear(dims, role === "gateUp" ? 2 * hiddenDims : hiddenDims, { bias });
      addChild(this, name, layer);
    }
  }

  override forward(x: MxArray): MxArray {
    return mx.tidy(() => {
      const names = this._names;
      const down = child(this, names.down);
      if ("gateUp" in names) {
        const [gate, up] = mx.split(child(this, names.gateUp).call(x), 2, -1) as [MxArray, MxArray];
        return down.call(this.#activate(gate, up));
      }
      return down.call(this.#activate(child(this, names.gate).call(x), child(this, names.up).call(x)));
    });
  }

  #activate(gate: MxArray, up: MxArray): MxArray {
    if (this._activation !== silu) return mx.multiply(this._activation(gate), up);
    const long = (gate.shape.at(-2) ?? 0) >= BLOCKED_FROM;
    if (this._ownKernels && long && gate.dtype === "float32" && mx.defaultDevice() === "cpu") {
      return mx.cpuKernels.siluGate(gate, up);
    }
    return siluGate(gate, up);
  }
}

export class PlainMLP extends Module {
  readonly _names: { up: string; down: string };
  readonly _activation: Activation;

  constructor(dims: number, hiddenDims: number, options: Required<MLPOptions<{ up: string; down: string }>>) {
    super();
    this._names = options.names;
    this._activation = options.activation;
    addChild(this, options.names.up, new Linear(dims, hiddenDims, { bias: options.bias }));
    addChild(this, options.names.down, new Linear(hiddenDims, dims, { bias: options.bias }));
  }

  override forward(x: MxArray): MxArray {
    return mx.tidy(() => child(this, this._names.down).call(this._activation(child(this, this._names.up).call(x))));
  }
}
