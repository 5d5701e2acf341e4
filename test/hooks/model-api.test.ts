// What a Python mlux user reaches for first, on a llama-like, a gemma2 (soft-capped, sliding
// windows in config) and a gpt2 checkpoint, and the 4-bit fixture: hm.config read against each
// config.json, toString() and describe(), findHooks, unknown option keys, the disposed-Array error
// a stashed hook array gives, and the readout methods against independent computations.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ablation, activationPatching, HookedModel, mx, tokenLoss, topTokens, unembed } from "mlux";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dirOf = (name: string) => join(root, name);
const configOf = (dir: string) => JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;

const CHECKPOINTS = [".checkpoints/llama/fp32", ".checkpoints/gemma2/fp32", ".checkpoints/gpt2/fp32"];
const PROMPT = "hello world, this is a test";

describe("hm.config, toString() and describe() against config.json", () => {
  for (const name of CHECKPOINTS) {
    test(name, async () => {
      const dir = dirOf(name);
      const c = configOf(dir);
      const hm = await HookedModel.fromPretrained(dir);
      const gpt2 = c.model_type === "gpt2";
      const num = (key: string, gpt2Key: string) => (gpt2 ? c[gpt2Key] : c[key]) as number;
      const heads = num("num_attention_heads", "n_head");
      const dModel = num("hidden_size", "n_embd");
      const config = hm.config;
      assert.equal(config.architecture, c.model_type);
      assert.equal(config.layers, num("num_hidden_layers", "n_layer"));
      assert.equal(config.heads, heads);
      assert.equal(config.kvHeads, gpt2 ? heads : (c.num_key_value_heads as number));
      assert.equal(config.headDim, (c.head_dim as number | undefined) ?? dModel / heads);
      assert.equal(config.dModel, dModel);
      assert.equal(config.vocabSize, c.vocab_size);
      assert.equal(config.layerPrefix, gpt2 ? "model.h" : "model.layers");
      assert.equal(config.dtype, "float32");
      assert.equal(config.quantization, undefined);
      assert.equal(config.quantized, false);
      assert.equal(config.compute?.requested, "auto");
      // mlx-lm's gemma2 attends globally in every layer (sliding_window is in config.json but not read).
      assert.deepEqual(config.windowPattern, new Array(config.layers).fill("attention"));
      if (c.model_type === "gemma2") {
        assert.equal(config.attentionSoftcap, c.attn_logit_softcapping);
        assert.equal(config.finalLogitSoftcap, c.final_logit_softcapping);
      } else {
        assert.equal(config.attentionSoftcap, undefined);
        assert.equal(config.finalLogitSoftcap, undefined);
      }
      const line = `HookedModel(${c.model_type}, ${config.layers}L/${heads}H/${config.headDim}D, float32)`;
      assert.equal(hm.toString(), line);
      assert.equal(`${hm}`, line);
      const text = hm.describe();
      assert.ok(text.startsWith(`${line}\n`), text);
      assert.ok(text.includes(config.compute?.reason as string), text);
      assert.ok(text.includes(`${config.layerPrefix}.0 to ${config.layerPrefix}.${config.layers - 1}`), text);
      if (c.model_type === "gemma2") assert.match(text, /scores soft-capped at 5\b[\s\S]*logits +soft-capped at 3\b/);
    });
  }

  test("gemma3_text: the sliding-window pattern as the config's sliding_window_pattern makes it", async () => {
    const dir = dirOf(".checkpoints/gemma3_text/fp32");
    const c = configOf(dir);
    const hm = await HookedModel.fromPretrained(dir);
    const pattern = c.sliding_window_pattern as number;
    const expected = Array.from({ length: hm.config.layers }, (_, i) =>
      (i + 1) % pattern === 0 ? "attention" : c.sliding_window,
    );
    assert.deepEqual(hm.config.windowPattern, expected);
    assert.match(hm.describe(), /window 8 in layers 0-1, 3; full attention in layers 2/);
  });

  test("the 4-bit fixture: bits and group size from config.json, packed under native, dequantized under auto", async () => {
    const dir = dirOf("fixtures/tiny-lm-4bit");
    const q = configOf(dir).quantization as { bits: number; group_size: number; mode: string };
    const packed = await HookedModel.fromPretrained(dir, { dtype: "native" });
    assert.deepEqual(packed.config.quantization, { bits: q.bits, groupSize: q.group_size, mode: q.mode });
    assert.equal(packed.config.quantized, true);
    assert.equal(packed.config.dtype, "float16");
    assert.equal(packed.toString(), "HookedModel(llama, 4L/8H/32D, 4-bit/float16)");
    assert.match(packed.describe(), /weights +4-bit affine, group size 64, packed \(scales in float16\)/);
    const dense = await HookedModel.fromPretrained(dir, { dtype: "auto" });
    assert.deepEqual(dense.config.quantization, packed.config.quantization);
    assert.equal(dense.config.quantized, false);
    assert.equal(dense.config.dtype, "float32");
    assert.equal(dense.toString(), "HookedModel(llama, 4L/8H/32D, float32 from 4-bit)");
    assert.match(dense.describe(), /computes in +float32 \(auto on the CPU/);
  });

  test("a HookedModel made from a bare model reads quantization from its layers", async () => {
    const loaded = await HookedModel.fromPretrained(dirOf("fixtures/tiny-lm-4bit"), { dtype: "native" });
    const bare = new HookedModel(loaded.model);
    assert.deepEqual(bare.config.quantization, { bits: 4, groupSize: 64, mode: "affine" });
    assert.equal(bare.config.compute, undefined);
    assert.equal(bare.config.dtype, "float16");
  });
});

describe("findHooks, unknown options, stashed arrays, readout", () => {
  let hm: HookedModel;
  before(async () => {
    hm = await HookedModel.fromPretrained(dirOf("fixtures/tiny-lm-f16"));
  });
  after(() => hm.removeAllHooks());

  test("findHooks: a glob over standard keys and paths, a RegExp, nothing for no match", () => {
    assert.deepEqual(
      hm.findHooks("resid_post.*"),
      Array.from({ length: 4 }, (_, l) => `resid_post.${l}`),
    );
    assert.deepEqual(
      hm.findHooks("model.layers.*.mlp"),
      Array.from({ length: 4 }, (_, l) => `model.layers.${l}.mlp`),
    );
    const patterns = hm.findHooks(/hook_pattern$/g);
    assert.deepEqual(
      patterns,
      Array.from({ length: 4 }, (_, l) => `model.layers.${l}.self_attn.hook_pattern`),
    );
    assert.deepEqual(hm.findHooks(/hook_pattern$/g), patterns, "a global RegExp gives the same answer twice");
    const all = hm.findHooks("**");
    assert.deepEqual(all, [...hm.standardKeys(), ...hm.paths()]);
    assert.deepEqual(hm.findHooks("no_such_thing.*"), []);
    assert.throws(() => hm.findHooks(3 as never), /findHooks takes a glob string or a RegExp/);
  });

  test("unknown option keys are errors naming the key, the nearest valid one and all of them", () => {
    assert.throws(
      () => hm.runWithHooks(PROMPT, { cache: true } as never),
      /runWithHooks: unknown option "cache" \(options: prependBos, hooks, preHooks\) To record activations, call runWithCache/,
    );
    assert.throws(() => hm.forward(PROMPT, { prepend_bos: false } as never), /did you mean prependBos\?/);
    assert.throws(
      () => hm.runWithCache(PROMPT, { name: ["embed"] } as never),
      /unknown option "name"; did you mean names\?/,
    );
    assert.throws(() => hm.toTokens(PROMPT, { bos: true } as never), /toTokens: unknown option "bos"/);
    assert.throws(() => [...hm.generate(PROMPT, { max_tokens: 2 } as never)], /did you mean maxTokens\?/);
    assert.throws(
      () => hm.getAttentionPatterns(PROMPT, undefined, { layers: [0] } as never),
      /unknown option "layers"/,
    );
    assert.throws(() => hm.addHooks({ hook: [] } as never), /addHooks: unknown option "hook"; did you mean hooks\?/);
    assert.throws(() => hm.forward(PROMPT, null as never), /options must be an object, got null/);
    const metric = { kind: "kl" } as const;
    assert.throws(
      () =>
        activationPatching(hm, { clean: "a b", corrupted: "a c", metric, site: "resid_pre", postions: [0] } as never),
      /activationPatching: unknown option "postions"; did you mean positionPairs\?|activationPatching: unknown option "postions"/,
    );
    assert.throws(
      () => ablation(hm, { prompt: PROMPT, site: "z", kind: "zero", batch_size: 4 } as never),
      /ablation: unknown option "batch_size"; did you mean batchSize\?/,
    );
    return HookedModel.fromPretrained(dirOf("fixtures/tiny-lm-f16"), { dtpye: "auto" } as never).then(
      () => assert.fail("fromPretrained took an unknown option"),
      (error: Error) => assert.match(error.message, /fromPretrained: unknown option "dtpye"; did you mean dtype\?/),
    );
  });

  test("an array a hook stashes is freed when the run returns, with an error that says so; mx.keep keeps it", () => {
    let stashed: mx.Array | undefined;
    let kept: mx.Array | undefined;
    const logits = hm.runWithHooks(PROMPT, {
      hooks: [
        [
          "resid_post.1",
          (x) => {
            stashed = mx.multiply(x, 2);
            kept = mx.keep(mx.multiply(x, 2));
            return undefined;
          },
        ],
      ],
    });
    logits.dispose();
    assert.throws(() => stashed?.tolist(), /this Array was disposed[\s\S]*a hook's[\s\S]*mx\.keep/);
    assert.deepEqual(kept?.shape.slice(-1), [256]);
    kept?.dispose();
  });

  test("unembed and topTokens: the analysis calls, with token texts; residuals unembedded first", () => {
    const { logits, cache } = hm.runWithCache(PROMPT, { names: ["resid_post.3"] });
    const resid = cache.get("resid_post.3");
    const viaHm = hm.unembed(resid);
    const direct = unembed(hm.readout, resid);
    assert.ok(mx.arrayEqual(viaHm, direct).item());
    const fromLogits = hm.topTokens(logits, 3);
    const expected = topTokens(logits, 3);
    assert.deepEqual(
      fromLogits.map((row) => row.map(({ id, logit, prob }) => ({ id, logit, prob }))),
      expected,
    );
    for (const row of fromLogits) for (const t of row) assert.equal(t.token, hm.toString([t.id]));
    const fromResidual = hm.topTokens(resid, 3);
    assert.deepEqual(
      fromResidual.map((row) => row.map((t) => t.id)),
      topTokens(direct, 3).map((row) => row.map((t) => t.id)),
    );
    assert.throws(
      () => hm.topTokens(mx.zeros([2, 7])),
      /last axis must be the vocabulary \(4096: logits\) or the residual stream \(256\)/,
    );
    for (const a of [viaHm, direct, logits]) a.dispose();
    cache.dispose();
  });

  test("loss: the mean of -log p(next token), by hand in float64 from the float32 logits", () => {
    const ids = hm.toTokens(PROMPT)[0] as number[];
    const logits = mx.astype(hm.forward([ids]), "float32");
    const rows = (logits.tolist() as number[][][])[0] as number[][];
    let total = 0;
    for (let t = 0; t + 1 < ids.length; t++) {
      const row = rows[t] as number[];
      const max = Math.max(...row);
      const logSum = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      total += logSum - (row[ids[t + 1] as number] as number);
    }
    const byHand = total / (ids.length - 1);
    const loss = hm.loss(PROMPT);
    // float32 logsumexp and mean against float64 sums over 4096 logits: ~1e-6 relative.
    assert.ok(Math.abs(loss - byHand) < 1e-5 * Math.abs(byHand), `${loss} vs ${byHand}`);
    const perToken = hm.loss(PROMPT, { perToken: true });
    assert.deepEqual(perToken.shape, [1, ids.length - 1]);
    const library = tokenLoss(logits, [ids]);
    assert.ok(mx.arrayEqual(perToken, library.perToken).item());
    assert.throws(() => hm.loss(["a b c", "a"]), /differ in length/);
    assert.throws(() => hm.loss(PROMPT, { per_token: true } as never), /did you mean perToken\?/);
    for (const a of [logits, perToken, library.perToken]) a.dispose();
  });

  test("logProbs: of the input's logits, or of logits given; each row sums to 1 in probability", () => {
    const logits = hm.forward(PROMPT);
    const fromInput = hm.logProbs(PROMPT);
    const fromLogits = hm.logProbs(logits);
    assert.equal(fromInput.dtype, "float32");
    assert.ok(mx.arrayEqual(fromInput, fromLogits).item());
    const sums = mx.sum(mx.exp(fromInput), { axis: -1 }).tolist() as number[][];
    // float32 logsumexp, exp and sum over 4096 entries in MLX's CPU kernels (vectorized exp): up
    // to 1.6e-5 seen; 1e-4 is ten rounding errors of that size, and far below any real mistake.
    for (const s of sums.flat()) assert.ok(Math.abs(s - 1) < 1e-4, String(s));
    for (const a of [logits, fromInput, fromLogits]) a.dispose();
  });
});
