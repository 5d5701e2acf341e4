// The readout functions against independent computations: unembed of the final stream against the
// model's own logits on checkpoints with different readouts, top-k against a full sort, log-probs
// and the loss against the formula written out in JavaScript, and the 4-bit unembedding rows.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { HookedModel, mx } from "mlux";
import { logProbs, tokenLoss } from "../../src/analysis/token-loss.ts";
import { topTokens } from "../../src/analysis/top-tokens.ts";
import { unembed } from "../../src/analysis/unembed.ts";
import { assertNear, checkpoint, PROMPTS } from "../hooks/cache-helpers.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

// llama-like (RMSNorm, untied head), gemma2 (1 + weight norm, tied, final soft-cap), gpt2
// (LayerNorm with bias, tied wte), granite (logits scaling), each float32 and 4-bit.
const READOUTS = ["llama", "gemma2", "gpt2", "granite"];

// The model's final norm is the fused kernel in the weights' dtype, unembed the formula in float32:
// in float32 they differ by rounding, relative 1e-6 per value, summed over d_model in the product.
const FP32_LOGITS = 1e-5;
// The 4-bit checkpoints compute in bfloat16 (8 significant bits): the model's final norm output is
// rounded to bfloat16 (2^-9 relative per feature) before its d_model-term products, and its logits
// again; unembed computes all of it in float32. Seen: at most 0.021 of the largest logit.
const BF16_LOGITS = 3e-2;

describe("unembed: the final stream through the model's readout gives the model's logits", () => {
  for (const name of READOUTS) {
    for (const variant of ["fp32", "q4"]) {
      test(`${name}/${variant}`, async () => {
        const hooked = await HookedModel.fromPretrained(checkpoint(name, variant), { dtype: "native" });
        const last = `resid_post.${hooked.layers - 1}`;
        const { logits, cache } = hooked.runWithCache(PROMPTS, { names: [last] });
        const lens = unembed(hooked.readout, cache.get(last));
        assert.equal(lens.dtype, "float32");
        assertNear(lens, logits, variant === "fp32" ? FP32_LOGITS : BF16_LOGITS, `${name}/${variant}`);
        // Without the norm, x is taken as already normalized: the norm's output gives the logits too.
        const normalized = hooked.runWithCache(PROMPTS, { names: ["ln_final"] }).cache.get("ln_final");
        const fromNorm = unembed(hooked.readout, normalized, { applyFinalNorm: false });
        assertNear(fromNorm, logits, variant === "fp32" ? FP32_LOGITS : BF16_LOGITS, `${name}/${variant} ln_final`);
        cache.dispose();
        hooked.model.dispose();
      });
    }
  }

  test("bad input says what was wrong", async () => {
    const hooked = await HookedModel.fromPretrained(checkpoint("llama", "fp32"));
    const width = hooked.readout.identity.dModel;
    assert.throws(
      () => unembed(hooked.readout, mx.zeros([2, width + 1])),
      /is \[2,\d+\] but the model's residual stream is \d+ wide/,
    );
    assert.throws(() => unembed(hooked.readout, mx.zeros([2, width], "int32")), /floating-point/);
    assert.throws(
      () => unembed(hooked.readout, mx.zeros([width]), { apply_final_norm: false } as object),
      /did you mean applyFinalNorm/,
    );
    hooked.model.dispose();
  });
});

describe("top tokens", () => {
  test("mx.argtopk and topTokens agree with a full sort and the softmax written out", () => {
    const key = mx.random.key(7);
    const logits = mx.multiply(mx.random.normal([3, 4, 97], { key }), 3);
    const rows = (logits.tolist() as number[][][]).flat();
    const k = 5;
    const tops = topTokens(logits, k);
    assert.equal(tops.length, 12);
    const ids = mx.argtopk(logits, k).tolist() as number[][][];
    rows.forEach((row, r) => {
      const sorted = row.map((v, id) => ({ v, id })).sort((a, b) => b.v - a.v || a.id - b.id);
      const norm = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      assert.deepEqual(
        tops[r]?.map((t) => t.id),
        sorted.slice(0, k).map((s) => s.id),
      );
      assert.deepEqual(
        ids[Math.floor(r / 4)]?.[r % 4],
        sorted.slice(0, k).map((s) => s.id),
      );
      tops[r]?.forEach((t, j) => {
        assert.equal(t.logit, Math.fround(sorted[j]?.v as number));
        // float32 softmax against float64: relative rounding of exp and the sum.
        assert.ok(Math.abs(t.prob - Math.exp(t.logit - norm)) <= 1e-6, `prob of ${t.id}`);
      });
    });
  });

  test("equal values come in id order; bad k is an error", () => {
    const logits = mx.array([1, 3, 3, 0, 3], "float32");
    assert.deepEqual(
      topTokens(logits, 3)[0]?.map((t) => t.id),
      [1, 2, 4],
    );
    assert.throws(() => topTokens(logits, 0), /k must be an integer from 1 to the vocabulary size 5, got 0/);
    assert.throws(() => topTokens(logits, 6), /got 6/);
  });
});

