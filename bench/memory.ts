// Memory benchmark: 10,000 iterations of a forward-like chain (matmul, rmsNorm, softmax, a
// functional slice update, a reduction read back to JS). Active MLX memory, RSS and the count of
// live arrays are sampled as it runs; all three must stay flat. Usage: npm run bench:memory
import { mx } from "mlux";

const iterations = Number(process.env.ITERATIONS ?? 10000);
const sampleEvery = iterations / 20;
const mode = process.argv[2] === "gc" ? "gc" : "tidy";

const x = mx.random.normal([16, 512], { key: mx.random.key(0) });
const w = mx.random.normal([512, 512], { key: mx.random.key(1) });
const gamma = mx.ones([512]);
mx.eval(x, w, gamma);

function step(i: number): number {
  const h = mx.matmul(x, w);
  const normed = mx.fast.rmsNorm(h, gamma, 1e-5);
  const probs = mx.softmax(normed, { axis: -1 });
  const edited = mx.at(probs, i % 16, "0:8").set(0);
  return mx.sum(edited).item() as number;
}

interface Sample {
  iteration: number;
  activeMiB: number;
  rssMiB: number;
  liveArrays: number;
}
const samples: Sample[] = [];
const mib = (bytes: number) => bytes / 2 ** 20;
let checksum = 0;
const start = performance.now();
for (let i = 0; i < iterations; i++) {
  // "tidy": the idiomatic way; "gc": nothing disposed by hand, the garbage-collection backstop frees.
  checksum += mode === "tidy" ? mx.tidy(() => step(i)) : step(i);
  if ((i + 1) % sampleEvery === 0) {
    if (mode === "gc") await new Promise((resolve) => setImmediate(resolve)); // let finalizers run
    samples.push({
      iteration: i + 1,
      activeMiB: mib(mx.memory.activeMemory()),
      rssMiB: mib(process.memoryUsage().rss),
      liveArrays: mx.liveArrays(),
    });
  }
}
const seconds = (performance.now() - start) / 1000;
const first = samples[0] as Sample;
const last = samples.at(-1) as Sample;
const peak = (key: keyof Sample) => Math.max(...samples.map((s) => s[key]));
console.log(
  JSON.stringify({
    mode,
    iterations,
    seconds,
    checksum,
    first,
    last,
    peakActiveMiB: peak("activeMiB"),
    peakRssMiB: peak("rssMiB"),
    peakLiveArrays: peak("liveArrays"),
    mlxPeakMiB: mib(mx.memory.peakMemory()),
    rssSeriesMiB: samples.map((s) => Math.round(s.rssMiB)),
    activeSeriesMiB: samples.map((s) => Math.round(s.activeMiB * 10) / 10),
  }),
);
