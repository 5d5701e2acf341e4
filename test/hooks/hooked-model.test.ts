// HookedModel's own rules, on the shipped tiny Llama (4 layers, GQA 8/2 heads, a KJV tokenizer with BOS):
// which hooks fire and in what order, what ctx says, standard names, selectors, scoped hooks, caching
// only what was asked, token helpers, generation with hooks. Numbers against Python are in the
// oracle tests; here the model checks itself (exact equalities where the same ops run).
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type HookContext, HookedModel, mx } from "mlux";
import { settledLiveArrays } from "../mx/settled-memory.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const PROMPT = "And God said, Let there be light: and there was light.";

let hm: HookedModel;
let ids: number[][];
let plain: mx.Array;

before(async () => {
  hm = await HookedModel.fromPretrained(join(root, "fixtures/tiny-lm-f16"));
  ids = hm.toTokens(PROMPT);
  plain = hm.forward(ids);
  mx.eval(plain);
});

function same(a: mx.Array, b: mx.Array): boolean {
  return mx.arrayEqual(a, b).item() as boolean;
}

describe("paths and names", () => {
  test("hook points are children of attention and blocks, listed after the modules", () => {
    const paths = hm.paths();
    for (const p of ["q", "k", "v", "scores", "pattern", "z", "result"]) {
      assert.ok(paths.includes(`model.layers.2.self_attn.hook_${p}`), p);
    }
    for (const p of ["attn_out", "resid_mid", "mlp_out"]) assert.ok(paths.includes(`model.layers.2.hook_${p}`), p);
    const children = paths.filter((p) => /^model\.layers\.0\.self_attn\.[^.]+$/.test(p));
    assert.deepEqual(children.slice(0, 5), [
      "model.layers.0.self_attn.q_proj",
      "model.layers.0.self_attn.k_proj",
      "model.layers.0.self_attn.v_proj",
      "model.layers.0.self_attn.o_proj",
      "model.layers.0.self_attn.rope",
    ]);
    assert.equal(children.at(-1), "model.layers.0.self_attn.hook_result");
  });

  test("standard keys cover every layer", () => {
    const keys = hm.standardKeys();
    assert.equal(hm.layers, 4);
    for (let i = 0; i < 4; i++) {
      for (const n of ["resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post", "pattern", "result"]) {
        assert.ok(keys.includes(`${n}.${i}`), `${n}.${i}`);
      }
    }
    assert.ok(keys.includes("embed") && keys.includes("ln_final"));
    assert.ok(!keys.includes("pos_embed"), "a rotary model has no learned positions");
    assert.deepEqual(hm.names.target("resid_pre.2"), { path: "model.layers.2", input: true });
    assert.deepEqual(hm.names.target("ln_final"), { path: "model.norm", input: false });
  });
});

describe("tokens", () => {
  test("BOS is added once, never doubled, and can be left out", () => {
    const bos = hm.tokenizer?.bosTokenId as number;
    const withBos = hm.toTokens(PROMPT)[0] as number[];
    assert.equal(withBos[0], bos);
    assert.notEqual(withBos[1], bos);
    const bosText = hm.tokenizer?.bosToken as string;
    assert.deepEqual(hm.toTokens(bosText + PROMPT)[0], withBos, "a text that starts with BOS gets none added");
    assert.deepEqual(hm.toTokens(PROMPT, { prependBos: true })[0], withBos);
    assert.deepEqual(hm.toTokens(PROMPT, { prependBos: false })[0], withBos.slice(1));
  });

  test("toStrTokens, toString and tokenPosition agree with the ids", () => {
    const strs = hm.toStrTokens(PROMPT, { prependBos: false });
    assert.equal(strs.join(""), PROMPT);
    const tokens = ids[0] as number[];
    assert.equal(hm.toString(tokens.slice(1)), PROMPT);
    const light = hm.tokenPosition(" light", PROMPT);
    assert.equal(hm.toString([tokens[light] as number]), " light");
    const last = hm.tokenPosition(" light", PROMPT, { occurrence: -1 });
    assert.ok(last > light);
    assert.throws(() => hm.tokenPosition(" light", PROMPT, { occurrence: 5 }), /occurs 2 time/);
    assert.throws(() => hm.tokenPosition(" Let there", PROMPT), /tokenPosition needs one token/);
  });

  test("bad inputs are refused with what would be right", () => {
    assert.throws(() => hm.forward([]), /not empty/);
    assert.throws(() => hm.forward([1, 2.5]), /token ids must be whole numbers from 0 to/);
    assert.throws(() => hm.forward([[1, 2], "x"] as never), /mixes kinds/);
    // Float Arrays of whole numbers are not token ids.
    for (const run of [
      (x: mx.Array) => hm.forward(x),
      (x: mx.Array) => hm.runWithHooks(x),
      (x: mx.Array) => hm.runWithCache(x, { names: ["resid_post.0"] }),
      (x: mx.Array) => hm.getAttentionPatterns(x),
      (x: mx.Array) => hm.toTokens(x),
    ]) {
      assert.throws(
        () => run(mx.expandDims(mx.arange(1, 5, 1, "float32"), 0)),
        /token Arrays must have an integer dtype, got float32/,
      );
    }
    const vocab = hm.model.layout.dims.vocabSize;
    assert.throws(() => hm.forward([1, vocab]), new RegExp(`whole numbers from 0 to ${vocab - 1}.*got ${vocab}`));
    assert.throws(() => hm.toString([1e9]), /token id 1000000000 at position 0 is not in the vocabulary/);
    assert.throws(() => hm.toString([-1]), /not in the vocabulary/);
    assert.throws(() => hm.toStrTokens(["In the", "And God"]), /toStrTokens takes one prompt, got a batch of 2/);
    assert.deepEqual(hm.toStrTokens([[1, 450]]), hm.toStrTokens([1, 450]));
  });
});

