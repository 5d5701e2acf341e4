// Bad input to hooks, on every architecture: each mistake is an Error that names the path and what
// would be right, and afterwards the model has no hooks left on, no arrays leaked, and gives the
// same logits as before, bit for bit.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HookError, HookedModel, mx } from "mlux";
import { checkpoints, maxAbsDiff, promptIds } from "./checkpoints.ts";

const CASES = checkpoints([]);
const PROMPT = promptIds(4);

interface Subject {
  hm: HookedModel;
  expected: mx.Array;
  mlp: string;
  layer: string;
  pattern: string;
}

const subjects = new Map<string, Subject>();

before(async () => {
  for (const c of CASES) {
    const hm = await HookedModel.fromPretrained(c.dir);
    const paths = new Set(hm.paths());
    const layer = hm.names.layerPaths[1] as string;
    const mlp = [`${layer}.mlp`, `${layer}.feed_forward`].find((p) => paths.has(p)) as string;
    const attention = hm.names.attentionPaths.find((p) => p !== undefined) as string;
    subjects.set(c.label, { hm, expected: hm.forward([PROMPT]), mlp, layer, pattern: `${attention}.hook_pattern` });
  }
  // The arrays loading dropped are freed before any count below is taken (the garbage collector
  // frees dropped arrays whenever it runs, also in the middle of a synchronous test).
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc?.();
});

after(() => {
  for (const s of subjects.values()) {
    s.expected.dispose();
    s.hm.model.dispose();
  }
});

/** Runs the failing call, checks its error, then that the model is unhooked, leak-free and unchanged. */
function expectFailure(s: Subject, call: () => unknown, check: (error: Error) => void): void {
  const live = mx.liveArrays();
  assert.throws(call, (error: Error) => {
    check(error);
    return true;
  });
  assert.deepEqual(s.hm.hookedPaths(), [], "no hooks left on");
  assert.equal(mx.liveArrays(), live, "no arrays left behind");
  const logits = s.hm.forward([PROMPT]);
  const diff = maxAbsDiff(logits, s.expected, "logits after the error");
  logits.dispose();
  assert.equal(diff, 0, "the next forward pass gives the same logits");
}

function hookError(path: string, ...words: string[]): (error: Error) => void {
  return (error) => {
    assert.ok(error instanceof HookError, `a HookError, not ${error.name}: ${error.message}`);
    assert.equal(error.path, path);
    assert.ok(error.message.includes(`"${path}"`), `the message names the path: ${error.message}`);
    for (const word of words) assert.ok(error.message.includes(word), `the message says "${word}": ${error.message}`);
  };
}

for (const c of CASES) {
  describe(`${c.label}: bad hooks fail clearly and leave the model usable`, () => {
    test("an unknown path lists the nearest valid ones", () => {
      const s = subjects.get(c.label) as Subject;
      const typo = `${s.mlp}x`;
      const nearest = (error: Error) => {
        assert.ok(error.message.includes(`"${typo}"`), error.message);
        assert.ok(error.message.includes(`Nearest valid: ${s.mlp}`), `nearest first: ${error.message}`);
      };
      expectFailure(s, () => s.hm.runWithHooks([PROMPT], { hooks: [[typo, () => undefined]] }), nearest);
      expectFailure(s, () => s.hm.runWithCache([PROMPT], { names: [typo] }), nearest);
      expectFailure(s, () => s.hm.addHook(typo, () => undefined), nearest);
      // All or none: a good selector beside a bad one adds nothing.
      expectFailure(
        s,
        () =>
          s.hm.addHooks({
            hooks: [
              [s.mlp, () => undefined],
              [typo, () => undefined],
            ],
          }),
        nearest,
      );
      expectFailure(
        s,
        () => s.hm.runWithCache([PROMPT], { names: ["resid_postt.0"] }),
        (error) => assert.ok(error.message.includes("resid_post.0"), error.message),
      );
    });

    test("a hook that throws: a HookError naming the path, with the cause kept", () => {
      const s = subjects.get(c.label) as Subject;
      for (const path of [s.mlp, s.pattern]) {
        const cause = new Error("the hook's own failure");
        expectFailure(
          s,
          () =>
            s.hm.runWithHooks([PROMPT], {
              hooks: [
                [
                  path,
                  () => {
                    throw cause;
                  },
                ],
              ],
            }),
          (error) => {
            hookError(path, "threw", cause.message)(error);
            assert.equal(error.cause, cause);
          },
        );
      }
    });

    test("a hook returning the wrong shape, dtype or a non-Array: the path and what it must return", () => {
      const s = subjects.get(c.label) as Subject;
      for (const path of [s.mlp, s.pattern]) {
        const run = (hook: (output: mx.Array) => unknown) => () =>
          s.hm.runWithHooks([PROMPT], { hooks: [[path, hook as (output: mx.Array) => mx.Array]] });
        expectFailure(
          s,
          run(() => mx.zeros([1, 1])),
          hookError(path, "shape [1,1]", "must keep shape"),
        );
        expectFailure(
          s,
          run((output) => mx.astype(output, "float16")),
          hookError(path, "dtype float16", "must keep dtype float32"),
        );
        expectFailure(
          s,
          run(() => 42),
          hookError(path, "a number", "return an mx.Array"),
        );
        expectFailure(
          s,
          run((output) => output.tolist()),
          hookError(path, "a JavaScript array"),
        );
      }
    });

    test("a pre-hook returning the wrong number of inputs, or a wrong first input", () => {
      const s = subjects.get(c.label) as Subject;
      expectFailure(
        s,
        () => s.hm.runWithHooks([PROMPT], { preHooks: [[s.layer, (_x, ctx) => [...ctx.inputs, null]]] }),
        hookError(s.layer, "inputs", "the module takes"),
      );
      expectFailure(
        s,
        () => s.hm.runWithHooks([PROMPT], { preHooks: [[s.layer, () => mx.zeros([3])]] }),
        hookError(s.layer, "input 0", "must keep shape"),
      );
    });

    test("scoped hooks come off when the code around them throws", () => {
      const s = subjects.get(c.label) as Subject;
      const failure = new Error("the caller's own failure");
      expectFailure(
        s,
        () => {
          using _hook = s.hm.addHook(s.mlp, () => undefined);
          assert.deepEqual(s.hm.hookedPaths(), [s.mlp]);
          throw failure;
        },
        (error) => assert.equal(error, failure),
      );
      expectFailure(
        s,
        () =>
          s.hm.withHooks({ hooks: [[s.mlp, (output) => mx.zerosLike(output)]] }, () => {
            s.hm.forward([PROMPT]).dispose();
            throw failure;
          }),
        (error) => assert.equal(error, failure),
      );
      // A scoped hook that throws during the forward pass: the pass fails, the scope removes it.
      expectFailure(
        s,
        () => {
          using _hook = s.hm.addHook(s.mlp, () => {
            throw failure;
          });
          s.hm.forward([PROMPT]);
        },
        (error) => {
          hookError(s.mlp, "threw")(error);
          assert.equal(error.cause, failure);
        },
      );
      // Hooks given to generate come off when a step throws.
      expectFailure(
        s,
        () => [
          ...s.hm.generate(PROMPT, {
            maxTokens: 2,
            hooks: [
              [
                s.mlp,
                () => {
                  throw failure;
                },
              ],
            ],
          }),
        ],
        hookError(s.mlp, "threw"),
      );
    });
  });
}
