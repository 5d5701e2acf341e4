// Hooks belong to runs, not to modules: two HookedModels over one model, and two generators used in
// turn, each see only their own hooks and recorders. On the shipped tiny Llama; every comparison is
// exact, since the same ops run on the same inputs.
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type HookedGenerateOptions, HookedModel, type HookedToken, mx } from "mlux";

const root = fileURLToPath(new URL("../..", import.meta.url));
const PROMPT = "And God said, Let there be light: and there was light.";

let a: HookedModel;
let b: HookedModel;
let ids: number[][];
let plain: mx.Array;

before(async () => {
  a = await HookedModel.fromPretrained(join(root, "fixtures/tiny-lm-f16"));
  b = new HookedModel(a.model, a.tokenizer); // the same modules, another HookedModel
  ids = a.toTokens(PROMPT);
  plain = a.forward(ids);
  mx.eval(plain);
});

function same(x: mx.Array, y: mx.Array): boolean {
  return mx.arrayEqual(x, y).item() as boolean;
}

// A hook that makes the model say something else: the MLP of layer 1 scaled up.
const steer = (out: mx.Array) => mx.multiply(out, 4);

describe("two HookedModels over one model", () => {
  test("a hook added on one does not fire in the other's runs", () => {
    let fired = 0;
    using _steer = a.addHook("mlp_out.1", (out) => {
      fired++;
      return steer(out);
    });
    const steered = a.forward(ids);
    assert.equal(fired, 1);
    assert.ok(!same(steered, plain), "the hook changes A's logits");
    const other = b.forward(ids);
    assert.equal(fired, 1, "A's hook did not fire in B's forward pass");
    assert.ok(same(other, plain), "B's logits are the unhooked ones");
    const { logits, cache } = b.runWithCache(ids, { names: ["mlp_out.1"] });
    assert.equal(fired, 1, "nor in B's runWithCache");
    assert.ok(same(logits, plain));
    const reference = a.runWithCache(ids, { names: ["mlp_out.1"] }).cache;
    assert.equal(fired, 2);
    assert.ok(same(mx.multiply(cache.get("mlp_out.1"), 4), reference.get("mlp_out.1")), "A records after its hook");
    assert.deepEqual(a.hookedPaths(), ["model.layers.1.hook_mlp_out"]);
    assert.deepEqual(b.hookedPaths(), []);
    for (const x of [steered, other, logits]) x.dispose();
    cache.dispose();
    reference.dispose();
  });

  test("both with hooks on the same path: each run fires its own only", () => {
    const seen: string[] = [];
    using _a = a.addHook("resid_post.2", () => void seen.push("A"));
    using _b = b.addHook("resid_post.2", () => void seen.push("B"));
    a.forward(ids).dispose();
    assert.deepEqual(seen, ["A"]);
    b.runWithHooks(ids, { hooks: [["resid_post.2", () => void seen.push("B's call")]] }).dispose();
    assert.deepEqual(seen, ["A", "B", "B's call"], "B's own hook, then the call's");
    a.runWithHooks(ids, { hooks: [["resid_post.2", steer]] }).dispose();
    assert.deepEqual(seen, ["A", "B", "B's call", "A"]);
  });

  test("attention writes out the pattern only in the run that hooks it", () => {
    const attention = a.model.getModule("model.layers.0.self_attn.hook_pattern");
    using _pattern = a.addHook("pattern.0", () => undefined);
    assert.equal(attention.hooked, false, "no run is in progress");
    let hookedInA: boolean | undefined;
    a.withHooks(
      {
        hooks: [
          [
            "resid_post.0",
            () => {
              hookedInA = attention.hooked;
            },
          ],
        ],
      },
      () => a.forward(ids),
    ).dispose();
    assert.equal(hookedInA, true);
    let hookedInB: boolean | undefined;
    const other = b.runWithHooks(ids, {
      hooks: [
        [
          "resid_post.0",
          () => {
            hookedInB = attention.hooked;
          },
        ],
      ],
    });
    assert.equal(hookedInB, false, "B's run does not see A's pattern hook");
    // Had B's run taken the written-out attention, the logits would differ in rounding.
    assert.ok(same(other, plain), "B ran the fused attention, as unhooked");
    other.dispose();
  });

  test("a run started inside a hook of another HookedModel's run does not see the outer hooks", () => {
    let inner: mx.Array | undefined;
    let outerFired = 0;
    a.runWithHooks(ids, {
      hooks: [
        [
          "resid_post.3",
          () => {
            outerFired++;
            inner ??= mx.keep(b.forward(ids)); // made inside A's pass, kept past its scope
          },
        ],
      ],
    }).dispose();
    assert.equal(outerFired, 1, "A's hook fired once: B's forward pass did not run it");
    assert.ok(inner !== undefined && same(inner, plain));
    inner?.dispose();
  });
});

