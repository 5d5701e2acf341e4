// Hooks that change nothing change nothing, on every architecture: a hook and a pre-hook on every
// module and hook point leave the logits and greedy generation bit-for-bit those of the model run
// unhooked, on every device. Hooking the scores or the pattern writes attention out (multihead.ts)
// so that hooks see it, but only a hook that hands back another array makes the layer's output the
// written-out one; that run is compared with the fused one (see FUSED_VS_WRITTEN_OUT).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HookedModel, mx } from "mlux";
import { checkpoints, maxAbsDiff, promptIds } from "./checkpoints.ts";

const CASES = checkpoints();
const PROMPT = promptIds(3);
const models = new Map<string, HookedModel>();

// On the CPU, MLX's fused attention computes what the written-out ops compute, bit for bit. A GPU's
// fused kernels round elsewhere (on CUDA, those for bfloat16 and float16): on an H100 the bfloat16
// q4 checkpoints' logits (largest 1.2 to 2.05) moved by up to 0.06, 3 to 4 bfloat16 ulps at that
// size, and their log-probabilities (largest 11) by one ulp, 0.0625. Allowed there: 2^-4 of the
// largest value (16 units of bfloat16's rounding).
const FUSED_VS_WRITTEN_OUT = 2 ** -4;
const writesAttentionOut = (path: string) => /\.hook_(scores|pattern)$/.test(path);
// The same values in a new array: a hook that changed something, as far as the model can tell.
const copy = (a: mx.Array) => mx.multiply(a, mx.array(1, a.dtype));

before(async () => {
  for (const c of CASES) models.set(c.label, await HookedModel.fromPretrained(c.dir, { dtype: "native" }));
});

after(() => {
  for (const hm of models.values()) hm.model.dispose();
});

function assertSame(actual: mx.Array, expected: mx.Array, what: string): void {
  const diff = maxAbsDiff(actual, expected, what);
  assert.equal(diff, 0, `${what}: differ by up to ${diff}`);
}

function assertSameLogits(hm: HookedModel, expected: mx.Array, what: string): void {
  const logits = hm.forward([PROMPT]);
  try {
    assertSame(logits, expected, `${what}: logits`);
  } finally {
    logits.dispose();
  }
}

/** Written-out attention against the fused kernel: bit for bit on the CPU, else FUSED_VS_WRITTEN_OUT. */
function assertWrittenOutMatchesFused(writtenOut: mx.Array, fused: mx.Array, what: string): void {
  if (mx.runtimeInfo.device === "cpu") {
    assertSame(writtenOut, fused, what);
    return;
  }
  const diff = maxAbsDiff(writtenOut, fused, what);
  const largest = mx.tidy(() => mx.max(mx.abs(mx.astype(fused, "float32"))).item() as number);
  assert.ok(diff <= FUSED_VS_WRITTEN_OUT * largest, `${what}: differ by ${diff} (largest value ${largest})`);
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
      const fused = hm.forward([PROMPT]);
      const everyPath = hm.paths().length;
      {
        using _hooks = hm.addHook(
          () => true,
          () => undefined,
        );
        assert.equal(hm.hookedPaths().length, everyPath, "the predicate hooks every path");
        assertSameLogits(hm, fused, "hooks returning undefined");
      }
      {
        using _preHooks = hm.addPreHook(
          () => true,
          () => undefined,
        );
        assertSameLogits(hm, fused, "pre-hooks returning undefined");
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
        assertSameLogits(hm, fused, "hooks and pre-hooks returning their inputs");
      }
      // A new array for the scores or the pattern, even of the same values, is a change: the layer's
      // output is then the written-out attention's.
      let writtenOut: mx.Array;
      {
        using _hooks = hm.addHook(writesAttentionOut, copy);
        writtenOut = hm.forward([PROMPT]);
      }
      assertWrittenOutMatchesFused(writtenOut, fused, "attention written out, against the fused kernel");
      {
        using _hooks = hm.addHook(
          () => true,
          (output, ctx) => (writesAttentionOut(ctx.path) ? copy(output) : undefined),
        );
        assertSameLogits(hm, writtenOut, "hooks returning undefined on every other path");
      }
      assert.deepEqual(hm.hookedPaths(), []);
      assertSameLogits(hm, fused, "after the hooks are removed");
      fused.dispose();
      writtenOut.dispose();
    });

    test("greedy generation with no-op hooks on every path: same tokens, same log-probabilities", () => {
      const hm = models.get(c.label) as HookedModel;
      const fused = greedy(hm, 2);
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
      let writtenOut: ReturnType<typeof greedy>;
      {
        using _hooks = hm.addHook(writesAttentionOut, copy);
        writtenOut = greedy(hm, 2);
      }
      assert.deepEqual(hooked.tokens, fused.tokens);
      assert.deepEqual(writtenOut.tokens, fused.tokens);
      for (const [i, logprobs] of hooked.logprobs.entries()) {
        const fusedStep = fused.logprobs[i] as mx.Array;
        assertSame(logprobs, fusedStep, `step ${i} log-probabilities`);
        assertWrittenOutMatchesFused(
          writtenOut.logprobs[i] as mx.Array,
          fusedStep,
          `step ${i}, written out against fused`,
        );
      }
      for (const a of [...fused.logprobs, ...writtenOut.logprobs, ...hooked.logprobs]) a.dispose();
      assert.deepEqual(hm.hookedPaths(), []);
    });
  });
}
