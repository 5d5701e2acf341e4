// Hooks that change nothing change nothing, on every architecture: a hook and a pre-hook on every
// module and hook point (attention then runs written out, since its scores and pattern are
// hooked) leave the logits and greedy generation bit-for-bit those of the unhooked model.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HookedModel, type mx } from "mlux";
import { checkpoints, maxAbsDiff, promptIds } from "./checkpoints.ts";

const CASES = checkpoints();
const PROMPT = promptIds(3);
const models = new Map<string, HookedModel>();

before(async () => {
  for (const c of CASES) models.set(c.label, await HookedModel.fromPretrained(c.dir, { dtype: "native" }));
});

after(() => {
  for (const hm of models.values()) hm.model.dispose();
});

function assertSameLogits(hm: HookedModel, expected: mx.Array, what: string): void {
  const logits = hm.forward([PROMPT]);
  const diff = maxAbsDiff(logits, expected, what);
  logits.dispose();
  assert.equal(diff, 0, `${what}: logits differ by up to ${diff}`);
}

function greedy(hm: HookedModel, maxTokens: number): { tokens: number[]; logprobs: mx.Array[] } {
  const tokens: number[] = [];
  const logprobs: mx.Array[] = [];
  for (const step of hm.generate(PROMPT, { maxTokens })) {
    tokens.push(step.token);
    logprobs.push(step.logprobs);
  }
  return { tokens, logprobs };
}

for (const c of CASES) {
  describe(`${c.label}: no-op hooks`, () => {
    test("on every path, hooks and pre-hooks leave the logits bit for bit", () => {
      const hm = models.get(c.label) as HookedModel;
      const expected = hm.forward([PROMPT]);
      const everyPath = hm.paths().length;
      {
        using _hooks = hm.addHook(
          () => true,
          () => undefined,
        );
        assert.equal(hm.hookedPaths().length, everyPath, "the predicate hooks every path");
        assertSameLogits(hm, expected, "hooks returning undefined");
      }
      {
        using _preHooks = hm.addPreHook(
          () => true,
          () => undefined,
        );
        assertSameLogits(hm, expected, "pre-hooks returning undefined");
      }
      {
        // Returning what came in takes the replacement path (checks, re-wiring): still the same.
        using _hooks = hm.addHook(
          () => true,
          (output) => output,
        );
        using _preHooks = hm.addPreHook(
          () => true,
          (_input, ctx) => [...ctx.inputs],
        );
        assertSameLogits(hm, expected, "hooks and pre-hooks returning their inputs");
      }
      assert.deepEqual(hm.hookedPaths(), []);
      assertSameLogits(hm, expected, "after the hooks are removed");
      expected.dispose();
    });

    test("greedy generation with no-op hooks on every path: same tokens, same log-probabilities", () => {
      const hm = models.get(c.label) as HookedModel;
      const plain = greedy(hm, 2);
      let hooked: ReturnType<typeof greedy>;
      {
        using _hooks = hm.addHook(
          () => true,
          () => undefined,
        );
        using _preHooks = hm.addPreHook(
          () => true,
          () => undefined,
        );
        hooked = greedy(hm, 2);
      }
      assert.deepEqual(hooked.tokens, plain.tokens);
      for (const [i, logprobs] of hooked.logprobs.entries()) {
        assert.equal(
          maxAbsDiff(logprobs, plain.logprobs[i] as mx.Array, `step ${i}`),
          0,
          `step ${i} log-probabilities`,
        );
      }
      for (const a of [...plain.logprobs, ...hooked.logprobs]) a.dispose();
      assert.deepEqual(hm.hookedPaths(), []);
    });
  });
}
