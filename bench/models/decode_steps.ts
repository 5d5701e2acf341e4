// Milliseconds per greedy decode step, mlux's side (decode_steps.py is mlx-lm's): after a 256-token
// prompt, STEPS steps, three rounds in one process, one line per round. Longer than the 64 steps of
// mlux_models.ts, for per-step costs on the CPU (BENCHMARKS.md, "CPU decoding").
//   node --conditions=mlux-source --import tsx bench/models/decode_steps.ts CHECKPOINT_DIR [STEPS]
import { generateStep, loadModel } from "mlux";

const [dir, stepsArg] = process.argv.slice(2);
if (!dir) throw new Error("usage: decode_steps.ts CHECKPOINT_DIR [STEPS]");
const steps = Number(stepsArg ?? 300);
const { model } = await loadModel(dir);
const prompt = Array.from({ length: 256 }, (_, i) => ((i * 7919) % 4000) + 10);
for (const { logprobs } of generateStep(model, prompt.slice(0, 16), { maxTokens: 4 })) logprobs.dispose();
for (let round = 0; round < 3; round++) {
  let start = 0;
  let count = 0;
  for (const { logprobs } of generateStep(model, prompt, { maxTokens: steps + 1 })) {
    logprobs.dispose();
    if (++count === 1) start = performance.now(); // after the first token, which includes the prefill
  }
  console.log(`mlux ms/step ${((performance.now() - start) / steps).toFixed(3)}`);
}
