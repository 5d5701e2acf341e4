// Activation functions, with the formulas of mlx.nn (so results match it bit for bit).
import { type MxArray, wrap } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { nativeFunctions } from "../../mx/native.ts";
import { operand } from "../../mx/operand.ts";

const n = nativeFunctions("siluGate");

export const sigmoid = (x: MxArray): MxArray => mx.sigmoid(x);
export const relu = (x: MxArray): MxArray => mx.maximum(x, 0);
export const relu2 = (x: MxArray): MxArray => mx.tidy(() => mx.square(mx.maximum(x, 0)));
export const silu = (x: MxArray): MxArray => mx.tidy(() => mx.multiply(x, mx.sigmoid(x)));

/**
 * silu(gate) · up, the gated MLP's SwiGLU, with the same values as those two steps. On the GPU its
 * three elementwise ops are compiled into one kernel, as mlx-lm compiles its swiglu: one pass over
 * the [tokens, d_mlp] activations instead of three. On the CPU they stay three ops (compiling there
 * runs a C++ compiler at run time).
 */
export function siluGate(gate: MxArray, up: MxArray): MxArray {
  return wrap(n.siluGate(operand(gate), operand(up), mx.defaultDevice() === "gpu"));
}
export const softplus = (x: MxArray): MxArray => mx.logaddexp(x, 0);

/** Exact GELU: x (1 + erf(x / √2)) / 2. */
export const gelu = (x: MxArray): MxArray =>
  mx.tidy(() => mx.divide(mx.multiply(x, mx.add(1, mx.erf(mx.divide(x, Math.SQRT2)))), 2));

/** Tanh GELU ("gelu_pytorch_tanh"): 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))). */
export const geluApprox = (x: MxArray): MxArray =>
  mx.tidy(() => {
    const inner = mx.multiply(Math.sqrt(2 / Math.PI), mx.add(x, mx.multiply(0.044715, mx.power(x, 3))));
    return mx.multiply(mx.multiply(0.5, x), mx.add(1, mx.tanh(inner)));
  });

/** Sigmoid GELU: x σ(1.702 x). */
export const geluFastApprox = (x: MxArray): MxArray => mx.tidy(() => mx.multiply(x, mx.sigmoid(mx.multiply(1.702, x))));
