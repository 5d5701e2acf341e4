// The median time of evaluating what `fn` builds, over `repeats` runs after one warm-up.
import { mx } from "mlux";

export function medianMs(fn: () => mx.Array, repeats = 5): number {
  mx.tidy(() => mx.eval(fn()));
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    mx.tidy(() => mx.eval(fn()));
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(repeats / 2)] as number;
}
