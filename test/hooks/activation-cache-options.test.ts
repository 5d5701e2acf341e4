// ActivationCache utilities' options (positions, labels, token shapes, mlpInput, inclMid), the
// families with their own layout (GPT-2's learned positions, GPT-NeoX's parallel residual, LFM2's
// conv layers), and the errors bad arguments give.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ActivationCache, HookedModel, mx } from "mlux";
import { assertNear, checkpoint, PROMPTS } from "./cache-helpers.ts";

const same = (a: mx.Array, b: mx.Array, label: string) => {
  assert.deepEqual(a.shape, b.shape, `shape (${label})`);
  assert.ok(mx.arrayEqual(a, b).item(), label);
};

async function load(name: string): Promise<HookedModel> {
  return HookedModel.fromPretrained(checkpoint(name, "fp32"));
}

function withEverything(hooked: HookedModel): ActivationCache {
  const standard = hooked.standardKeys().filter((k) => !/^(q|k|v|scores|pattern|z)\./.test(k));
  const { logits, cache } = hooked.runWithCache(PROMPTS, { names: standard });
  logits.dispose();
  return cache;
}

describe("llama: options", () => {
  let hooked: HookedModel;
  let cache: ActivationCache;
  before(async () => {
    hooked = await load("llama");
    cache = withEverything(hooked);
  });
  after(() => {
    cache.dispose();
    hooked.model.dispose();
  });

  test("pos: one position drops the axis, a list or a slice keeps it; applyLn takes the scale at those positions", () => {
    mx.tidy(() => {
      const full = cache.decomposeResid();
      const normed = cache.decomposeResid(undefined, { applyLn: true });
      same(cache.decomposeResid(undefined, { pos: -1 }), mx.index(full, ":", ":", -1), "pos -1");
      same(cache.decomposeResid(undefined, { pos: [0, -2] }), mx.take(full, [0, 4], 2), "pos [0, -2]");
      same(cache.decomposeResid(undefined, { pos: { start: 1, stop: 4 } }), mx.index(full, ":", ":", "1:4"), "pos 1:4");
      same(
        cache.decomposeResid(undefined, { pos: 2, applyLn: true }),
        mx.index(normed, ":", ":", 2),
        "applyLn at pos 2",
      );
      const heads = cache.stackHeadResults();
      same(cache.stackHeadResults(undefined, { pos: 3 }), mx.index(heads, ":", ":", 3), "heads at pos 3");
      const streams = cache.accumulatedResid();
      same(cache.accumulatedResid(undefined, { pos: [5] }), mx.take(streams, [5], 2), "streams at pos [5]");
    });
  });

  test("stackHeadResults needs result cached and says so; layer 0 gives an empty stack", () => {
    const { logits, cache: partial } = hooked.runWithCache(PROMPTS, { names: ["resid_pre", "attn_out"] });
    logits.dispose();
    assert.throws(() => partial.stackHeadResults(), /needs "result\.0", "result\.1", "result\.2".*names: \["result"\]/);
    const { logits: l2, cache: withResults } = hooked.runWithCache(PROMPTS, { names: ["result", "resid_pre"] });
    l2.dispose();
    mx.tidy(() => {
      assert.deepEqual(withResults.stackHeadResults(0).shape, [0, 2, 6, 64]);
      const [two, labels] = withResults.stackHeadResults(2, { returnLabels: true });
      assert.deepEqual(labels, ["L0H0", "L0H1", "L0H2", "L0H3", "L1H0", "L1H1", "L1H2", "L1H3"]);
      // Head h of layer l is result.l[:, :, h].
      same(mx.index(two, 5), mx.index(withResults.get("result", 1), ":", ":", 1), "L1H1");
    });
    partial.dispose();
    withResults.dispose();
  });

  test("accumulatedResid: inclMid, mlpInput, a layer bound, and applyLn per stream (the logit lens)", () => {
    mx.tidy(() => {
      const [, labels] = cache.accumulatedResid(undefined, { inclMid: true, returnLabels: true });
      assert.deepEqual(labels, ["0_pre", "0_mid", "1_pre", "1_mid", "2_pre", "2_mid", "final_post"]);
      const [upTo, upToLabels] = cache.accumulatedResid(1, { mlpInput: true, returnLabels: true });
      assert.deepEqual(upToLabels, ["0_pre", "1_pre", "1_mid"]);
      same(mx.index(upTo, 2), cache.get("resid_mid", 1), "1_mid");
      // Below the whole model, applyLn shares the scale of the stream entering the layer.
      same(
        cache.accumulatedResid(2, { applyLn: true }),
        cache.applyLnToStack(cache.accumulatedResid(2), 2),
        "applyLn at layer 2",
      );
      // Over the whole model, each stream goes through the final norm on its own.
      const norm = hooked.model.getModule("model.norm");
      const lens = cache.accumulatedResid(undefined, { applyLn: true });
      for (let l = 0; l < 3; l++)
        same(mx.index(lens, l), norm.forward(cache.get("resid_pre", l)) as mx.Array, `lens ${l}`);
    });
  });

  test("decomposeResid: mode, inclEmbeds, mlpInput labels", () => {
    const labels = (layer: number | undefined, options: Parameters<ActivationCache["decomposeResid"]>[1]) => {
      const [stack, names] = cache.decomposeResid(layer, { ...options, returnLabels: true });
      stack.dispose();
      return names;
    };
    assert.deepEqual(labels(2, { mode: "attn" }), ["embed", "0_attn_out", "1_attn_out"]);
    assert.deepEqual(labels(2, { mode: "mlp", inclEmbeds: false }), ["0_mlp_out", "1_mlp_out"]);
    assert.deepEqual(labels(1, { mlpInput: true }), ["embed", "0_attn_out", "0_mlp_out", "1_attn_out"]);
    assert.deepEqual(labels(0, {}), ["embed"]);
    assert.throws(() => cache.decomposeResid(0, { inclEmbeds: false }), /nothing to stack/);
  });

  test("logitAttrs: one token, one per prompt, one per position, per prompt and position; incorrect tokens subtract", () => {
    mx.tidy(() => {
      const parts = cache.decomposeResid();
      const grid = (f: (b: number, p: number) => number) => PROMPTS.map((row, b) => row.map((_, p) => f(b, p)));
      // The same targets given in a short form and in full [batch, positions] agree exactly.
      same(
        cache.logitAttrs(parts, 7),
        cache.logitAttrs(
          parts,
          grid(() => 7),
        ),
        "one token",
      );
      same(
        cache.logitAttrs(parts, [7, 9]),
        cache.logitAttrs(
          parts,
          grid((b) => [7, 9][b] as number),
        ),
        "per prompt",
      );
      const perPosition = [1, 2, 3, 4, 5, 6];
      same(
        cache.logitAttrs(parts, perPosition),
        cache.logitAttrs(
          parts,
          grid((_, p) => perPosition[p] as number),
        ),
        "per position",
      );
      same(cache.logitAttrs(parts, mx.array([7, 9], "int32")), cache.logitAttrs(parts, [7, 9]), "an Array of ids");
      // Differences: a float32 subtraction after the dot products, or the dot product of a difference.
      assertNear(
        cache.logitAttrs(parts, [7, 9], [3, 4]),
        mx.subtract(cache.logitAttrs(parts, [7, 9]), cache.logitAttrs(parts, [3, 4])),
        1e-6,
        "incorrect tokens",
      );
      // A stack taken at one position, with pos telling where the scale comes from.
      const last = cache.decomposeResid(undefined, { pos: -1 });
      same(
        cache.logitAttrs(last, [7, 9], undefined, { pos: -1 }),
        mx.index(cache.logitAttrs(parts, [7, 9]), ":", ":", -1),
        "at the last position",
      );
    });
  });

  test("bad arguments: a clear error, the cache still usable", () => {
    const parts = cache.decomposeResid();
    assert.throws(() => cache.decomposeResid(4), /layer 4 is out of range; give 0 to 3/);
    assert.throws(() => cache.accumulatedResid(1.5), /layer 1\.5 is out of range/);
    assert.throws(() => cache.stackHeadResults(-2), /out of range/);
    assert.throws(
      () => cache.accumulatedResid(undefined, { incl_mid: true } as never),
      /unknown option "incl_mid"; did you mean inclMid\?/,
    );
    assert.throws(
      () => cache.decomposeResid(undefined, { mode: "heads" as never }),
      /mode must be "all", "attn" or "mlp"/,
    );
    assert.throws(() => cache.decomposeResid(undefined, { pos: 6 }), /position 6 is out of range for 6 positions/);
    assert.throws(() => cache.decomposeResid(undefined, { pos: [] }), /non-empty list/);
    assert.throws(() => cache.decomposeResid(undefined, { pos: { start: 4, stop: 2 } }), /keeps no positions/);
    assert.throws(() => cache.accumulatedResid(undefined, { mlpInput: true }), /mlpInput needs a layer below 3/);
    assert.throws(() => cache.applyLnToStack(parts, undefined, { pos: -1 }), /each component is \[2,6,64\].*\[2,64\]/);
    assert.throws(() => cache.applyLnToStack(mx.zeros([3, 64]) as mx.Array), /each component is \[64\]/);
    assert.throws(() => cache.applyLnToStack([1, 2] as never), /must be an mx Array/);
    assert.throws(() => cache.logitAttrs(parts, 8192), /tokens must be ids in 0 to 8191, got 8192/);
    assert.throws(() => cache.logitAttrs(parts, [0.5] as never), /token ids/);
    assert.throws(
      () => cache.logitAttrs(parts, [1, 2, 3]),
      /tokens of shape \[3\] do not fit the stack \[7, 2, 6, d_model\]/,
    );
    assert.throws(() => cache.logitAttrs(parts, [1, 2], [1]), /same shape/);
    const { logits, cache: partial } = hooked.runWithCache(PROMPTS, { names: ["resid_post"] });
    logits.dispose();
    assert.throws(
      () => partial.decomposeResid(),
      /needs "embed", "attn_out\.0", "mlp_out\.0".*names: \["embed","attn_out","mlp_out"\]/,
    );
    assert.throws(
      () => partial.accumulatedResid(undefined, { inclMid: true }),
      /needs "resid_pre\.0", "resid_mid\.0", "resid_mid\.1"/,
    );
    // resid_pre.l is resid_post.(l - 1): either serves, except the first, which is the embedding.
    assert.throws(() => partial.accumulatedResid(), /needs "resid_pre\.0"/);
    partial.dispose();
    const { logits: l2, cache: posts } = hooked.runWithCache(PROMPTS, { names: ["embed", "resid_post"] });
    l2.dispose();
    mx.tidy(() => same(posts.accumulatedResid(), cache.accumulatedResid(), "streams from embed and resid_post"));
    posts.dispose();
    // Still usable after all that.
    assertNear(mx.sum(parts, { axis: 0 }), cache.get("resid_post", 2), 1e-5, "after errors");
    parts.dispose();
  });

  test("standard keys resolve through their target: resid_pre.0 is held as embed", () => {
    assert.ok(cache.has("resid_pre", 0));
    assert.equal(cache.get("resid_pre", 0), cache.get("embed"));
    assert.equal(cache.get("model.layers.1.hook_attn_out"), cache.get("attn_out", 1));
  });
});

