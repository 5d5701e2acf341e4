// Activation patching against the naive loop (one runWithHooks per cell, metric in float64), on
// architectures with different readouts: llama (untied head), gemma2 (scaled embeddings, soft-caps,
// sliding windows shorter than the prompt), gpt2 (learned positions, LayerNorm, tied head), and
// 4-bit quantized llama and gemma2.
import "../float32-products.ts";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { activationPatching, HookedModel, mx, patchAcrossLayers } from "mlux";
import { checkpoints, promptIds } from "../hooks/checkpoints.ts";
import { HALF_LOGIT_TOLERANCE, halfOnGpu } from "./half-on-gpu.ts";
import { activations, lastLogits, maxGridDiff, naiveHeadLoop, naiveMetric, naivePositionLoop } from "./naive-loop.ts";

const CHECKPOINTS = checkpoints(["llama", "gemma2"]).filter((c) =>
  ["llama/fp32", "gemma2/fp32", "gpt2/fp32", "llama/q4", "gemma2/q4"].includes(c.label),
);
// 12 positions: past the checkpoints' sliding window of 8, so gemma2's rotating caches are cut back.
const CLEAN = promptIds(7, 12);
const CORRUPTED = CLEAN.map((id, i) => (i === 3 || i === 8 ? id + 1 : id));
const ANSWER = 17;
const WRONG = 42;
const LOGIT_DIFF = { kind: "logitDiff", answer: ANSWER, wrong: WRONG } as const;

// The batched runs compute positions p.. on cached keys of 0..p-1 in a batch of many rows; the naive
// loop computes every position of one row. The float32 matrix products then sum in a different
// blocking (rows per product, keys per attention call), which moves a logit difference of size ~1
// by a few ulps: at most 8.5e-7 measured on these checkpoints in float32 (0 on the 4-bit ones,
// whose products compute each row alike). 1e-5 leaves 10x of that, far below the effects patching
// measures (1e-2 and up).
const TOLERANCE = 1e-5;

