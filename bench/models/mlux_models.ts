// mlux's side of the model benchmark: load time, prefill of 256 tokens, decode of 64 greedy
// tokens, peak MLX memory. Prints one JSON line. Run by bench/models/run.ts.
import { generateStep, loadModel, mx } from "mlux";

const [dir] = process.argv.slice(2);
if (!dir) throw new Error("usage: mlux_models.ts CHECKPOINT_DIR");
const seconds = () => performance.now() / 1000;

let start = seconds();
const { model } = await loadModel(dir);
const loadSeconds = seconds() - start;
const prompt = Array.from({ length: 256 }, (_, i) => ((i * 7919) % 4000) + 10);

// Warm-up (first-call costs are not what is compared).
for (const { logprobs } of generateStep(model, prompt.slice(0, 16), { maxTokens: 4 })) logprobs.dispose();

mx.memory.resetPeakMemory();
const cache = model.makeCache();
start = seconds();
mx.tidy(() => mx.eval(model.call(mx.array([prompt]), cache)));
const prefillSeconds = seconds() - start;
for (const c of cache) c.dispose();

start = seconds();
let count = 0;
for (const { logprobs } of generateStep(model, prompt, { maxTokens: 65 })) {
  logprobs.dispose();
  if (++count === 1) start = seconds(); // decode speed after the first token (which includes prefill)
}
const decodeSeconds = seconds() - start;
console.log(
  JSON.stringify({
    peer: "mlux",
    loadSeconds,
    prefillTokensPerSecond: prompt.length / prefillSeconds,
    decodeTokensPerSecond: 64 / decodeSeconds,
    peakMiB: mx.memory.peakMemory() / 2 ** 20,
  }),
);
