// Where a float32 prefill's time goes, for one checkpoint: the whole prefill as generation runs it
// (the cache computed, no logits), the JavaScript graph building alone, and each kind of work
// timed alone at the model's shapes, times its count: the Linear layers' matrix products,
// attention (causal, in query blocks with mlux's own softmax where the model runs them; MLX's whole
// fused call beside it), the gated MLP's activation (silu(gate) * up, mlux's own kernel where the
// model runs it; MLX's three ops beside it), RMS norms and RoPE. What is left is everything else (residual adds, reshapes,
// the cache's writes, the embedding). Also one decode step: its graph building and its evaluation.
// Prints one JSON line.
// Usage: prefill_profile.ts DIR LENGTH [DTYPE]
import { loadModel, mx } from "mlux";
import { BLOCKED_FROM, causalAttentionInQueryBlocks } from "../../src/models/shared/query-blocks.ts";
import { Linear } from "../../src/nn/layers/linear.ts";

const [dir, lengthArg, dtype = "auto"] = process.argv.slice(2);
const length = Number(lengthArg);
if (!dir || !Number.isInteger(length) || length < 2) throw new Error("usage: prefill_profile.ts DIR LENGTH [DTYPE]");
const { model, config, compute } = await loadModel(dir, { dtype: dtype as "auto" });
const ms = () => performance.now();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
function timed(repeats: number, fn: () => void): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = ms();
    fn();
    times.push(ms() - start);
  }
  return median(times);
}

const prompt = mx.array([Array.from({ length }, (_, i) => ((i * 7919) % 4000) + 10)], "int32");
const cacheState = (cache: ReturnType<typeof model.makeCache>) =>
  cache.flatMap((c) => (c as unknown as { state: mx.Array[] }).state);

const prefillMs = timed(3, () => {
  const cache = model.makeCache();
  mx.tidy(() => {
    model.call(prompt, cache);
    mx.eval(...cacheState(cache));
  });
  for (const c of cache) c.dispose();
});
const graphMs = timed(3, () => {
  const cache = model.makeCache();
  mx.tidy(() => {
    model.call(prompt, cache);
  });
  for (const c of cache) c.dispose();
});

// The parts alone.
const dims = model.layout.dims;
const layers = dims.layers;
const hidden = dims.dModel;
const heads = dims.heads;
const kvHeads = dims.kvHeads;
const headDim = dims.headDim;
const intermediate = Number(config.intermediate_size);
const linearMs = mx.tidy(() => {
  let total = 0;
  for (const [, module] of model.namedModules()) {
    if (!(module instanceof Linear)) continue;
    const [, k] = module.weight.shape as [number, number];
    const x = mx.random.normal([1, length, k]);
    mx.eval(x);
    total += timed(3, () => mx.tidy(() => mx.eval(mx.matmul(x, mx.transpose(module.weight)))));
  }
  return total;
});
const q = mx.random.normal([1, heads, length, headDim]);
const k = mx.random.normal([1, kvHeads, length, headDim]);
const v = mx.random.normal([1, kvHeads, length, headDim]);
const gate = mx.random.normal([1, length, intermediate]);
const up = mx.random.normal([1, length, intermediate]);
const x = mx.random.normal([1, length, hidden]);
const scale = mx.ones([hidden]);
mx.eval(q, k, v, gate, up, x, scale);
// Attention as the model computes it (in query blocks where the load turned them on), and the
// whole fused call beside it.
const attentionScale = 1 / Math.sqrt(headDim);
const wholeAttentionMs =
  layers *
  timed(3, () =>
    mx.tidy(() => mx.eval(mx.fast.scaledDotProductAttention(q, k, v, { scale: attentionScale, mask: "causal" }))),
  );
const attentionMs =
  compute.queryBlocks && length >= BLOCKED_FROM
    ? layers * timed(3, () => mx.tidy(() => mx.eval(causalAttentionInQueryBlocks(q, k, v, attentionScale))))
    : wholeAttentionMs;
const mlxActivationMs =
  layers * timed(3, () => mx.tidy(() => mx.eval(mx.multiply(mx.multiply(gate, mx.sigmoid(gate)), up))));
const activationMs =
  compute.queryBlocks && length >= BLOCKED_FROM
    ? layers * timed(3, () => mx.tidy(() => mx.eval(mx.cpuKernels.siluGate(gate, up))))
    : mlxActivationMs;
const normMs = 2 * layers * timed(3, () => mx.tidy(() => mx.eval(mx.fast.rmsNorm(x, scale, 1e-6))));
const ropeMs =
  layers *
  timed(3, () =>
    mx.tidy(() =>
      mx.eval(
        mx.fast.rope(q, headDim, { traditional: false, base: 10000, scale: 1, offset: 0 }),
        mx.fast.rope(k, headDim, { traditional: false, base: 10000, scale: 1, offset: 0 }),
      ),
    ),
  );

// One decode step after the prompt: graph building, and graph plus evaluation.
const cache = model.makeCache();
mx.tidy(() => {
  model.call(prompt, cache);
  mx.eval(...cacheState(cache));
});
const next = mx.array([[42]], "int32");
const decodeGraphMs = timed(5, () =>
  mx.tidy(() => {
    model.call(next, cache);
  }),
);
// Each call appends one position to the cache; a few more positions change nothing measurable.
const decodeStepMs = timed(5, () => mx.tidy(() => mx.eval(model.call(next, cache))));
for (const c of cache) c.dispose();

const parts = { linearMs, attentionMs, activationMs, normMs, ropeMs };
const round = (x: number) => Number(x.toFixed(1));
console.log(
  JSON.stringify({
    dir,
    length,
    prefillMs: round(prefillMs),
    graphMs: round(graphMs),
    ...Object.fromEntries(Object.entries(parts).map(([key, value]) => [key, round(value)])),
    restMs: round(prefillMs - Object.values(parts).reduce((a, b) => a + b, 0)),
    queryBlocks: compute.queryBlocks,
    wholeAttentionMs: round(wholeAttentionMs),
    mlxActivationMs: round(mlxActivationMs),
    decodeGraphMs: round(decodeGraphMs),
    decodeStepMs: round(decodeStepMs),
  }),
);