describe("generators used in turn", () => {
  const prompt = () => ids[0] as number[];
  const options = (extra: HookedGenerateOptions = {}): HookedGenerateOptions => ({ maxTokens: 10, ...extra });

  function tokensOf(steps: Iterable<HookedToken>): number[] {
    const out: number[] = [];
    for (const step of steps) {
      out.push(step.token);
      step.logprobs.dispose();
      step.cache?.dispose();
    }
    return out;
  }

  // Steps both generators one token at a time, in turn, until both are done.
  function interleave(x: Iterator<HookedToken>, y: Iterator<HookedToken>): [HookedToken[], HookedToken[]] {
    const out: [HookedToken[], HookedToken[]] = [[], []];
    let done = [false, false];
    while (!done[0] || !done[1]) {
      [x, y].forEach((it, i) => {
        if (done[i]) return;
        const next = it.next();
        if (next.done) done = done.map((d, j) => d || j === i);
        else out[i]?.push(next.value);
      });
    }
    return out;
  }

  test("one steering, one not: each gives exactly the tokens it gives alone", () => {
    const alone = tokensOf(a.generate(prompt(), options()));
    const steeredAlone = tokensOf(a.generate(prompt(), options({ hooks: [["mlp_out.1", steer]] })));
    assert.notDeepEqual(steeredAlone, alone, "the steering changes what the model says");
    const [plainSteps, steeredSteps] = interleave(
      a.generate(prompt(), options()),
      a.generate(prompt(), options({ hooks: [["mlp_out.1", steer]] })),
    );
    assert.deepEqual(tokensOf(plainSteps), alone);
    assert.deepEqual(tokensOf(steeredSteps), steeredAlone);
  });

  test("over two HookedModels: B's generation never runs A's hook, A's always does", () => {
    const alone = tokensOf(b.generate(prompt(), options()));
    let fired = 0;
    using _steer = a.addHook("mlp_out.1", (out) => {
      fired++;
      return steer(out);
    });
    const steeredAlone = tokensOf(a.generate(prompt(), options()));
    const passes = fired;
    assert.ok(passes >= 10, `A's hook fires once per forward pass (${passes})`);
    const [steered, unsteered] = interleave(a.generate(prompt(), options()), b.generate(prompt(), options()));
    assert.deepEqual(tokensOf(steered), steeredAlone);
    assert.deepEqual(tokensOf(unsteered), alone);
    assert.equal(fired, 2 * passes, "only A's generation ran A's hook");
  });

  test("a capturing generator records only its own passes, beside one that steers", () => {
    const capture = options({ capture: ["resid_post.1", "pattern.2"] });
    const alone = [...a.generate(prompt(), capture)];
    const [captured, steered] = interleave(
      a.generate(prompt(), capture),
      a.generate(prompt(), options({ hooks: [["mlp_out.0", steer]] })),
    );
    assert.equal(captured.length, alone.length);
    captured.forEach((step, n) => {
      const reference = alone[n] as HookedToken;
      assert.equal(step.token, reference.token);
      for (const key of ["resid_post.1", "pattern.2"]) {
        assert.ok(same(step.cache?.get(key) as mx.Array, reference.cache?.get(key) as mx.Array), `${key} at step ${n}`);
      }
    });
    assert.ok(
      steered.every((step) => step.cache === undefined),
      "the steering generator captured nothing",
    );
    tokensOf([...alone, ...captured, ...steered]);
  });
});