test("gpt2: learned positions are their own component, broadcast over the batch", async () => {
  const hooked = await load("gpt2");
  const cache = withEverything(hooked);
  mx.tidy(() => {
    const [parts, labels] = cache.decomposeResid(0, { returnLabels: true });
    assert.deepEqual(labels, ["embed", "pos_embed"]);
    assert.deepEqual(cache.get("pos_embed").shape, [6, 64]);
    for (let b = 0; b < 2; b++) same(mx.index(parts, 1, b), cache.get("pos_embed"), `pos_embed in prompt ${b}`);
    same(mx.sum(parts, { axis: 0 }), cache.get("resid_pre", 0), "embed + pos_embed is resid_pre.0");
  });
  cache.dispose();
  hooked.model.dispose();
});

test("gpt_neox (parallel residual): no resid_mid, so inclMid and mlpInput are refused", async () => {
  const hooked = await load("gpt_neox");
  const cache = withEverything(hooked);
  assert.throws(() => cache.accumulatedResid(undefined, { inclMid: true }), /layer 0 has no resid_mid/);
  assert.throws(() => cache.decomposeResid(1, { mlpInput: true }), /layer 1 has no resid_mid.*mlpInput does not apply/);
  assert.throws(() => cache.applyLnToStack(cache.decomposeResid(1), 1, { mlpInput: true }), /no resid_mid/);
  cache.dispose();
  hooked.model.dispose();
});

