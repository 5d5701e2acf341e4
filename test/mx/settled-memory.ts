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