describe("hooks", () => {
  test("nested paths both fire, innermost first; two hooks on one path run in order", () => {
    const order: string[] = [];
    const out = hm.runWithHooks(ids, {
      hooks: [
        ["model.layers.1", () => void order.push("layer")],
        ["model.layers.1.mlp", () => void order.push("mlp")],
        ["model.layers.1.mlp.down_proj", () => void order.push("down_proj")],
        ["model.layers.1.mlp", (x) => mx.multiply(x, 0)],
        ["model.layers.1.mlp", (x) => void order.push(`mlp-after:${mx.all(mx.equal(x, 0)).item()}`)],
      ],
    });
    assert.deepEqual(order, ["down_proj", "mlp", "mlp-after:true", "layer"]);
    assert.ok(!same(out, plain), "zeroing an MLP changes the logits");
    assert.deepEqual(hm.hookedPaths(), []);
  });

  test("a pre-hook replacing a block's input equals a hook replacing the previous block's output", () => {
    const noise = (x: mx.Array) => mx.add(x, mx.multiply(mx.ones(x.shape, x.dtype), 0.25));
    const viaPre = hm.runWithHooks(ids, { preHooks: [["model.layers.2", noise]] });
    const viaPost = hm.runWithHooks(ids, { hooks: [["model.layers.1", noise]] });
    assert.ok(same(viaPre, viaPost));
    assert.ok(!same(viaPre, plain));
    // A pre-hook may also return every positional input.
    const all = hm.runWithHooks(ids, {
      preHooks: [["model.layers.2", (x, ctx) => [noise(x), ...ctx.inputs.slice(1)]]],
    });
    assert.ok(same(all, viaPre));
    // A standard name on an input (resid_pre) is a pre-hook too.
    const viaName = hm.runWithHooks(ids, { hooks: [["resid_pre.2", noise]] });
    assert.ok(same(viaName, viaPre));
  });

  test("ctx gives path, layer, inputs by position and name, and the tokens", () => {
    const seen: HookContext[] = [];
    hm.runWithHooks(ids, {
      hooks: [
        ["model.layers.3.self_attn", (_x, ctx) => void seen.push(ctx)],
        ["model.norm", (_x, ctx) => void seen.push(ctx)],
      ],
    });
    const [attn, norm] = seen as [HookContext, HookContext];
    assert.equal(attn.path, "model.layers.3.self_attn");
    assert.equal(attn.layer, 3);
    assert.equal(attn.inputs.length, 3);
    assert.deepEqual(Object.keys(attn.named), ["x", "mask", "cache"]);
    assert.equal(attn.named.mask, "causal");
    assert.deepEqual(attn.tokens, ids);
    assert.equal(norm.layer, undefined);
  });

  test("standard names line up: resid_pre.i+1 is resid_post.i; resid_mid and resid_post are the sums", () => {
    const { logits, cache } = hm.runWithCache(ids, {
      names: ["resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_out"],
    });
    assert.ok(same(logits, plain), "recording changes nothing");
    for (let i = 0; i < 3; i++) assert.ok(same(cache.get("resid_pre", i + 1), cache.get("resid_post", i)));
    for (let i = 0; i < 4; i++) {
      assert.ok(same(cache.get("resid_mid", i), mx.add(cache.get("resid_pre", i), cache.get("attn_out", i))));
      assert.ok(same(cache.get("resid_post", i), mx.add(cache.get("resid_mid", i), cache.get("mlp_out", i))));
    }
    assert.ok(same(cache.get("model.layers.1"), cache.get("resid_post", 1)), "a path finds its standard key");
    cache.dispose();
    logits.dispose();
  });

  test("selectors: globs, per-layer names and predicates; unknown names fail before running", () => {
    const glob = hm.runWithCache(ids, { names: "model.layers.*.mlp" });
    assert.deepEqual(
      glob.cache.keys(),
      [0, 1, 2, 3].map((i) => `model.layers.${i}.mlp`),
    );
    const deep = hm.runWithCache(ids, { names: "model.layers.1.**.hook_*" });
    assert.ok(deep.cache.keys().includes("pattern.1") && deep.cache.keys().includes("mlp_out.1"));
    const predicate = hm.runWithCache(ids, { names: (path) => path.endsWith("o_proj") });
    assert.equal(predicate.cache.size, 4);
    for (const r of [glob, deep, predicate]) {
      r.cache.dispose();
      r.logits.dispose();
    }
    assert.throws(
      () => hm.runWithCache(ids, { names: ["model.layers.1.mpl"] }),
      /Nearest valid: model\.layers\.1\.mlp/,
    );
    assert.throws(() => hm.runWithCache(ids, { names: ["model.layers.*.nothing"] }), /matches no module/);
    assert.deepEqual(hm.hookedPaths(), []);
  });

  test("runWithCache holds exactly the bytes asked for", async () => {
    // Arrays dropped by earlier tests are released first: a collection during the run would
    // otherwise lower the count below this one.
    const before = await settledLiveArrays();
    const { logits, cache } = hm.runWithCache(ids, { names: ["resid_post", "pattern.0"] });
    const [batch, length] = [1, (ids[0] as number[]).length];
    const dims = 256;
    // Activations come in the compute dtype: float32 under the default "auto" on the CPU, the
    // checkpoint's float16 on a GPU (the logits share it).
    const itemBytes = logits.dtype === "float16" ? 2 : 4;
    const expected = 4 * batch * length * dims * itemBytes + batch * 8 * length * length * itemBytes;
    assert.equal(cache.nbytes, expected);
    assert.equal(cache.size, 5);
    cache.dispose();
    logits.dispose();
    assert.equal(mx.liveArrays(), before, "nothing left behind");
  });

  test("scoped hooks stay on over calls until removed, also by `using`, and come off when the call throws", () => {
    let calls = 0;
    {
      using _scope = hm.addHook("model.layers.0.mlp", () => void calls++);
      hm.forward(ids).dispose();
      hm.forward(ids).dispose();
      assert.deepEqual(hm.hookedPaths(), ["model.layers.0.mlp"]);
    }
    assert.equal(calls, 2);
    assert.deepEqual(hm.hookedPaths(), []);
    assert.throws(() =>
      hm.withHooks({ hooks: [["model.layers.0", () => undefined]] }, () => {
        throw new Error("experiment failed");
      }),
    );
    assert.deepEqual(hm.hookedPaths(), []);
    assert.ok(same(hm.forward(ids), plain));
  });

  test("hooks stay on through generation, in prefill and every step; capture records each step", () => {
    const prompt = ids[0] as number[];
    let lengths: number[] = [];
    const first = (steps: Iterable<{ token: number; logprobs: mx.Array }>) => {
      const all = [...steps];
      const out = { tokens: all.map((t) => t.token), logprobs: mx.array(all[0]?.logprobs as mx.Array) };
      for (const t of all) t.logprobs.dispose();
      return out;
    };
    const unhooked = first(hm.generate(prompt, { maxTokens: 4 }));
    const hooked = first(
      hm.generate(prompt, {
        maxTokens: 4,
        hooks: [
          ["model.layers.0", (_x, ctx) => void lengths.push((ctx.inputs[0] as mx.Array).shape[1] as number)],
          ["mlp_out.2", (x) => mx.multiply(x, 0)],
        ],
      }),
    );
    // Prefill, then one position per step (the loop may build one step past the last token it yields).
    assert.equal(lengths[0], prompt.length - 1);
    assert.ok(lengths.length - 1 >= 4 && lengths.slice(1).every((n) => n === 1), `passes: ${lengths}`);
    assert.ok(!same(hooked.logprobs, unhooked.logprobs), "the ablation is on while generating");
    assert.deepEqual(hm.hookedPaths(), []);
    lengths = [];
    const steps = [...hm.generate(prompt, { maxTokens: 3, capture: ["resid_post.3", "pattern.1"] })];
    for (const [i, step] of steps.entries()) {
      const cache = step.cache as NonNullable<typeof step.cache>;
      assert.deepEqual(cache.get("resid_post", 3).shape, [1, 1, 256]);
      assert.deepEqual(cache.get("pattern", 1).shape, [1, 8, 1, prompt.length + i], "the query sees the whole cache");
      cache.dispose();
      step.logprobs.dispose();
    }
    assert.deepEqual(
      steps.map((s) => s.token),
      unhooked.tokens.slice(0, 3),
    );
  });
});
