// mlux's side of the engine benchmark: per-op overhead and fp32 GEMM speed. Prints one JSON line.
// Run by bench/run.ts (which also runs the Python peer); see BENCHMARKS.md.
import { mx } from "mlux";

function seconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Median of `rounds` timings of fn() repeated `count` times, in microseconds per call. */
function perCall(fn: () => void, count: number, rounds = 5): number {
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = seconds();
    for (let i = 0; i < count; i++) fn();
    samples.push(((seconds() - start) / count) * 1e6);
  }
  samples.sort((x, y) => x - y);
  return samples[Math.floor(samples.length / 2)] as number;
}

function tinyOps(): Record<string, number> {
  const a = mx.array([1.0]);
  const b = mx.array([2.0]);
  mx.eval(a, b);
  for (let i = 0; i < 20000; i++) mx.add(a, b).dispose(); // warm-up (JIT, allocator)
  return {
    addGraphUs: perCall(() => mx.add(a, b).dispose(), 50000),
    addGraphNoDisposeUs: perCall(() => mx.add(a, b), 50000),
    addEvalUs: perCall(() => {
      const c = mx.add(a, b);
      mx.eval(c);
      c.dispose();
    }, 10000),
  };
}

function gemm(m: number, k: number, n: number, repeats: number): number {
  const x = mx.random.normal([m, k]);
  const w = mx.random.normal([k, n]);
  mx.eval(x, w);
  const run = () => {
    const y = mx.matmul(x, w);
    mx.eval(y);
    y.dispose();
  };
  run();
  run();
  const start = seconds();
  for (let i = 0; i < repeats; i++) run();
  const elapsed = (seconds() - start) / repeats;
  return (2 * m * k * n) / elapsed / 1e9;
}

const repeats = Number(process.env.GEMM_REPEATS ?? 10);
const result = {
  peer: "mlux",
  gemmBackend: mx.runtimeInfo.gemmBackend,
  ...tinyOps(),
  gemm1024: gemm(1024, 1024, 1024, repeats),
  gemm16x2048x8192: gemm(16, 2048, 8192, repeats),
};
console.log(JSON.stringify(result));
