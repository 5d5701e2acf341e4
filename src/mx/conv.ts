// Convolutions, channels last as in mlx.core: conv1d input [N, L, C_in], weight [C_out, K, C_in / groups].
import { type MxArray, wrap } from "./array.ts";
import { nativeFunctions } from "./native.ts";
import { operand } from "./operand.ts";

const n = nativeFunctions("conv1d");

export interface Conv1dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
}

/** 1-D convolution (cross-correlation) of input [N, L, C_in] with weight [C_out, K, C_in / groups]. */
export function conv1d(input: MxArray, weight: MxArray, options: Conv1dOptions = {}): MxArray {
  const stride = options.stride ?? 1;
  const padding = options.padding ?? 0;
  const dilation = options.dilation ?? 1;
  const groups = options.groups ?? 1;
  // MLX divides by groups (SIGFPE at 0) and silently accepts a negative padding.
  requireInteger("stride", stride, 1);
  requireInteger("padding", padding, 0);
  requireInteger("dilation", dilation, 1);
  requireInteger("groups", groups, 1);
  return wrap(n.conv1d(operand(input), operand(weight), stride, padding, dilation, groups));
}

function requireInteger(name: string, value: unknown, least: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < least || value > 2 ** 31 - 1) {
    throw new RangeError(`conv1d: ${name} must be an integer of at least ${least}, got ${String(value)}`);
  }
}
