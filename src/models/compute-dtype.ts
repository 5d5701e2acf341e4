// The dtype a model computes in, chosen at load. MLX's CPU backend runs float32 matrix products
// through BLAS (OpenBLAS on Linux, through the GEMM shim) but float16, bfloat16 and quantized ones
// through generic kernels 15-40x slower (4-bit with float16 scales: over 1000x), so on the CPU
// "auto" computes in float32, dequantizing quantized weights when they fit a memory budget. On a
// GPU "auto" keeps what the checkpoint stores, as mlx-lm does.
import { totalmem } from "node:os";
import type { DType } from "../mx/dtype.ts";
import * as mx from "../mx/index.ts";
import { QuantizedEmbedding } from "../nn/layers/embedding.ts";
import { QuantizedLinear } from "../nn/layers/linear.ts";
import type { Module } from "../nn/module.ts";
import { dequantizeModel } from "../nn/quantize.ts";
import { GatedMLP } from "./shared/mlp.ts";
import { MultiHeadAttention } from "./shared/multihead.ts";

/** "native": exactly what the checkpoint stores (as mlx-lm computes); "auto": see the top of this file. */
export type ComputeDtype = "native" | "auto" | "float32" | "float16" | "bfloat16";

export const COMPUTE_DTYPES: readonly ComputeDtype[] = ["native", "auto", "float32", "float16", "bfloat16"];

export interface ComputeOptions {
  /** The dtype to compute in (default "auto"). */
  dtype?: ComputeDtype;
  /**
   * Bytes the dequantized weights may take before "auto" keeps a quantized checkpoint packed
   * (default: half of the machine's memory, or MLUX_DEQUANTIZE_BUDGET in bytes).
   */
  dequantizeBudget?: number;
}

/** What load did to the checkpoint's weights, and why: `describe()` and the CLI print `reason`. */
export interface ComputePlan {
  requested: ComputeDtype;
  /** The floating-point dtype of the weights after load (the checkpoint's own for "native"). */
  dtype: DType;
  /** Whether quantized layers were turned into plain ones. */
  dequantized: boolean;
  /** Whether layers remain quantized (packed weights, scales in `dtype`). */
  quantized: boolean;
  /**
   * Whether causal attention over long prompts runs in query blocks (models/shared/query-blocks.ts:
   * the same values up to summation order, 30-45% less attention time at 512 tokens), with mlux's own
   * float32 CPU softmax, and the gated MLP's silu(gate) · up as mlux's own kernel (mx.cpuKernels):
   * where mlux chose float32 itself on the CPU (see `queryBlocksFor`).
   */
  queryBlocks: boolean;
  reason: string;
}

/** Checks a dtype option where it enters (the loader, HookedModel, the CLI). */
export function checkComputeDtype(value: unknown): ComputeDtype {
  if (value === undefined) return "auto";
  if (!COMPUTE_DTYPES.includes(value as ComputeDtype)) {
    throw new Error(`dtype must be one of ${COMPUTE_DTYPES.join(", ")}; got ${JSON.stringify(value)}`);
  }
  return value as ComputeDtype;
}

function defaultBudget(): number {
  const fromEnv = process.env.MLUX_DEQUANTIZE_BUDGET;
  if (fromEnv !== undefined) {
    const bytes = Number(fromEnv);
    if (!Number.isFinite(bytes) || bytes < 0) {
      throw new Error(`MLUX_DEQUANTIZE_BUDGET must be a number of bytes >= 0; got ${JSON.stringify(fromEnv)}`);
    }
    return bytes;
  }
  return totalmem() / 2;
}

const GIB = 1024 ** 3;
const gib = (bytes: number) => `${(bytes / GIB).toFixed(bytes < GIB ? 2 : 1)} GiB`;

/**
 * Casts or dequantizes the loaded model's weights as `options` ask, one layer or parameter at a
 * time (each computed before the next, so two copies of all the weights never coexist), and turns
 * on attention in query blocks (and the gated MLP's own silu kernel) where `queryBlocksFor` says.
 */
export function applyComputeDtype(model: Module, options: ComputeOptions = {}): ComputePlan {
  const storedAs = { dtype: storedDtype(model), packed: model.namedModules().some(([, m]) => isQuantized(m)) };
  const plan = convert(model, options);
  const queryBlocks = queryBlocksFor(plan, storedAs, mx.defaultDevice());
  for (const [, m] of model.namedModules()) {
    if (m instanceof MultiHeadAttention) m._queryBlocks = queryBlocks;
    if (m instanceof GatedMLP) m._ownKernels = queryBlocks;
  }
  return { ...plan, queryBlocks };
}