for (const checkpoint of CHECKPOINTS) {
  describe(`activation patching on ${checkpoint.label}`, () => {
    let hm: HookedModel;
    // bfloat16 on a GPU rounds batched rows apart (half-on-gpu.ts).
    let tolerance = TOLERANCE;
    before(async () => {
      hm = await HookedModel.fromPretrained(checkpoint.dir, { dtype: "native" });
      if (halfOnGpu(hm)) tolerance = HALF_LOGIT_TOLERANCE;
    });
    after(() => hm.model.dispose?.());

    for (const site of ["resid_pre", "attn_out", "mlp_out"] as const) {
      test(`${site} per (layer, position), denoising, equals the naive loop`, () => {
        const result = activationPatching(hm, { clean: CLEAN, corrupted: CORRUPTED, site, metric: LOGIT_DIFF });
        const keys = result.layers.map((l) => `${site}.${l}`);
        const clean = activations(hm, CLEAN, keys);
        const cleanLast = lastLogits(hm, CLEAN);
        const naive = naivePositionLoop(
          hm,
          CORRUPTED,
          keys,
          result.columns,
          (key, p) => mx.index(clean.get(key) as mx.Array, `${p}:${p + 1}`, ":"),
          LOGIT_DIFF,
          cleanLast,
        );
        for (const a of clean.values()) a.dispose();
        const diff = maxGridDiff(result.raw, naive);
        assert.ok(diff <= tolerance, `max |batched - naive| = ${diff}`);
        assert.ok(Math.abs(result.clean - naiveMetric(LOGIT_DIFF, cleanLast, cleanLast)) <= tolerance);
        // Positions where the prompts agree, before any layer mixed positions, change nothing.
        if (site === "resid_pre") assert.ok(Math.abs((result.raw[0]?.[0] as number) - result.corrupted) <= tolerance);
        // Something was patched: the corrupted positions move the metric.
        assert.ok(
          result.raw.flat().some((v) => Math.abs(v - result.corrupted) > 1e-3),
          "no cell moved the metric",
        );
      });
    }

    test("z per (layer, head), noising with a token's probability, equals the naive loop", () => {
      const metric = { kind: "prob", token: ANSWER } as const;
      const result = activationPatching(hm, {
        clean: CLEAN,
        corrupted: CORRUPTED,
        site: "z",
        metric,
        direction: "noising",
      });
      const keys = result.layers.map((l) => `z.${l}`);
      const corrupted = activations(hm, CORRUPTED, keys);
      const heads = hm.model.layout.dims.heads;
      const naive = naiveHeadLoop(
        hm,
        CLEAN,
        keys,
        heads,
        (key, h) => mx.index(corrupted.get(key) as mx.Array, h),
        metric,
        [],
      );
      for (const a of corrupted.values()) a.dispose();
      assert.deepEqual(result.columns, [...Array(heads).keys()]);
      // Probabilities are below 1: the same blocking differences, smaller in absolute terms (also in
      // bfloat16 on an H100: these probabilities are ~1e-4).
      assert.ok(maxGridDiff(result.raw, naive) <= TOLERANCE, `max diff ${maxGridDiff(result.raw, naive)}`);
    });

    test("KL to clean: 0 for the clean run, and the last layer's whole clean output at the last position restores it", () => {
      const result = activationPatching(hm, {
        clean: CLEAN,
        corrupted: CORRUPTED,
        site: "resid_post",
        metric: { kind: "kl" },
      });
      assert.equal(result.clean, 0);
      assert.ok(result.corrupted > 0);
      const last = result.raw.at(-1)?.at(-1) as number;
      // The logits at the last position read only the last layer's output there: the clean vector
      // gives the clean logits up to the rounding of a 1-row against a 12-row product.
      assert.ok(Math.abs(last) <= 1e-6, `KL at (last layer, last position) = ${last}`);
      const normalized = result.normalized.at(-1)?.at(-1) as number;
      assert.ok(Math.abs(normalized - 1) <= 1e-4, `normalized ${normalized}`);
    });

    test("noising A with B is denoising B into A: the same runs, the same numbers", () => {
      const noising = activationPatching(hm, {
        clean: CLEAN,
        corrupted: CORRUPTED,
        site: "attn_out",
        metric: LOGIT_DIFF,
        direction: "noising",
      });
      const denoising = activationPatching(hm, {
        clean: CORRUPTED,
        corrupted: CLEAN,
        site: "attn_out",
        metric: LOGIT_DIFF,
      });
      assert.deepEqual(noising.raw, denoising.raw);
      assert.equal(noising.clean, denoising.corrupted);
      assert.equal(noising.corrupted, denoising.clean);
      // Each normalization is 1 - the other's.
      noising.normalized.flat().forEach((v, i) => {
        assert.ok(Math.abs(v - (1 - (denoising.normalized.flat()[i] as number))) < 1e-9);
      });
    });

    test("prompts of different lengths patch along explicit position pairs", () => {
      // The corrupted prompt has two more tokens after position 4; positions past them are shifted.
      const longer = [...CORRUPTED.slice(0, 5), 901, 902, ...CORRUPTED.slice(5)];
      const pairs = CLEAN.map((_, i) => [i, i < 5 ? i : i + 2] as [number, number]);
      const result = activationPatching(hm, {
        clean: CLEAN,
        corrupted: longer,
        site: "resid_pre",
        metric: LOGIT_DIFF,
        positionPairs: pairs,
      });
      assert.deepEqual(
        result.columns,
        pairs.map(([, k]) => k),
      );
      const keys = result.layers.map((l) => `resid_pre.${l}`);
      const clean = activations(hm, CLEAN, keys);
      const cleanOf = new Map(pairs.map(([c, k]) => [k, c]));
      const naive = naivePositionLoop(
        hm,
        longer,
        keys,
        result.columns,
        (key, k) => {
          const c = cleanOf.get(k) as number;
          return mx.index(clean.get(key) as mx.Array, `${c}:${c + 1}`, ":");
        },
        LOGIT_DIFF,
        [],
      );
      for (const a of clean.values()) a.dispose();
      assert.ok(maxGridDiff(result.raw, naive) <= tolerance, `max diff ${maxGridDiff(result.raw, naive)}`);
    });

    test("the single-cell sweep: each layer's top tokens with the source's output at one position", () => {
      const sweep = patchAcrossLayers(hm, {
        source: CLEAN,
        target: CORRUPTED,
        sourcePosition: 8,
        targetPosition: 8,
      });
      assert.equal(sweep.layers.length, hm.layers);
      const clean = activations(
        hm,
        CLEAN,
        sweep.layers.map(({ layer }) => `resid_post.${layer}`),
      );
      for (const { layer, top } of sweep.layers) {
        const value = mx.index(clean.get(`resid_post.${layer}`) as mx.Array, "8:9", ":");
        const logits = lastLogits(hm, CORRUPTED, [[`resid_post.${layer}@8`, value]]);
        const probs = logits.map((_, i) => naiveMetric({ kind: "prob", token: i }, logits, []));
        const order = [...probs.keys()].sort((a, b) => (probs[b] as number) - (probs[a] as number));
        assert.equal(top.length, 3);
        // The top token (ties between nearly equal probabilities may order the 2nd and 3rd differently).
        const id = top[0]?.id as number;
        if (halfOnGpu(hm)) {
          // In bfloat16 on a GPU a near tie may order the first two differently too.
          assert.ok((logits[id] as number) >= (logits[order[0] as number] as number) - tolerance, `top token ${id}`);
          // A logit off by δ moves a probability by a factor e^δ, about 1 + δ.
          assert.ok(Math.abs((top[0]?.prob as number) - (probs[id] as number)) <= tolerance * (probs[id] as number));
        } else {
          assert.equal(id, order[0]);
          assert.ok(Math.abs((top[0]?.prob as number) - (probs[id] as number)) <= 1e-5);
        }
      }
      for (const a of clean.values()) a.dispose();
      // The last layer's output at the last position... is not position 8; but patching the last
      // layer at the target's last position from the source's last gives the source's own top token.
      const lastPos = CLEAN.length - 1;
      const full = patchAcrossLayers(hm, {
        source: CLEAN,
        target: CORRUPTED,
        sourcePosition: lastPos,
        targetPosition: lastPos,
        k: 1,
      });
      const cleanTop = lastLogits(hm, CLEAN);
      const best = cleanTop.indexOf(Math.max(...cleanTop));
      const patchedTop = full.layers.at(-1)?.top[0]?.id as number;
      if (halfOnGpu(hm)) {
        // The patched run and the clean run alone round apart there: a near tie may swap the top two.
        assert.ok(
          (cleanTop[patchedTop] as number) >= (cleanTop[best] as number) - tolerance,
          `top token ${patchedTop}`,
        );
      } else {
        assert.equal(patchedTop, best);
      }
    });
  });
}

