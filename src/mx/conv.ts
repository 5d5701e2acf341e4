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
  return wrap(
    n.conv1d(
      operand(input),
      operand(weight),
      options.stride ?? 1,
      options.padding ?? 0,
      options.dilation ?? 1,
      options.groups ?? 1,
    ),
  );
}
