// Stopping each kind of job mid-call. The model's thread is inside one synchronous library call, so
// the client stops it from another thread (a worker here, as a browser would from its own process):
// it closes the stream at the first progress event. The job must end "stopped" with fewer steps done
// than its total, the next job must run, and MLX's active memory must come back exactly.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Worker } from "node:worker_threads";
import type { Health, RunKind, StreamEvent } from "../../src/server/protocol.ts";
import { type RunningServer, startServer } from "../../src/server/start.ts";
import { settledMemory } from "../mx/settled-memory.ts";
import { get, post, resultOf, TINY, until } from "./client.ts";

let server: RunningServer;

before(async () => {
  // Longer patterns and sweeps than the defaults, so every job has many steps to be stopped among.
  server = await startServer({ model: TINY, port: 0, limits: { patternTokens: 400 } });
});

after(async () => {
  await server.close();
});

/** Posts a run from another thread and closes the stream at its first progress event; the events seen. */
function stopAtFirstProgress(kind: RunKind, body: unknown): Promise<StreamEvent[]> {
  const client = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     (async () => {
       const controller = new AbortController();
       const seen = [];
       try {
         const response = await fetch(workerData.url, {
           method: "POST",
           headers: { "content-type": "application/json" },
           body: JSON.stringify(workerData.body),
           signal: controller.signal,
         });
         const reader = response.body.getReader();
         const decoder = new TextDecoder();
         let text = "";
         for (;;) {
           const { value, done } = await reader.read();
           if (done) break;
           text += decoder.decode(value, { stream: true });
           let end;
           while ((end = text.indexOf("\\n\\n")) >= 0) {
             const event = JSON.parse(text.slice(6, end));
             text = text.slice(end + 2);
             seen.push(event);
             if (event.type === "progress") controller.abort();
           }
         }
       } catch (error) {
         if (!controller.signal.aborted) seen.push({ type: "error", message: String(error) });
       }
       parentPort.postMessage(seen);
     })();`,
    { eval: true, workerData: { url: `${server.url}/api/run/${kind}`, body } },
  );
  return new Promise((resolve, reject) => {
    client.once("message", (seen: StreamEvent[]) => {
      void client.terminate();
      resolve(seen);
    });
    client.once("error", reject);
  });
}

/** Runs `kind` and stops it at its first progress event; how its job ended. */
async function stopped(kind: RunKind, body: unknown) {
  const count = server.outcomes.length;
  const seen = await stopAtFirstProgress(kind, body);
  assert.ok(
    seen.some((e) => e.type === "progress"),
    `${kind} reported progress: ${JSON.stringify(seen).slice(0, 300)}`,
  );
  await until(() => server.outcomes.length > count, `the ${kind} job to end`);
  await until(async () => !((await get(server.url, "/api/health")).body as Health).busy, "the queue to empty");
  return server.outcomes.at(-1) as (typeof server.outcomes)[number];
}

const words = "In the beginning God created the heaven and the earth and the light was good".split(" ");
const text = (n: number) => Array.from({ length: n }, (_, i) => words[(i * 7) % words.length]).join(" ");

const JOBS: [RunKind, unknown][] = [
  ["lens", { prompt: text(240) }],
  ["attention", { prompt: text(380) }],
  ["heads", { batch: 64, repeatLength: 60 }],
  ["patch-layers", { source: text(200), target: text(200), sourcePosition: 100, targetPosition: 150 }],
  ["patch-sweep", { clean: text(120), corrupted: text(120).replace("heaven", "earth"), answer: 5, wrong: 7 }],
  // A sweep of the tiny model's 4 layers x 121 positions: 484 ablated runs, a layer at a time.
  ["ablation", { prompt: text(120), kind: "zero" }],
];

describe("a job stopped mid-call", () => {
  for (const [kind, body] of JOBS) {
    test(`${kind}: stops after fewer steps than its total, frees its memory, and the next job runs`, async (t) => {
      await stopped(kind, body); // warm up: kernels and what a stopped run keeps until the next
      const before = await settledMemory();
      const outcome = await stopped(kind, body);
      assert.equal(outcome.kind, kind);
      assert.equal(outcome.ended, "stopped");
      const steps = outcome.steps as { done: number; total: number };
      t.diagnostic(`${kind}: stopped after ${steps.done} of ${steps.total} steps`);
      assert.ok(steps.done < steps.total, `${steps.done} of ${steps.total} steps`);
      // Exact: every array of the stopped call is released.
      assert.equal(await settledMemory(), before);
      // The model's thread takes the next job.
      assert.ok(resultOf(await post(server.url, "/api/run/lens", { prompt: "In the", probes: ["resid"], k: 1 })));
    });
  }
});