describe("log-probs and the loss", () => {
  test("match the formula in float64 and read float16 logits in float32", () => {
    const key = mx.random.key(3);
    const logits = mx.multiply(mx.random.normal([2, 5, 11], { key }), 4);
    const tokens = [
      [1, 4, 0, 10, 7],
      [3, 3, 9, 2, 5],
    ];
    const values = logits.tolist() as number[][][];
    const lp = logProbs(logits).tolist() as number[][][];
    const expectedLoss: number[][] = [];
    values.forEach((prompt, b) => {
      expectedLoss.push([]);
      prompt.forEach((row, t) => {
        const norm = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
        for (const [i, v] of row.entries()) assert.ok(Math.abs((lp[b]?.[t]?.[i] as number) - (v - norm)) <= 1e-5);
        const next = tokens[b]?.[t + 1];
        if (next !== undefined) expectedLoss[b]?.push(norm - (row[next] as number));
      });
    });
    const loss = tokenLoss(logits, tokens);
    assert.deepEqual(loss.perToken.shape, [2, 4]);
    // float32 log-softmax against float64: rounding of values up to ~20.
    for (const [b, row] of (loss.perToken.tolist() as number[][]).entries()) {
      for (const [t, v] of row.entries()) {
        assert.ok(Math.abs(v - (expectedLoss[b]?.[t] as number)) <= 1e-5, `loss ${b},${t}`);
      }
    }
    const mean = expectedLoss.flat().reduce((s, v) => s + v, 0) / 8;
    assert.ok(Math.abs(loss.mean - mean) <= 1e-5);
    // One prompt without the batch axis gives its row.
    const single = tokenLoss(mx.index(logits, 1), tokens[1] as number[]);
    assert.ok(Math.abs(single.mean - (expectedLoss[1] as number[]).reduce((s, v) => s + v, 0) / 4) <= 1e-5);
    // float16 logits are widened, not reduced in float16.
    assert.equal(logProbs(mx.astype(logits, "float16")).dtype, "float32");
  });

  test("bad tokens are errors", () => {
    const logits = mx.zeros([1, 3, 4]);
    assert.throws(() => tokenLoss(logits, [[1, 2]]), /tokens \[1,2\] do not match logits \[1,3,4\]/);
    assert.throws(() => tokenLoss(logits, [[1, 2, 4]]), /token id 4 is outside the vocabulary of 4/);
    assert.throws(() => tokenLoss(logits, [[1, 2.5, 3]]), /non-negative integer ids/);
    assert.throws(() => tokenLoss(mx.zeros([1, 1, 4]), [[1]]), /at least 2 positions/);
  });
});

describe("4-bit unembedding rows", () => {
  test("logitAttrs with one scalar id works on fixtures/tiny-lm-4bit as on a list of ids", async () => {
    const hooked = await HookedModel.fromPretrained(join(root, "fixtures", "tiny-lm-4bit"), { dtype: "native" });
    const { cache } = hooked.runWithCache(PROMPTS);
    const parts = cache.decomposeResid();
    const one = cache.logitAttrs(parts, 7);
    const perPrompt = cache.logitAttrs(parts, [7, 7]);
    assert.deepEqual(one.shape, parts.shape.slice(0, -1));
    assertNear(one, perPrompt, 0, "scalar id against [7, 7]");
    cache.dispose();
    hooked.model.dispose();
  });
});
