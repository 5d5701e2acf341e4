// Evaluation and information about the MLX runtime.
import type { MxArray } from "./array.ts";
import { native, nativeFunctions } from "./native.ts";
import { handles } from "./operand.ts";

const n = nativeFunctions("asyncEval", "eval", "scheduleEval");

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

/** The MLX release the addon runs on, and which BLAS serves fp32/fp64 matrix products. */
export const runtimeInfo = {
  mlxVersion: native.mlxVersion,
  mlxBuiltVersion: native.mlxBuiltVersion,
  gemmBackend: native.gemmBackend,
} as const;

const counters = nativeFunctions("liveHandles");

/** How many native arrays are alive (not yet disposed or collected): a leak check, as in tests. */
export function liveArrays(): number {
  return counters.liveHandles() as number;
}
