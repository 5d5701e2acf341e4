// V8's collections when each pass frees its large result and computes the next one's, as a forward
// pass's logits do (131 MB for Llama-3.2-1B at 1x512 in bfloat16), while a model's weights stay
// held. Counts the full and incremental collections (not the young generation's) over PASSES
// passes and their time. No Python peer: this is about how mlux tells V8 of native memory.
//   node --conditions=mlux-source --import tsx bench/cuda/logits_gc.ts [RESULT_MB] [HELD_MB] [PASSES]
import { constants, PerformanceObserver } from "node:perf_hooks";
import { mx } from "mlux";

const [resultMb = 131, heldMb = 300, passes = 20] = process.argv.slice(2).map(Number);
const floats = (mb: number) => Math.max(1, Math.round((mb * 1e6) / 4));

let collections = 0;
let collectionMs = 0;
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) continue;
    collections++;
    collectionMs += entry.duration;
  }
});
observer.observe({ entryTypes: ["gc"] });
const drain = () => new Promise((resolve) => setTimeout(resolve, 50));

const held = mx.tidy(() => mx.add(mx.zeros([floats(heldMb)]), 1));
mx.eval(held);
await drain();
collections = 0;
collectionMs = 0;
const t0 = performance.now();
for (let i = 0; i < passes; i++) {
  const result = mx.tidy(() => mx.add(mx.zeros([floats(resultMb)]), i));
  mx.eval(result);
  result.dispose();
}
const ms = performance.now() - t0;
await drain();
observer.disconnect();
held.dispose();
console.log(
  JSON.stringify({
    resultMb,
    heldMb,
    passes,
    collections,
    collectionMsPerPass: Number((collectionMs / passes).toFixed(2)),
    msPerPass: Number((ms / passes).toFixed(2)),
  }),
);
