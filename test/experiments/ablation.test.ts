// Ablation (zero, mean, resample; per (layer, position) and per (layer, head)) against the naive
// loop (one runWithHooks forward per cell, replacement values and metric computed independently),
// on llama, gemma2 (soft-caps, sliding windows shorter than the prompt), gpt2, 4-bit llama and
// gemma2, and lfm2 (convolution state: batched without a shared prefix).
import "../float32-products.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ablation, HookedModel, mx } from "mlux";
import { checkpoints, promptIds } from "../hooks/checkpoints.ts";
import { HALF_KL_TOLERANCE, HALF_LOGIT_TOLERANCE, halfOnGpu } from "./half-on-gpu.ts";
import { activations, lastLogits, maxGridDiff, naiveHeadLoop, naivePositionLoop } from "./naive-loop.ts";

const CHECKPOINTS = checkpoints(["llama", "gemma2"]).filter((c) =>
  ["llama/fp32", "gemma2/fp32", "gpt2/fp32", "lfm2/fp32", "llama/q4", "gemma2/q4"].includes(c.label),
);
const PROMPT = promptIds(11, 12);
const REFERENCE = [promptIds(21, 12), promptIds(22, 14), promptIds(23, 12)];

// As in patching.test.ts: batched suffix runs against full single-row runs differ by the float32
// blocking of their products, a few ulps: at most 2e-6 measured on a logit difference, 1e-9 on a
// probability of ~1e-4. 1e-5 leaves 5x of that, far below the effects measured.
const TOLERANCE = 1e-5;
// The KL divergence is computed in float32 here and in float64 by the naive loop: its log
// probabilities are ~9 in size (vocabularies of 8192), where a float32 ulp is 1e-6, summed over the
// vocabulary: 4.6e-6 measured, also on the 4-bit checkpoints; 2e-5 leaves 4x of that.
// (bfloat16 on a GPU rounds batched rows apart: half-on-gpu.ts.)
const KL_TOLERANCE = 2e-5;

/** The mean of rows [from..] of each [L, d] (or z [H, L, D] along L) activation, in float64. */
function meanOf(arrays: readonly mx.Array[], from: number, perHead: boolean): mx.Array {
  const parts = arrays.map((a) => (perHead ? mx.index(a, ":", `${from}:`, ":") : mx.index(a, `${from}:`, ":")));
  const nested = parts.map((p) => p.tolist() as number[][] | number[][][]);
  if (!perHead) {
    const rows = (nested as number[][][]).flat();
    const mean = (rows[0] as number[]).map((_, j) => rows.reduce((s, r) => s + (r[j] as number), 0) / rows.length);
    return mx.array([mean]);
  }
  const heads = (nested[0] as number[][][]).length;
  return mx.array(
    Array.from({ length: heads }, (_, h) => {
      const rows = (nested as number[][][][]).flatMap((n) => n[h] as number[][]);
      return (rows[0] as number[]).map((_, j) => rows.reduce((s, r) => s + (r[j] as number), 0) / rows.length);
    }),
  );
}

for (const checkpoint of CHECKPOINTS) {
  describe(`ablation on ${checkpoint.label}`, () => {
    let hm: HookedModel;
    before(async () => {
      hm = await HookedModel.fromPretrained(checkpoint.dir, { dtype: "native" });
    });
    after(() => hm.model.dispose?.());

    test("mean per (layer, position) over reference prompts equals the naive loop, shared prefix or not", () => {
      const metric = { kind: "prob", token: 17 } as const;
      const result = ablation(hm, { prompt: PROMPT, site: "resid_post", kind: "mean", reference: REFERENCE, metric });
      const keys = result.layers.map((l) => `resid_post.${l}`);
      const refs = REFERENCE.map((r) => activations(hm, r, keys));
      const means = new Map(
        keys.map((k) => [
          k,
          meanOf(
            refs.map((r) => r.get(k) as mx.Array),
            0,
            false,
          ),
        ]),
      );
      const naive = naivePositionLoop(hm, PROMPT, keys, result.columns, (k) => means.get(k) as mx.Array, metric, []);
      assert.ok(maxGridDiff(result.values, naive) <= TOLERANCE, `max diff ${maxGridDiff(result.values, naive)}`);
      const whole = ablation(hm, {
        prompt: PROMPT,
        site: "resid_post",
        kind: "mean",
        reference: REFERENCE,
        metric,
        sharePrefix: false,
      });
      assert.ok(maxGridDiff(result.values, whole.values) <= TOLERANCE);
      // The probability of one token of a random tiny model is ~1e-4: a 1% change is a real effect.
      assert.ok(
        result.effect.flat().some((e) => Math.abs(e) > 0.01 * result.baseline),
        "no cell changed the metric",
      );
    });

    test("zero per (layer, position), KL to the unablated run, equals the naive loop", () => {
      const result = ablation(hm, { prompt: PROMPT, site: "attn_out", kind: "zero", metric: { kind: "kl" } });
      assert.equal(result.baseline, 0);
      const keys = result.layers.map((l) => `attn_out.${l}`);
      const width = hm.model.layout.dims.dModel;
      const naive = naivePositionLoop(
        hm,
        PROMPT,
        keys,
        result.columns,
        () => mx.zeros([1, width]),
        { kind: "kl" },
        lastLogits(hm, PROMPT),
      );
      const tolerance = halfOnGpu(hm) ? HALF_KL_TOLERANCE : KL_TOLERANCE;
      assert.ok(maxGridDiff(result.values, naive) <= tolerance, `max diff ${maxGridDiff(result.values, naive)}`);
    });

    test("resample per (layer, position): each cell takes its reference prompt's value there", () => {
      const metric = { kind: "logitDiff", answer: 17, wrong: 42 } as const;
      const options = {
        prompt: PROMPT,
        site: "mlp_out",
        kind: "resample",
        reference: REFERENCE,
        metric,
        seed: 3,
      } as const;
      const result = ablation(hm, options);
      const from = result.resampledFrom as number[][];
      assert.ok(new Set(from.flat()).size > 1, "every cell drew the same reference prompt");
      assert.deepEqual(ablation(hm, options).resampledFrom, from, "the same seed draws the same prompts");
      const keys = result.layers.map((l) => `mlp_out.${l}`);
      const refs = REFERENCE.map((r) => activations(hm, r, keys));
      const naive = keys.map((key, i) =>
        result.columns.map((p, j) => {
          const value = mx.index(refs[(from[i] as number[])[j] as number]?.get(key) as mx.Array, `${p}:${p + 1}`, ":");
          const row = lastLogits(hm, PROMPT, [[`${key}@${p}`, value]]);
          return (row[17] as number) - (row[42] as number);
        }),
      );
      const tolerance = halfOnGpu(hm) ? HALF_LOGIT_TOLERANCE : TOLERANCE;
      assert.ok(maxGridDiff(result.values, naive) <= tolerance, `max diff ${maxGridDiff(result.values, naive)}`);
    });

    test("mean per (layer, head) of z equals the naive loop", () => {
      if (checkpoint.name === "lfm2") {
        // Only its attention layers have z: the sweep takes those.
        const result = ablation(hm, { prompt: PROMPT, site: "z", kind: "zero" });
        assert.ok(result.layers.length > 0 && result.layers.length < hm.layers);
        return;
      }
      const metric = { kind: "prob", token: 17 } as const;
      const result = ablation(hm, { prompt: PROMPT, site: "z", kind: "mean", reference: REFERENCE, metric });
      const keys = result.layers.map((l) => `z.${l}`);
      const refs = REFERENCE.map((r) => activations(hm, r, keys));
      const means = new Map(
        keys.map((k) => [
          k,
          meanOf(
            refs.map((r) => r.get(k) as mx.Array),
            0,
            true,
          ),
        ]),
      );
      const heads = hm.model.layout.dims.heads;
      const naive = naiveHeadLoop(
        hm,
        PROMPT,
        keys,
        heads,
        (k, h) =>
          mx.broadcastTo(mx.index(means.get(k) as mx.Array, `${h}:${h + 1}`, ":"), [
            PROMPT.length,
            hm.model.layout.dims.headDim,
          ]),
        metric,
        [],
      );
      assert.ok(maxGridDiff(result.values, naive) <= TOLERANCE, `max diff ${maxGridDiff(result.values, naive)}`);
    });
  });
}

