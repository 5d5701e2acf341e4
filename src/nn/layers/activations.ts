// Activation functions, with the formulas of mlx.nn (so results match it bit for bit).
import { type MxArray, wrap } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { nativeFunctions } from "../../mx/native.ts";
import { operand } from "../../mx/operand.ts";

const n = nativeFunctions("activation");

type NativeActivation = "silu" | "gelu" | "gelu_approx" | "gelu_fast_approx" | "relu2" | "silu_gate";

/**
 * mlx.nn's activation `name` (its formulas, op for op). mlx.nn compiles each one, so on a GPU its
 * elementwise ops run as one kernel, which rounds differently from the ops one by one: they are
 * compiled there too, with mlx-lm's values. On the CPU they run op by op (compiling there starts a
 * C++ compiler at run time; the values are the same).
 */
function activation(name: NativeActivation, ...inputs: MxArray[]): MxArray {
  return wrap(n.activation(name, mx.defaultDevice() === "gpu", ...inputs.map(operand)));
}

export const sigmoid = (x: MxArray): MxArray => mx.sigmoid(x);
export const relu = (x: MxArray): MxArray => mx.maximum(x, 0);
/** max(x, 0)². */
export const relu2 = (x: MxArray): MxArray => activation("relu2", x);
/** x σ(x). */
export const silu = (x: MxArray): MxArray => activation("silu", x);

/**
 * silu(gate) · up, the gated MLP's SwiGLU, as mlx-lm's swiglu: on the GPU one kernel reading gate
 * and up once instead of three passes over the [tokens, d_mlp] activations.
 */
export const siluGate = (gate: MxArray, up: MxArray): MxArray => activation("silu_gate", gate, up);
export const softplus = (x: MxArray): MxArray => mx.logaddexp(x, 0);

/** Exact GELU: x (1 + erf(x / √2)) / 2. */
export const gelu = (x: MxArray): MxArray => activation("gelu", x);

/** Tanh GELU ("gelu_pytorch_tanh"): 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))). */
export const geluApprox = (x: MxArray): MxArray => activation("gelu_approx", x);

/** Sigmoid GELU: x σ(1.702 x). */
export const geluFastApprox = (x: MxArray): MxArray => activation("gelu_fast_approx", x);
