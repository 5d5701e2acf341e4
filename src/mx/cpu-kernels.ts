// mx.cpuKernels: float32 CPU kernels of mlux's own (native/src/cpu_kernels.cc), no MLX counterpart.
// Their exponential is a vectorized polynomial within a few ulp of exact, not libmlx's (whose CPU exp
// runs one element at a time), so results differ from MLX's ops in the last bits: the models use
// them only where mlux already computes otherwise than mlx-lm (see models/compute-dtype.ts).
// CPU only, float32 only, not differentiable.
import { type MxArray, wrap } from "./array.ts";
import { nativeFunctions } from "./native.ts";
import { operand } from "./operand.ts";

const n = nativeFunctions("cpuExp", "cpuSiluGate", "cpuCausalSoftmax");

/** exp(x), elementwise. */
function exp(x: MxArray): MxArray {
  return wrap(n.cpuExp(operand(x)));
}

/** silu(gate) · up = gate · up / (1 + exp(-gate)) in one pass; gate and up of one shape. */
function siluGate(gate: MxArray, up: MxArray): MxArray {
  return wrap(n.cpuSiluGate(operand(gate), operand(up)));
}

export interface CausalSoftmaxOptions {
  /** Queries per block: row r of the rows axis is the query at position offset + (r mod block). */
  block: number;
  /** Position of each block's first query: it sees keys 0 to offset. */
  offset: number;
  /** Multiplies the scores first (default 1). */
  scale?: number;
}

/**
 * Softmax over the last axis of scale · scores ([..., rows, keys], rows a multiple of `block`), each
 * row over the keys up to its query's position only (a causal mask): later keys get exactly 0. With
 * grouped-query attention, the query heads sharing a key head can be folded into the rows
 * ([heads per key head × block] rows), their positions repeating every `block` rows.
 */
function causalSoftmax(scores: MxArray, options: CausalSoftmaxOptions): MxArray {
  return wrap(n.cpuCausalSoftmax(operand(scores), options.block, options.offset, options.scale ?? 1));
}

/** mlux's own float32 CPU kernels. */
export const cpuKernels = { exp, siluGate, causalSoftmax } as const;
