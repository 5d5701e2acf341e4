// Memory of what a run returns: a plain synchronous loop of runWithCache (names resid_post and
// pattern) that never yields to the event loop, once disposing each result and once dropping it
// (the garbage collector reclaims it). Live arrays and MLX active memory are sampled every 200
// iterations; the time per run of each way is the loop's time over its iterations. Runs without
// --expose-gc: collections happen as V8 decides.
// Usage: npm run bench:reclaim [-- DIR ITERATIONS]
import { HookedModel, mx } from "mlux";

const dir = process.argv[2] ?? "fixtures/tiny-lm-f16";
const iterations = Number(process.argv[3] ?? 2000);
const sampleEvery = 200;
const prompt = "In the beginning God created the heaven and the earth.";
const names = ["resid_post", "pattern"];

const hm = await HookedModel.fromPretrained(dir);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2);

function loop(dispose: boolean): { samples: string[]; msPerRun: number } {
  const samples = [`0: ${mx.liveArrays()} arrays, ${mib(mx.memory.activeMemory())} MiB`];
  let checksum = 0;
  const start = performance.now();
  for (let i = 1; i <= iterations; i++) {
    const { logits, cache } = hm.runWithCache(prompt, { names });
    checksum += logits.shape[1] as number;
    if (dispose) {
      logits.dispose();
      cache.dispose();
    }
    if (i % sampleEvery === 0) samples.push(`${i}: ${mx.liveArrays()} arrays, ${mib(mx.memory.activeMemory())} MiB`);
  }
  const msPerRun = (performance.now() - start) / iterations;
  if (checksum === 0) throw new Error("no positions ran");
  return { samples, msPerRun };
}

loop(true); // warm-up: load, first allocations, MLX's buffer cache
const disposed = loop(true);
const dropped = loop(false);
console.log(`### Results reclaimed without dispose (${dir}, ${iterations} runWithCache, names ${names.join(" + ")})\n`);
console.log("| iteration | with dispose | dropped, no dispose |\n|---|---|---|");
disposed.samples.forEach((s, i) => {
  console.log(`| ${s.split(":")[0]} | ${s.split(": ")[1]} | ${dropped.samples[i]?.split(": ")[1]} |`);
});
console.log(
  `\nms per run: with dispose ${disposed.msPerRun.toFixed(3)}, dropped ${dropped.msPerRun.toFixed(3)} ` +
    `(${((100 * (dropped.msPerRun - disposed.msPerRun)) / disposed.msPerRun).toFixed(1)}%)`,
);
