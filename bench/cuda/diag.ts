// Where mlux's time goes on a forward pass and in greedy decoding, split into building the graph
// (JavaScript and the addon making MLX's lazy ops) and evaluating it (MLX computing), with the
// garbage collections V8 made meanwhile. diag.py measures mlx-lm the same way; comparing the two
// says whether a gap lies in graph building (ours) or in the computation (the same libmlx).
//   node --conditions=mlux-source --import tsx bench/cuda/diag.ts CHECKPOINT_DIR [--decode-only | --prefill-only]
// Prints one JSON line.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { HookedModel, mx } from "mlux";
import { deferRangeCheck } from "../../src/mx/deferred-range.ts";

const [dir, flag] = process.argv.slice(2);
if (!dir) throw new Error("usage: diag.ts CHECKPOINT_DIR [--decode-only | --prefill-only]");
const work = JSON.parse(
  readFileSync(process.env.MLUX_CUDA_WORKLOAD ?? new URL("workload.json", import.meta.url), "utf8"),
);
// Token ids below the vocabulary (for Llama-3.2-1B's 128,256, the ids mlux_side.ts uses).
const span = Math.min(120000, JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).vocab_size - 10);
const tokens = (rows: number, length: number): number[][] =>
  Array.from({ length: rows }, (_, r) => Array.from({ length }, (_, i) => ((i * 7919 + r * 104729) % span) + 10));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const now = () => performance.now();

let collections = 0;
let collectionMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    collections++;
    collectionMs += entry.duration;
  }
}).observe({ entryTypes: ["gc"] });
// GC entries arrive on a later turn of the event loop.
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

const model = (await HookedModel.fromPretrained(dir)).model;

// Passes before the timed ones: mlux's first passes in a process build more slowly while V8 compiles
// the model's code (on this repository's CPU machine, passes 3-9 took up to 1.5 times passes 41-60;
// mlx-lm's did not change), and the comparison is of the steady cost. workload.json's "warmUp", or
// MLUX_CUDA_WARM_UP.
const WARM_UP = Number(process.env.MLUX_CUDA_WARM_UP ?? work.warmUp);

/** fresh: the input array is made from the token list inside each timed pass (as a caller with a list of
 * ids does), not once before. `ops` counts the primitives of the pass's graph. */
async function prefill(rows: number, fresh = false) {
  const ids = tokens(rows, work.promptLength);
  const input = mx.array(ids);
  const build: number[] = [];
  const evaluate: number[] = [];
  let gcs = 0;
  let gcMs = 0;
  for (let i = 0; i < work.repeats + WARM_UP; i++) {
    await settle();
    const [c0, m0] = [collections, collectionMs];
    const t0 = now();
    mx.tidy(() => {
      const logits = model.call(fresh ? mx.array(ids) : input);
      const t1 = now();
      mx.eval(logits);
      if (i >= WARM_UP) {
        build.push(t1 - t0);
        evaluate.push(now() - t1);
      }
    });
    await settle();
    if (i >= WARM_UP) {
      gcs += collections - c0;
      gcMs += collectionMs - m0;
    }
  }
  const ops = mx.tidy(() => opCounts(mx.exportToDot(model.call(input))));
  input.dispose();
  return {
    buildMs: median(build),
    evalMs: median(evaluate),
    tokensPerSecond: (rows * work.promptLength) / ((median(build) + median(evaluate)) / 1000),
    collectionsPerPass: gcs / work.repeats,
    collectionMsPerPass: gcMs / work.repeats,
    ops,
  };
}

// Greedy decoding pipelined as generateStep does it: build step n+1 from step n's unread token
// (its range check deferred, as generateStep does: otherwise the embedding's check reads the token
// and building waits for step n), schedule it, then read step n's token. Build and wait are timed apart,
// and build is split into making the graph and scheduling it; `ops` counts the primitives of one step's graph.
async function decode() {
  const cache = model.makeCache();
  const prompt = tokens(1, work.decodePrompt)[0] as number[];
  mx.tidy(() => mx.eval(model.call(mx.array([prompt.slice(0, -1)]), cache)));
  const step = (input: mx.Array) =>
    mx.keep(mx.tidy(() => mx.argmax(mx.index(model.call(input, cache), ":", -1, ":"), -1)));
  await settle();
  const [c0, m0] = [collections, collectionMs];
  let current = step(mx.array([prompt.slice(-1)]));
  mx.scheduleEval(current);
  const graph: number[] = [];
  const build: number[] = [];
  const wait: number[] = [];
  const start = now();
  for (let n = 0; n < work.decodeTokens; n++) {
    const t0 = now();
    const input = mx.reshape(current, [1, 1]);
    deferRangeCheck(input);
    const next = step(input);
    input.dispose();
    const tg = now();
    mx.scheduleEval(next);
    const t1 = now();
    current.item();
    const t2 = now();
    graph.push(tg - t0);
    build.push(t1 - t0);
    wait.push(t2 - t1);
    current.dispose();
    current = next;
  }
  const total = now() - start;
  const input = mx.reshape(current, [1, 1]);
  deferRangeCheck(input);
  const unevaluated = step(input);
  const ops = opCounts(mx.exportToDot(unevaluated));
  for (const a of [input, unevaluated]) a.dispose();
  current.dispose();
  for (const c of cache) c.dispose();
  await settle();
  return {
    graphMs: median(graph),
    buildMs: median(build),
    waitMs: median(wait),
    tokensPerSecond: work.decodeTokens / (total / 1000),
    collections: collections - c0,
    collectionMs: collectionMs - m0,
    ops,
  };
}

/** How many of each primitive a graph in MLX's DOT form holds (one rectangle per primitive). */
function opCounts(dot: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [, op] of dot.matchAll(/label ="(\w+)", shape=rectangle/g))
    counts[op as string] = (counts[op as string] ?? 0) + 1;
  return counts;
}

const out: Record<string, unknown> = { peer: "mlux", device: mx.runtimeInfo.device };
if (flag !== "--decode-only") {
  out.prefill1 = await prefill(1);
  out.prefill1Fresh = await prefill(1, true);
  out.prefillBatch = await prefill(work.batch);
}
if (flag !== "--prefill-only") {
  await decode(); // warm-up
  out.decode = await decode();
}
console.log(JSON.stringify(out));
