// MLX's active memory once dropped arrays are released: a collection notes them, their finalizers
// run on the next turns of the event loop, and the next addon call frees them; read until it holds.
import { mx } from "mlux";

export async function settledMemory(): Promise<number> {
  let bytes = -1;
  for (let i = 0; i < 10; i++) {
    globalThis.gc?.();
    await new Promise((resolve) => setImmediate(resolve));
    const next = mx.memory.activeMemory();
    if (next === bytes) return next;
    bytes = next;
  }
  return bytes;
}

/** The number of live arrays once dropped ones are released (as settledMemory). */
export async function settledLiveArrays(): Promise<number> {
  let count = -1;
  for (let i = 0; i < 10; i++) {
    globalThis.gc?.();
    await new Promise((resolve) => setImmediate(resolve));
    const next = mx.liveArrays();
    if (next === count) return next;
    count = next;
  }
  return count;
}
