// mlux's side of bench/cuda/graph_build.ts. Prints one JSON line (ms, medians).
//   node --conditions=mlux-source --import tsx bench/cuda/graph_build_mlux.ts CHECKPOINT_DIR REPEATS
import { HookedModel, mx } from "mlux";
import { deferRangeCheck } from "../../src/mx/deferred-range.ts";

const [dir, repeatsArg] = process.argv.slice(2);
if (!dir) throw new Error("usage: graph_build_mlux.ts CHECKPOINT_DIR REPEATS");
const repeats = Number(repeatsArg ?? 50);
const promptLength = 512;
const decodePrompt = 128;
const tokens = (length: number): number[] => Array.from({ length }, (_, i) => ((i * 7919) % 1000) + 10);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const now = () => performance.now();

const hm = await HookedModel.fromPretrained(dir);
const model = hm.model;

// The model's own call on ids already on the device, as mlx-lm's model(x).
function forwardBuild(): number {
  const input = mx.array([tokens(promptLength)], "int32");
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    mx.tidy(() => {
      const t0 = now();
      const logits = model.call(input);
      times.push(now() - t0);
      mx.eval(logits);
    });
  }
  input.dispose();
  return median(times);
}

// HookedModel.forward from JavaScript ids (no hook registered): what a user calls.
function hookedForwardBuild(): number {
  const ids = [tokens(promptLength)];
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = now();
    const logits = hm.forward(ids);
    times.push(now() - t0);
    mx.eval(logits);
    logits.dispose();
  }
  return median(times);
}

// Pipelined greedy decoding as generateStep does it: step n+1 is built from step n's unread
// token (its range check deferred), scheduled, then step n's token is read.
function decodeBuild(): number {
  const cache = model.makeCache();
  const prompt = tokens(decodePrompt);
  mx.tidy(() => mx.eval(model.call(mx.array([prompt.slice(0, -1)]), cache)));
  const step = (input: mx.Array) =>
    mx.keep(mx.tidy(() => mx.argmax(mx.index(model.call(input, cache), ":", -1, ":"), -1)));
  let current = step(mx.array([prompt.slice(-1)]));
  mx.scheduleEval(current);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = now();
    const input = mx.reshape(current, [1, 1]);
    deferRangeCheck(input);
    const next = step(input);
    input.dispose();
    mx.scheduleEval(next);
    times.push(now() - t0);
    current.item();
    current.dispose();
    current = next;
  }
  current.dispose();
  for (const c of cache) c.dispose();
  return median(times);
}

forwardBuild(); // warm-up
console.log(
  JSON.stringify({
    peer: "mlux",
    forwardBuildMs: forwardBuild(),
    hookedForwardBuildMs: hookedForwardBuild(),
    decodeBuildMs: decodeBuild(),
  }),
);