describe("ablation on the shipped tiny LM", () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  let hm: HookedModel;
  before(async () => {
    hm = await HookedModel.fromPretrained(join(root, "fixtures/tiny-lm-f16"));
  });
  const prompt = "X A V P Q R T X A V P Q R";

  test("the mean leaves out BOS unless asked, and the default metric is the top token's probability", () => {
    const tokens = hm.toTokens(prompt)[0] as number[];
    assert.equal(tokens[0], hm.tokenizer?.bosTokenId);
    const layers = [1];
    const positions = [5];
    const acts = activations(hm, tokens, ["resid_post.1"]).get("resid_post.1") as mx.Array;
    const logits = lastLogits(hm, tokens);
    const top = logits.indexOf(Math.max(...logits));
    for (const includeBos of [false, true]) {
      const result = ablation(hm, { prompt, site: "resid_post", kind: "mean", layers, positions, includeBos });
      assert.deepEqual(result.metric, { kind: "prob", token: top });
      const mean = meanOf([acts], includeBos ? 0 : 1, false);
      const [[naive]] = naivePositionLoop(
        hm,
        tokens,
        ["resid_post.1"],
        positions,
        () => mean,
        { kind: "prob", token: top },
        [],
      ) as [[number]];
      // float16 weights: the mean is rounded to float16 on the way in, in both; the rest as above.
      assert.ok(Math.abs((result.values[0]?.[0] as number) - naive) <= TOLERANCE, `includeBos ${includeBos}`);
    }
    const without = ablation(hm, { prompt, site: "resid_post", kind: "mean", layers, positions });
    const withBos = ablation(hm, { prompt, site: "resid_post", kind: "mean", layers, positions, includeBos: true });
    assert.notEqual(without.values[0]?.[0], withBos.values[0]?.[0], "BOS made no difference to the mean");
  });

  test("bad input gets a clear error", () => {
    assert.throws(
      () => ablation(hm, { prompt, site: "z", kind: "resample" }),
      /resample ablation needs reference prompts/,
    );
    assert.throws(
      () => ablation(hm, { prompt, site: "attn_out", kind: "resample", reference: ["X A"] }),
      /reference prompt 0 has 3 tokens; resampling needs 19/,
    );
    assert.throws(
      () => ablation(hm, { prompt, site: "attn_out", kind: "noise" as "zero" }),
      /kind must be "zero", "mean" or "resample"/,
    );
    assert.throws(() => ablation(hm, { prompt, site: "mlp", kind: "zero" } as never), /unknown site "mlp"/);
    assert.throws(
      () => ablation(hm, { prompt, site: "mlp_out", kind: "zero", positions: [19] }),
      /positions: position 19 is out of range for a prompt of 19 tokens \(0 to 18\)/,
    );
    assert.throws(
      () => ablation(hm, { prompt, site: "mlp_out", kind: "zero", batchSize: 0 }),
      /batchSize must be a positive integer/,
    );
    assert.throws(
      () => ablation(hm, { prompt: [prompt, prompt], site: "mlp_out", kind: "zero" }),
      /prompt must be one prompt/,
    );
  });
});
