// Activation functions, with the formulas of mlx.nn (so results match it bit for bit).
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";

export const sigmoid = (x: MxArray): MxArray => mx.sigmoid(x);
export const relu = (x: MxArray): MxArray => mx.maximum(x, 0);
export const relu2 = (x: MxArray): MxArray => mx.tidy(() => mx.square(mx.maximum(x, 0)));
export const silu = (x: MxArray): MxArray => mx.tidy(() => mx.multiply(x, mx.sigmoid(x)));
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