describe("activation patching: bad input", () => {
  let hm: HookedModel;
  before(async () => {
    hm = await HookedModel.fromPretrained(CHECKPOINTS[0]?.dir as string);
  });
  const base = { clean: CLEAN, corrupted: CORRUPTED, metric: LOGIT_DIFF, site: "resid_pre" } as const;
  test("an unknown site names the sites there are", () => {
    assert.throws(
      () => activationPatching(hm, { ...base, site: "resid" as "resid_pre" }),
      /unknown site "resid": use one of resid_pre, resid_mid, resid_post, attn_out, mlp_out, z/,
    );
  });
  test("prompts of different lengths without position pairs", () => {
    assert.throws(
      () => activationPatching(hm, { ...base, corrupted: [...CORRUPTED, 5] }),
      /the clean prompt has 12 tokens and the corrupted 13: give positionPairs/,
    );
  });
  test("positions out of range", () => {
    assert.throws(
      () =>
        activationPatching(hm, {
          ...base,
          positionPairs: [
            [0, 0],
            [12, 3],
          ],
        }),
      /position 12 is out of range for a prompt of 12 tokens/,
    );
    assert.throws(
      () => patchAcrossLayers(hm, { source: CLEAN, target: CORRUPTED, sourcePosition: -1, targetPosition: 0 }),
      /sourcePosition: position -1 is out of range/,
    );
  });
  test("layers out of range, a batch as the clean prompt, a bad metric, a bad direction", () => {
    assert.throws(
      () => activationPatching(hm, { ...base, layers: [hm.layers] }),
      new RegExp(`layer ${hm.layers} is out of range: the model has layers 0 to ${hm.layers - 1}`),
    );
    assert.throws(
      () => activationPatching(hm, { ...base, clean: [CLEAN, CLEAN] }),
      /clean must be one prompt, got a batch of 2/,
    );
    assert.throws(
      () => activationPatching(hm, { ...base, metric: { kind: "logitDiff", answer: 1e9, wrong: 0 } }),
      /metric answer: 1000000000 is not a token id of this model/,
    );
    assert.throws(() => activationPatching(hm, { ...base, metric: { kind: "loss" } as never }), /metric must be/);
    assert.throws(
      () => activationPatching(hm, { ...base, direction: "backwards" as "noising" }),
      /direction must be "denoising" or "noising"/,
    );
  });
});
