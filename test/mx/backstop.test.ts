// The garbage-collection backstop frees arrays that JavaScript drops without dispose() during the
// collection itself, so a synchronous loop that never yields to the event loop gets its memory
// back (a FinalizationRegistry's callbacks would wait for the loop to end). Needs node --expose-gc.
import assert from "node:assert/strict";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { test } from "node:test";
import { mx } from "mlux";

test("arrays dropped in a synchronous loop are freed by a collection in the same turn", () => {
  assert.equal(typeof globalThis.gc, "function", "run the tests with node --expose-gc");
  const before = mx.liveArrays();
  const MB = 2 ** 20;
  const activeBefore = mx.memory.activeMemory();
  for (let i = 0; i < 3000; i++) mx.eval(mx.add(mx.zeros([64 * 1024]), i)); // 256 KiB each, dropped
  const during = mx.liveArrays();
  globalThis.gc?.();
  const after = mx.liveArrays();
  // Up to 1,023 of the newest wait in the young list, not yet registered (src/mx/array.ts).
  assert.ok(after - before < 1024, `${after - before} of ${during - before} arrays still alive after collection`);
  const grown = (mx.memory.activeMemory() - activeBefore) / MB;
  // 3,000 x 256 KiB = 750 MiB were made; at most the 1,023 unregistered ones (256 MiB) may stay.
  assert.ok(grown <= 256, `MLX active memory grew by ${grown.toFixed(1)} MiB`);
});

test("an array still referenced survives the collection and stays readable", () => {
  const kept = mx.add(mx.arange(4), 1);
  for (let i = 0; i < 2100; i++) mx.add(mx.ones([2]), i); // two sweeps of the young list register `kept`
  globalThis.gc?.();
  assert.deepEqual(kept.tolist(), [1, 2, 3, 4]);
  kept.dispose();
});

// V8 is told the bytes an array holds once it is computed, not the size of a graph node not yet
// evaluated: a forward pass builds thousands of nodes, and reporting their future outputs made V8
// collect for every 64 MiB of them (tens of collections per large batch, most of its time on a GPU).
test("building a graph of large arrays makes no collection; computing them is reported", async () => {
  let collections = 0;
  const observer = new PerformanceObserver((list) => {
    collections += list.getEntries().length;
  });
  observer.observe({ entryTypes: ["gc"] });
  const drain = () => new Promise((resolve) => setTimeout(resolve, 20));
  await drain();
  collections = 0;
  // 200 nodes of 1 GiB each (a broadcast plus one), never evaluated: nothing is allocated.
  const base = mx.zeros([256, 1024, 1024]);
  const nodes = mx.tidy(() => {
    for (let i = 0; i < 199; i++) mx.add(base, i);
    return mx.add(base, 1);
  });
  await drain();
  assert.equal(collections, 0, `${collections} collections while building 200 GiB of unevaluated nodes`);
  nodes.dispose();
  // Computed arrays count: 40 results of 64 MiB each, dropped in a synchronous loop, make V8
  // collect on its own (2.5 GiB reported), with no gc() call.
  for (let i = 0; i < 40; i++) mx.eval(mx.add(mx.zeros([16, 1024, 1024]), i));
  await drain();
  observer.disconnect();
  base.dispose();
  assert.ok(collections > 0, "computed arrays dropped without dispose made no collection");
});

// Freed bytes are told to V8 netted against the next bytes computed (native/src/handles.cc): V8
// lowers its threshold whenever it is told of a fall, so freeing one pass's large result and
// computing the next one's made it collect at every pass, with nothing to collect.
test("disposing a large result and computing the next one as large makes no collection", async () => {
  let majors = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind !== constants.NODE_PERFORMANCE_GC_MINOR) majors++;
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  const drain = () => new Promise((resolve) => setTimeout(resolve, 20));
  // What a model holds (its weights), computed and reported first.
  const held = mx.tidy(() => mx.add(mx.zeros([40, 1024, 1024]), 1)); // 160 MiB
  mx.eval(held);
  await drain();
  majors = 0;
  for (let i = 0; i < 12; i++) {
    const result = mx.tidy(() => mx.add(mx.zeros([18, 1024, 1024]), i)); // 72 MiB: over V8's 64 MiB step
    mx.eval(result);
    result.dispose();
  }
  await drain();
  observer.disconnect();
  held.dispose();
  // The first result raises what is held above the last collection's threshold; the others reuse it.
  assert.ok(majors <= 2, `${majors} full or incremental collections in 12 passes`);
});
