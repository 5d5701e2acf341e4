// mlux's side of the CUDA benchmark (bench/cuda/run.ts): prefill tokens/s at batch 1 and at batch
// `batch`, greedy decode tokens/s, and a forward pass that caches every layer's output against a
// plain one. With --logits FILE it instead writes the logits of the parity prompt ("logits") and of
// the decode steps that follow it, one token at a time through the cache ("steps"). Prints one
// JSON line.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generateStep, HookedModel, mx } from "mlux";

const [dir, flag, logitsFile] = process.argv.slice(2);
if (!dir) throw new Error("usage: mlux_side.ts CHECKPOINT_DIR [--logits OUT.safetensors]");
// MLUX_CUDA_WORKLOAD names another workload file (a smaller one for a quick check on the CPU).
const work = JSON.parse(
  readFileSync(process.env.MLUX_CUDA_WORKLOAD ?? new URL("workload.json", import.meta.url), "utf8"),
);
// Token ids below the vocabulary (for Llama-3.2-1B's 128,256, the same ids as diag.ts and the other sides).
const span = Math.min(120000, JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).vocab_size - 10);
const tokens = (rows: number, length: number): number[][] =>
  Array.from({ length: rows }, (_, r) => Array.from({ length }, (_, i) => ((i * 7919 + r * 104729) % span) + 10));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const now = () => performance.now() / 1000;

/** The decode steps whose logits --logits writes after the prompt's. */
const PARITY_STEPS = 8;

const hm = await HookedModel.fromPretrained(dir);
const model = hm.model;

if (flag === "--logits") {
  if (!logitsFile) throw new Error("--logits needs an output file");
  const prompt = tokens(1, work.parityLength + PARITY_STEPS)[0] as number[];
  const logits = mx.astype(model.call(mx.array([prompt.slice(0, work.parityLength)])), "float32");
  const cache = model.makeCache();
  mx.eval(model.call(mx.array([prompt.slice(0, work.parityLength)]), cache));
  const stepLogits = prompt
    .slice(work.parityLength)
    .map((token) => mx.astype(model.call(mx.array([[token]]), cache), "float32"));
  mx.saveSafetensors(logitsFile, { logits, steps: mx.concatenate(stepLogits, 1) });
  console.log(JSON.stringify({ peer: "mlux", wrote: logitsFile, device: mx.runtimeInfo.device }));
  process.exit(0);
}

function prefillSeconds(rows: number): number {
  const input = mx.array(tokens(rows, work.promptLength));
  const start = now();
  mx.tidy(() => mx.eval(model.call(input)));
  const elapsed = now() - start;
  input.dispose();
  return elapsed;
}

function decodeTokensPerSecond(): number {
  const prompt = tokens(1, work.decodePrompt)[0] as number[];
  let start = now();
  let count = 0;
  for (const { logprobs } of generateStep(model, prompt, { maxTokens: work.decodeTokens + 1 })) {
    logprobs.dispose();
    if (++count === 1) start = now(); // after the first token, which includes the prefill
  }
  return work.decodeTokens / (now() - start);
}

function plainSeconds(input: number[][]): number {
  const start = now();
  mx.tidy(() => mx.eval(hm.forward(input)));
  return now() - start;
}

function cachedSeconds(input: number[][]): number {
  const start = now();
  const { logits, cache } = hm.runWithCache(input, { names: "resid_post" });
  const elapsed = now() - start;
  logits.dispose();
  cache.dispose();
  return elapsed;
}

// Warm-up passes, as many on every side (workload.json "warmUp"): V8 compiles mlux's code over the
// first passes; kernels are compiled and memory is pooled on first use.
const one = tokens(1, work.promptLength);
for (let i = 0; i < work.warmUp; i++) {
  prefillSeconds(1);
  prefillSeconds(work.batch);
  plainSeconds(one);
  cachedSeconds(one);
}
for (const { logprobs } of generateStep(model, tokens(1, 16)[0] as number[], { maxTokens: 4 })) logprobs.dispose();

const b1: number[] = [];
const bN: number[] = [];
const plain: number[] = [];
const cached: number[] = [];
const decode: number[] = [];
for (let i = 0; i < work.repeats; i++) {
  b1.push(prefillSeconds(1));
  bN.push(prefillSeconds(work.batch));
  plain.push(plainSeconds(one));
  cached.push(cachedSeconds(one));
}
for (let i = 0; i < 3; i++) decode.push(decodeTokensPerSecond());

console.log(
  JSON.stringify({
    peer: "mlux",
    device: mx.runtimeInfo.device,
    backend: mx.runtimeInfo.backend,
    gpu: mx.runtimeInfo.gpu?.device_name ?? null,
    prefill1: work.promptLength / median(b1),
    prefillBatch: (work.batch * work.promptLength) / median(bN),
    decode: median(decode),
    plainMs: median(plain) * 1000,
    cachedMs: median(cached) * 1000,
  }),
);