/**
 * Attention runs in query blocks with mlux's own softmax, and the gated MLP's silu(gate) · up as mlux's
 * own kernel, on long prompts on the CPU where mlux computes in float32 of its own accord: under
 * "auto" (float32 on the CPU, whatever the checkpoint stores), and under an explicit "float32" when
 * the checkpoint stores something else (half precision or packed). They change the summation order
 * and the exponential's last bits, so "native", and "float32" on a float32 checkpoint (the same
 * thing), keep mlx-lm's exact computation; half-precision dtypes keep it too. Only on the CPU, where
 * the gain was measured.
 */
export function queryBlocksFor(
  plan: Pick<ComputePlan, "requested" | "dtype">,
  stored: { dtype: DType; packed: boolean },
  device: "cpu" | "gpu",
): boolean {
  if (device !== "cpu" || plan.dtype !== "float32") return false;
  if (plan.requested === "auto") return true;
  return plan.requested === "float32" && (stored.dtype !== "float32" || stored.packed);
}

function convert(model: Module, options: ComputeOptions): Omit<ComputePlan, "queryBlocks"> {
  const requested = checkComputeDtype(options.dtype);
  const budget = options.dequantizeBudget ?? defaultBudget();
  if (!(Number.isFinite(budget) && budget >= 0)) {
    throw new Error(`dequantizeBudget must be a number of bytes >= 0; got ${String(options.dequantizeBudget)}`);
  }
  const stored = storedDtype(model);
  const quantizedLayers = model.namedModules().filter(([, m]) => isQuantized(m));
  const packed = quantizedLayers.length > 0;
  const bits = (quantizedLayers[0]?.[1] as Quantized | undefined)?._spec.bits;
  const what = packed ? `${bits}-bit weights (scales in ${stored})` : `${stored} weights`;

  if (requested === "native" || (requested === "auto" && mx.defaultDevice() === "gpu")) {
    const reason =
      requested === "native" ? `native: ${what}, as the checkpoint stores them` : `auto on the GPU: ${what}, native`;
    return { requested, dtype: stored, dequantized: false, quantized: packed, reason };
  }
  const target: DType = requested === "auto" ? "float32" : requested;
  if (packed) {
    const denseBytes =
      quantizedLayers.reduce((sum, [, m]) => sum + denseElements(m as Quantized), 0) * (target === "float32" ? 4 : 2);
    if (requested !== "auto" || denseBytes <= budget) {
      dequantizeModel(model, target);
      model.setDtype(target);
      const why =
        requested === "auto"
          ? `auto on the CPU: ${what} dequantized to ${target} (${gib(denseBytes)}, within the ${gib(budget)} budget): MLX's CPU runs ${target} products through BLAS`
          : `${target}: ${what} dequantized to ${target} (${gib(denseBytes)})`;
      return { requested, dtype: target, dequantized: true, quantized: false, reason: why };
    }
    model.setDtype(target);
    const reason =
      `auto on the CPU: ${what} kept packed (dequantized they would take ${gib(denseBytes)}, over the ` +
      `${gib(budget)} budget; raise it with dequantizeBudget or MLUX_DEQUANTIZE_BUDGET); scales and activations in ${target}`;
    return { requested, dtype: target, dequantized: false, quantized: true, reason };
  }
  model.setDtype(target);
  const reason =
    stored === target
      ? `${requested === "auto" ? "auto on the CPU" : target}: ${what}, computed as stored`
      : `${requested === "auto" ? "auto on the CPU" : target}: ${what} computed in ${target}${
          requested === "auto"
            ? ": MLX's CPU runs float32 products through BLAS, half precision through slow kernels"
            : ""
        }`;
  return { requested, dtype: target, dequantized: false, quantized: false, reason };
}

type Quantized = QuantizedLinear | QuantizedEmbedding;

function isQuantized(m: Module): m is Quantized {
  return m instanceof QuantizedLinear || m instanceof QuantizedEmbedding;
}

function denseElements(m: Quantized): number {
  const [rows, packed] = m.weight.shape as [number, number];
  return (rows * packed * 32) / m._spec.bits;
}

// The dtype of the checkpoint's floating-point weights: the most common one by element count
// (quantized layers count their scales' dtype).
/** The floating-point dtype most of the model's parameters are stored in. */
export function storedDtype(model: Module): DType {
  const counts = new Map<DType, number>();
  for (const value of model.parameters().values()) {
    if (value.dtype === "float32" || value.dtype === "float16" || value.dtype === "bfloat16") {
      counts.set(value.dtype, (counts.get(value.dtype) ?? 0) + value.size);
    }
  }
  let best: DType = "float32";
  let most = -1;
  for (const [dtype, count] of counts) {
    if (count > most) [best, most] = [dtype, count];
  }
  return best;
}
