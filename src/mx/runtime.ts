// Evaluation and information about the MLX runtime.
import type { MxArray } from "./array.ts";
import { type Device, defaultDevice } from "./device.ts";
import { native, nativeFunctions } from "./native.ts";
import { handles } from "./operand.ts";

const n = nativeFunctions("asyncEval", "eval", "exportToDot", "scheduleEval");

/** Computes the given arrays (and what they depend on) now, blocking until done. */
export function evaluate(...arrays: (MxArray | MxArray[])[]): void {
  n.eval(...handles(arrays.flat()));
}

/**
 * Starts computing the given arrays and resolves when they are ready, without blocking the event
 * loop: the graph is scheduled on this thread and waited for on a worker thread. Every failure
 * (a disposed array, an error raised while scheduling or computing) rejects the promise.
 */
export function asyncEval(...arrays: (MxArray | MxArray[])[]): Promise<void> {
  try {
    return n.asyncEval(...handles(arrays.flat())) as Promise<void>;
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Starts computing the given arrays in the background and returns at once, as Python's
 * mx.async_eval: nothing is awaited, and reading one of them later (item, tolist, eval) waits for
 * it. Lets a synchronous loop build the next graph while this one computes. An error raised while
 * computing is thrown by this call or by a later read, depending on when it arises.
 */
export function scheduleEval(...arrays: (MxArray | MxArray[])[]): void {
  n.scheduleEval(...handles(arrays.flat()));
}

/**
 * The graph that computes the arrays, in Graphviz's DOT language, as MLX writes it (Python's
 * mx.export_to_dot): what a step will run, op by op, before it runs.
 */
export function exportToDot(...arrays: (MxArray | MxArray[])[]): string {
  return n.exportToDot(...handles(arrays.flat())) as string;
}

/** MLX's description of a GPU; keys vary by backend (CUDA adds compute_capability_*, uuid ...). */
export interface GpuInfo {
  device_name?: string;
  architecture?: string;
  [key: string]: string | number | undefined;
}

const info = nativeFunctions("backend", "gpuInfo");
let gpu: GpuInfo | null | undefined;

/**
 * The MLX the addon runs on: its release, the wheel it was built against, the backend computing
 * here, the GPU (if any), the device new operations go to, and which BLAS serves CPU fp32/fp64
 * matrix products.
 */
export const runtimeInfo = {
  mlxVersion: native.mlxVersion,
  mlxBuiltVersion: native.mlxBuiltVersion,
  /** The MLX build the addon was made for: "cpu", "cuda12", "cuda13", "metal", or "external" (MLX_ROOT). */
  mlxBuild: native.mlxBuiltBackend,
  /** The backend that computes here: "cuda" or "metal" when this libmlx finds its GPU, else "cpu". */
  backend: info.backend() as "cuda" | "metal" | "cpu",
  gemmBackend: native.gemmBackend,
  /** MLX's description of GPU 0 (read on first use), or null without one. */
  get gpu(): GpuInfo | null {
    if (gpu === undefined) gpu = info.gpuInfo() as GpuInfo | null;
    return gpu;
  },
  /** The device new operations run on now (see setDefaultDevice and MLUX_DEVICE). */
  get device(): Device {
    return defaultDevice();
  },
};

const counters = nativeFunctions("liveHandles");

/** How many native arrays are alive (not yet disposed or collected): a leak check, as in tests. */
export function liveArrays(): number {
  return counters.liveHandles() as number;
}
