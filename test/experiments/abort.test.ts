// The experiments' signal: aborted from onProgress at the first step, each call throws an
// AbortError that says how far it got, reports no further step, and leaves MLX's active memory
// where it was (everything it allocated is released on the way out).
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { AbortError, ablation, activationPatching, detectHeads, HookedModel, logitLens, patchAcrossLayers } from "mlux";
import { settledMemory } from "../mx/settled-memory.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
let hm: HookedModel;
before(async () => {
  hm = await HookedModel.fromPretrained(join(root, ".checkpoints/llama/fp32"));
});

const prompt = [1, 20, 300, 4000, 55, 6, 70, 800, 9, 10];
const calls: Record<string, (options: { onProgress: (d: number, t: number) => void; signal: AbortSignal }) => unknown> =
  {
    logitLens: (o) => logitLens(hm, [prompt], o),
    detectHeads: (o) => detectHeads(hm, { batch: 12, repeatLength: 10, ...o }),
    ablation: (o) => ablation(hm, { prompt, site: "resid_pre", kind: "mean", batchSize: 4, ...o }),
    activationPatching: (o) =>
      activationPatching(hm, {
        clean: prompt,
        corrupted: [1, 20, 301, 4000, 55, 6, 70, 800, 9, 10],
        metric: { kind: "kl" },
        site: "resid_pre",
        batchSize: 4,
        ...o,
      }),
    "activationPatching (heads)": (o) =>
      activationPatching(hm, {
        clean: prompt,
        corrupted: [1, 20, 301, 4000, 55, 6, 70, 800, 9, 10],
        metric: { kind: "kl" },
        site: "z",
        batchSize: 4,
        ...o,
      }),
    patchAcrossLayers: (o) =>
      patchAcrossLayers(hm, {
        source: prompt,
        target: prompt,
        sourcePosition: 3,
        targetPosition: 5,
        batchSize: 1,
        ...o,
      }),
  };

for (const [name, call] of Object.entries(calls)) {
  test(`${name}: aborted at its first step, it throws an AbortError and frees what it allocated`, async () => {
    const abortAtFirstStep = () => {
      const controller = new AbortController();
      const seen: [number, number][] = [];
      const run = () =>
        call({
          onProgress: (done, total) => {
            seen.push([done, total]);
            controller.abort();
          },
          signal: controller.signal,
        });
      return { call: run, seen };
    };
    // Warm up with a whole call and a stopped one: kernels, and the small arrays a call keeps until
    // the next (a metric's scalar) are made before the count starts.
    call({ onProgress: () => {}, signal: new AbortController().signal });
    assert.throws(abortAtFirstStep().call, AbortError);
    const before = await settledMemory();
    const { call: stopped, seen } = abortAtFirstStep();
    assert.throws(stopped, (error: unknown) => {
      assert.ok(error instanceof AbortError, String(error));
      assert.equal(error.name, "AbortError");
      assert.match(error.message, /aborted after \d+ of \d+ steps/);
      return true;
    });
    assert.equal(seen.length, 1, `one step ran: ${JSON.stringify(seen)}`);
    const [[done, total]] = seen as [[number, number]];
    assert.ok(done < total, `${done} of ${total} steps`);
    // Exact: every array the call made (caches, edits, means, partial patterns) is released.
    assert.equal(await settledMemory(), before);
  });
}

test("a signal aborted before the call: nothing is computed past the first step", () => {
  const controller = new AbortController();
  controller.abort();
  assert.throws(() => logitLens(hm, [prompt], { signal: controller.signal }), AbortError);
});
