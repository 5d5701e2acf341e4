// mlux's side of the Linux CPU speed benchmark: load a checkpoint with a compute dtype, then one
// generation as a user runs it: PREFILL prompt tokens, then DECODE greedy tokens. Prefill speed is
// the prompt's length over the time to the first token (mlx-lm's generate_step measures it the
// same way); decode speed counts the tokens after the first. Peak memory is the whole process's
// (load included): MLX's peak and the resident set. Prints one JSON line.
// Usage: mlux_speed.ts DIR DTYPE PREFILL DECODE
import { generateStep, loadModel, mx } from "mlux";
import { checkComputeDtype } from "../../src/models/compute-dtype.ts";

const [dir, dtypeArg, prefillArg, decodeArg] = process.argv.slice(2);
const prefill = Number(prefillArg);
const decode = Number(decodeArg);
if (!dir || !Number.isInteger(prefill) || prefill < 2 || !Number.isInteger(decode) || decode < 1) {
  throw new Error("usage: mlux_speed.ts DIR DTYPE PREFILL(>=2) DECODE(>=1)");
}
const dtype = checkComputeDtype(dtypeArg);
const seconds = () => performance.now() / 1000;

let start = seconds();
const { model, compute } = await loadModel(dir, { dtype });
const loadSeconds = seconds() - start;
// The bytes a decode step reads: every weight, except the embedding table when an untied head
// exists (then one row of it is read).
const parameters = [...model.parameters()];
const untiedHead = parameters.some(([name]) => /(^|\.)lm_head\./.test(name));
const weightBytes = parameters
  .filter(([name]) => !(untiedHead && /embed_tokens/.test(name)))
  .reduce((sum, [, array]) => sum + array.nbytes, 0);
const prompt = Array.from({ length: prefill }, (_, i) => ((i * 7919) % 4000) + 10);

// Warm-up: first calls pay one-time costs that are not what is compared.
for (const { logprobs } of generateStep(model, prompt.slice(0, 2), { maxTokens: 1 })) logprobs.dispose();

start = seconds();
let firstTokenSeconds = 0;
let count = 0;
for (const { logprobs } of generateStep(model, prompt, { maxTokens: decode + 1 })) {
  logprobs.dispose();
  if (++count === 1) {
    firstTokenSeconds = seconds() - start;
    start = seconds();
  }
}
const decodeSeconds = seconds() - start;
console.log(
  JSON.stringify({
    peer: `mlux ${dtype}`,
    computeDtype: compute.dtype,
    loadSeconds,
    weightBytes,
    prefillTokensPerSecond: prefill / firstTokenSeconds,
    decodeTokensPerSecond: decode / decodeSeconds,
    peakMiB: mx.memory.peakMemory() / 2 ** 20,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
