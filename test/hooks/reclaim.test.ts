// What a run returns is reclaimed by the garbage collector when it is dropped without dispose(),
// also inside one synchronous loop that never yields to the event loop; what is still referenced
// stays. Needs node --expose-gc (as npm test runs), to collect at a known moment.
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { HookedModel, mx } from "mlux";

const root = fileURLToPath(new URL("../..", import.meta.url));
const PROMPT = "And God said, Let there be light: and there was light.";
const RUNS = 40;

let hm: HookedModel;

before(async () => {
  hm = await HookedModel.fromPretrained(join(root, "fixtures/tiny-lm-f16"));
  // A first run, so loading's dropped temporaries are registered and the counts below start level.
  hm.forward(PROMPT).dispose();
});

function collect(): void {
  assert.equal(typeof globalThis.gc, "function", "run the tests with node --expose-gc");
  globalThis.gc?.();
}

// Live arrays before fn, while what it returns is held, and after it is dropped and collected:
// all in one synchronous turn.
function liveAround(fn: () => unknown[]): { before: number; during: number; after: number } {
  collect();
  const before = mx.liveArrays();
  let held: unknown[] | undefined = fn();
  const during = mx.liveArrays();
  assert.ok(held.length > 0);
  held = undefined;
  collect();
  return { before, during, after: mx.liveArrays() };
}

// Results are registered with the backstop as they are returned, not at the periodic sweep of
// young arrays (after 1,024 more arrays or at the next turn of the event loop): so even the
// results of one call, dropped at once, are freed by the next collection.
for (const [what, run] of [
  ["runWithCache", () => hm.runWithCache(PROMPT, { names: ["resid_post", "pattern"] })],
  ["forward", () => hm.forward(PROMPT)],
  ["runWithHooks", () => hm.runWithHooks(PROMPT, { hooks: [["mlp_out.1", (x) => mx.multiply(x, 2)]] })],
  ["getAttentionPatterns", () => hm.getAttentionPatterns(PROMPT)],
] as const) {
  test(`what one ${what} returns, dropped at once, is freed by the next collection`, () => {
    const { before, during, after } = liveAround(() => [run()]);
    assert.ok(during > before, "the call returned arrays");
    assert.equal(after, before, `${after - before} of its ${during - before} arrays still alive after collection`);
  });
}

test("results dropped in a synchronous loop are freed", () => {
  const { before, during, after } = liveAround(() => {
    const results = [];
    for (let i = 0; i < RUNS; i++) {
      results.push(hm.runWithCache(PROMPT, { names: ["resid_post", "pattern"] }));
      results.push(hm.forward(PROMPT));
      results.push(hm.getAttentionPatterns(PROMPT, [1]));
    }
    return results;
  });
  assert.ok(during - before >= RUNS * 11, `${during - before} arrays alive while held`);
  assert.equal(after, before, `${after - before} arrays still alive after collection`);
});

test("results still referenced are kept and stay readable", () => {
  const kept = hm.runWithCache(PROMPT, { names: ["resid_post.2"] });
  const expected = kept.cache.get("resid_post.2").tolist();
  liveAround(() => Array.from({ length: RUNS }, () => hm.runWithCache(PROMPT, { names: ["resid_post.2"] })));
  assert.deepEqual(kept.cache.get("resid_post.2").tolist(), expected);
  assert.ok(!kept.logits.disposed);
  kept.logits.dispose();
  kept.cache.dispose();
});

test("generation's captured caches and logprobs dropped without dispose are freed", () => {
  const prompt = hm.toTokens(PROMPT)[0] as number[];
  let tokens = 0;
  const { before, during, after } = liveAround(() => {
    const steps = [];
    for (let i = 0; i < 4; i++) {
      for (const step of hm.generate(prompt, { maxTokens: 8, capture: ["resid_post", "pattern.0"] })) {
        assert.ok(step.cache !== undefined);
        steps.push(step);
      }
    }
    tokens = steps.length;
    return steps;
  });
  assert.equal(tokens, 32);
  assert.ok(during - before >= tokens * 6, `${during - before} arrays alive while held`); // logprobs + 5 captured
  assert.equal(after, before, `${after - before} arrays still alive after collection`);
});