test("lfm2: conv layers add an attn_out branch but have no heads", async () => {
  const hooked = await load("lfm2");
  const cache = withEverything(hooked);
  const attentionLayers = hooked.names.attentionPaths.flatMap((p, l) => (p === undefined ? [] : [l]));
  assert.ok(attentionLayers.length > 0 && attentionLayers.length < hooked.layers, "lfm2 mixes conv and attention");
  mx.tidy(() => {
    const [, labels] = cache.decomposeResid(undefined, { mode: "attn", returnLabels: true });
    assert.deepEqual(labels, ["embed", ...[...Array(hooked.layers).keys()].map((l) => `${l}_attn_out`)]);
    const [heads, headLabels] = cache.stackHeadResults(undefined, { returnLabels: true });
    const perLayer = cache.get("result", attentionLayers[0]).shape[2] as number;
    assert.equal(heads.shape[0], perLayer * attentionLayers.length);
    assert.deepEqual([...new Set(headLabels.map((h) => Number(/^L(\d+)/.exec(h)?.[1])))], attentionLayers);
  });
  cache.dispose();
  hooked.model.dispose();
});

test("llama bf16: stacks keep the activations' dtype, and the utilities leave no arrays behind", async () => {
  const hooked = await HookedModel.fromPretrained(checkpoint("llama", "bf16"), { dtype: "native" });
  const { logits, cache } = hooked.runWithCache(PROMPTS, {
    names: ["embed", "attn_out", "mlp_out", "resid_post", "result"],
  });
  const live = mx.liveArrays();
  mx.tidy(() => {
    const parts = cache.decomposeResid();
    assert.equal(parts.dtype, "bfloat16");
    assert.equal(cache.applyLnToStack(parts).dtype, "bfloat16");
    assert.equal(cache.stackHeadResults(undefined, { applyLn: true }).dtype, "bfloat16");
    assert.equal(cache.accumulatedResid(undefined, { applyLn: true }).dtype, "bfloat16");
    const attributions = cache.logitAttrs(parts, 5);
    assert.equal(attributions.dtype, "bfloat16");
    // bf16 keeps 8 significant bits: each of the 7 components and the logit itself round at ~4e-3
    // of their size, so the sum agrees to a few hundredths of the logits' scale.
    const logit = mx.index(logits, ":", ":", 5);
    assertNear(
      mx.sum(mx.astype(attributions, "float32"), { axis: 0 }),
      mx.astype(logit, "float32"),
      5e-2,
      "bf16 attributions sum to logits",
    );
  });
  assert.throws(() => cache.decomposeResid(9), /out of range/);
  assert.throws(() => cache.accumulatedResid(undefined, { inclMid: true }), /needs "resid_mid\.0"/);
  assert.equal(mx.liveArrays(), live, "no arrays left behind, also by the calls that threw");
  logits.dispose();
  cache.dispose();
  hooked.model.dispose();
});
