// What this machine can do, for the speed benchmark's targets: OpenBLAS's float32 GEMM rate on the
// products of one prefill of a checkpoint (every Linear layer's [M, K] x [K, N] with M = PREFILL
// tokens, timed through mx.matmul on the model's own float32 weights), and the memory bandwidth a
// decode step can read weights at (a large float32 reduction, and a one-row product through BLAS
// as decode runs it). Prints one JSON line.
// Usage: machine_rates.ts DIR PREFILL
import { loadModel, mx } from "mlux";
import { Linear } from "../../src/nn/layers/linear.ts";

const [dir, prefillArg] = process.argv.slice(2);
const rows = Number(prefillArg);
if (!dir || !Number.isInteger(rows) || rows < 1) throw new Error("usage: machine_rates.ts DIR PREFILL");
const seconds = () => performance.now() / 1000;

function best(repeats: number, fn: () => void): number {
  fn(); // warm-up
  let fastest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeats; i++) {
    const start = seconds();
    fn();
    fastest = Math.min(fastest, seconds() - start);
  }
  return fastest;
}

const { model } = await loadModel(dir, { dtype: "float32" });
// Distinct weight shapes [N, K] of the layers' products, with how many layers have each.
const shapes = new Map<string, { weight: mx.Array; count: number }>();
for (const [, module] of model.namedModules()) {
  if (!(module instanceof Linear)) continue;
  const key = module.weight.shape.join("x");
  const seen = shapes.get(key);
  if (seen) seen.count++;
  else shapes.set(key, { weight: module.weight, count: 1 });
}
let gemmSeconds = 0;
let flops = 0;
for (const { weight, count } of shapes.values()) {
  const [n, k] = weight.shape as [number, number];
  const x = mx.random.normal([rows, k]);
  mx.eval(x);
  const t = best(3, () => mx.tidy(() => mx.eval(mx.matmul(x, mx.transpose(weight)))));
  x.dispose();
  gemmSeconds += t * count;
  flops += 2 * rows * k * n * count;
}

// Bandwidth: read 1 GiB of float32 (one thread: MLX's CPU reductions are single-threaded), and a
// one-row product against the largest weight (OpenBLAS's gemv, threaded, as a decode step reads).
const big = mx.random.normal([256 * 2 ** 20]);
mx.eval(big);
const reduceSeconds = best(5, () => mx.tidy(() => mx.eval(mx.sum(big))));
big.dispose();
const largest = [...shapes.values()].sort((a, b) => b.weight.size - a.weight.size)[0]?.weight as mx.Array;
const row = mx.random.normal([1, largest.shape[1] as number]);
// The same weight read 8 times over (8 copies, more than any cache holds).
const copies = Array.from({ length: 8 }, (_, i) => mx.add(largest, i));
mx.eval(row, ...copies);
const gemvSeconds = best(5, () => mx.tidy(() => mx.eval(...copies.map((w) => mx.matmul(row, mx.transpose(w))))));

console.log(
  JSON.stringify({
    dir,
    prefillRows: rows,
    linearProducts: [...shapes.entries()].map(
      ([shape, { count }]) => `${count} x [${rows}x${shape.split("x")[1]}]@[${shape.split("x").reverse().join("x")}]`,
    ),
    gemmSecondsPerPrefill: gemmSeconds,
    gemmGflops: flops / gemmSeconds / 1e9,
    gemmTokensPerSecond: rows / gemmSeconds,
    reduceGBps: (256 * 2 ** 20 * 4) / reduceSeconds / 1e9,
    gemvGBps: (8 * largest.size * 4) / gemvSeconds / 1e9,
  }),
);
