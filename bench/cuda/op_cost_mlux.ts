// mlux's side of bench/cuda/op_cost.ts: microseconds per call of each op a decode step builds, at
// the step's shapes, the arrays freed as the model code frees them (by the enclosing tidy).
// Prints one JSON line: per op, the min and median over ROUNDS rounds of CALLS calls.
//   node --conditions=mlux-source --import tsx bench/cuda/op_cost_mlux.ts CALLS ROUNDS
import { mx } from "mlux";

const [calls = 2000, rounds = 15] = process.argv.slice(2).map(Number);

const normal = (shape: number[]) => mx.keep(mx.random.normal(shape));
const x = normal([1, 1, 128]);
const norm = normal([128]);
const weight = normal([256, 128]);
const weightT = mx.keep(mx.transpose(weight));
const q = normal([1, 4, 1, 32]);
const k = normal([1, 2, 1, 32]);
const keys = normal([1, 2, 128, 32]);
const cache = normal([1, 2, 256, 32]);
const freqs = mx.keep(mx.exp(mx.multiply(mx.arange(0, 16, 1, "float32"), 0.5)));
const logits = normal([1, 2048]);
mx.eval(x, norm, weight, weightT, q, k, keys, cache, freqs, logits);

const ops: Record<string, () => unknown> = {
  rmsNorm: () => mx.fast.rmsNorm(x, norm, 1e-5),
  ropeFreqs: () => mx.fast.rope(q, 32, { traditional: false, base: null, scale: 1, offset: 127, freqs }),
  ropeBase: () => mx.fast.rope(q, 32, { traditional: false, base: 500000, scale: 1, offset: 127 }),
  sdpa: () => mx.fast.scaledDotProductAttention(q, keys, keys, { scale: 0.17, mask: null }),
  matmul: () => mx.matmul(x, weightT),
  transpose2d: () => mx.transpose(weight),
  linear: () => mx.matmul(x, mx.transpose(weight)),
  reshape: () => mx.reshape(x, [1, 1, 4, 32]),
  transpose4d: () => mx.transpose(q, [0, 2, 1, 3]),
  add: () => mx.add(x, x),
  sliceUpdate: () => mx.at(cache, "...", "127:128", ":").set(k),
  slice: () => mx.index(cache, "...", ":128", ":"),
  // The KV cache's write and read (src/models/cache/kv-cache.ts), as mlx-lm's c[..., a:b, :].
  cacheWrite: () => mx.stridedSliceUpdate(cache, k, [0, 0, 127, 0], [1, 2, 128, 32]),
  cacheRead: () => mx.stridedSlice(cache, [0, 0, 0, 0], [1, 2, 128, 32]),
  argmax: () => mx.argmax(logits, -1),
  shape: () => x.shape,
};

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const each = process.env.EACH === "1";
function perCall(op: () => unknown): [number, number] {
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    if (each) for (let i = 0; i < calls; i++) (op() as { dispose?: () => void }).dispose?.();
    else
      mx.tidy(() => {
        for (let i = 0; i < calls; i++) op();
      });
    samples.push(((performance.now() - t0) * 1000) / calls);
  }
  const s = sorted(samples);
  return [s[0] as number, s[Math.floor(s.length / 2)] as number];
}

const out: Record<string, unknown> = { peer: "mlux" };
for (const [name, op] of Object.entries(ops)) {
  perCall(op); // warm-up
  const [min, median] = perCall(op);
  out[name] = { minUs: Number(min.toFixed(2)), medianUs: Number(median.toFixed(2)) };
}
console.log(JSON.stringify(out));
