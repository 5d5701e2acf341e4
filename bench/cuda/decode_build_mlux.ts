// mlux's side of bench/cuda/decode_build.ts: the host time of building one greedy decode step's
// graph, and the addon calls that building makes. Prints one JSON line (ms, median and min).
//   node --conditions=mlux-source --import tsx bench/cuda/decode_build_mlux.ts CHECKPOINT_DIR REPEATS [--count | --quiet]
// With --quiet it builds only while nothing computes (for a profile of building: node --cpu-prof).
// With --count it only counts: every addon function is wrapped with a counter before mlux loads
// (which slows the calls), and the calls of one decode step are printed by name.
import type * as Mlux from "mlux";
import { native } from "../../src/mx/native.ts";

const [dir, repeatsArg, flag] = process.argv.slice(2);
if (!dir) throw new Error("usage: decode_build_mlux.ts CHECKPOINT_DIR REPEATS [--count | --quiet]");
const repeats = Number(repeatsArg ?? 50);
const counting = flag === "--count";

const calls = new Map<string, number>();
let recording = false;
if (counting) {
  const table = native as unknown as Record<string, unknown>;
  for (const [name, fn] of Object.entries(table)) {
    if (typeof fn !== "function") continue;
    table[name] = (...args: unknown[]) => {
      if (recording) calls.set(name, (calls.get(name) ?? 0) + 1);
      return (fn as (...a: unknown[]) => unknown)(...args);
    };
  }
}
const { HookedModel, mx } = (await import("mlux")) as typeof Mlux;
const { deferRangeCheck } = await import("../../src/mx/deferred-range.ts");

const decodePrompt = 128;
const tokens = (length: number): number[] => Array.from({ length }, (_, i) => ((i * 7919) % 1000) + 10);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)] as number;
const now = () => performance.now();

const model = (await HookedModel.fromPretrained(dir)).model;

type Step = { cache: ReturnType<typeof model.makeCache>; current: Mlux.mx.Array };

// A cache filled with the prompt, and the first generated token (scheduled).
function start(): Step {
  const cache = model.makeCache();
  const prompt = tokens(decodePrompt);
  mx.tidy(() => mx.eval(model.call(mx.array([prompt.slice(0, -1)]), cache)));
  const current = build(cache, mx.array([prompt.slice(-1)]));
  mx.scheduleEval(current);
  return { cache, current };
}

function build(cache: Step["cache"], input: Mlux.mx.Array): Mlux.mx.Array {
  return mx.keep(mx.tidy(() => mx.argmax(mx.index(model.call(input, cache), ":", -1, ":"), -1)));
}

// Step n+1 built from step n's unread token (its range check deferred), as generateStep does it.
function next(step: Step): Mlux.mx.Array {
  const input = mx.reshape(step.current, [1, 1]);
  deferRangeCheck(input);
  const out = build(step.cache, input);
  input.dispose();
  return out;
}

function finish(step: Step): void {
  step.current.dispose();
  for (const c of step.cache) c.dispose();
}

// Each step built while nothing computes (the previous one was read first): the host cost alone.
function quiet(): number[] {
  const step = start();
  step.current.item();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = now();
    const out = next(step);
    times.push(now() - t0);
    mx.eval(out);
    out.item();
    step.current.dispose();
    step.current = out;
  }
  finish(step);
  return times;
}

// Pipelined as generation runs: step n+1 is built and scheduled while step n computes.
function pipelined(): number[] {
  const step = start();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = now();
    const out = next(step);
    mx.scheduleEval(out);
    times.push(now() - t0);
    step.current.item();
    step.current.dispose();
    step.current = out;
  }
  finish(step);
  return times;
}

if (counting) {
  const step = start();
  step.current.item();
  next(step).dispose(); // warm-up: the first step may make one-off arrays
  recording = true;
  const out = next(step);
  recording = false;
  out.dispose();
  finish(step);
  const byName = Object.fromEntries([...calls].sort((a, b) => b[1] - a[1]));
  const total = [...calls.values()].reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({ peer: "mlux", callsPerStep: total, calls: byName }));
} else {
  quiet(); // warm-up
  const q = quiet();
  const p = flag === "--quiet" ? [] : pipelined();
  console.log(
    JSON.stringify({
      peer: "mlux",
      quietMedianMs: median(q),
      quietMinMs: sorted(q)[0],
      pipelinedMedianMs: median(p),
      pipelinedMinMs: sorted(p)[0],
    }),
  );
}
