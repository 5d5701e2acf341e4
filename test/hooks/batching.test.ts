// Batches of prompts of different lengths: HookedModel left-pads them, the models mask padded keys
// and count positions from each row's first real token, and every prompt's positions hold what
// the prompt alone gives, on every architecture of the test checkpoints.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type HookContext, HookedModel, mx, Padding } from "mlux";
import { SuScaledRoPE } from "../../src/models/phi3.ts";
import { DynamicNTKScalingRoPE, initializeRope, RoPE, type RotaryEmbedding } from "../../src/nn/layers/rope.ts";
import { assertClose } from "../oracle/oracle.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const checkpoints = join(root, ".checkpoints");
if (!existsSync(join(checkpoints, "manifest.json"))) {
  throw new Error(`no test checkpoints in ${checkpoints}; make them with tools/checkpoints (npm test does)`);
}
const manifest = JSON.parse(readFileSync(join(checkpoints, "manifest.json"), "utf8")) as {
  checkpoints: Record<string, { variants: Record<string, { path: string }> }>;
};
const names = Object.keys(manifest.checkpoints);
function pathOf(name: string, variant: string): string {
  const entry = manifest.checkpoints[name]?.variants[variant];
  if (entry === undefined) throw new Error(`the test checkpoints have no ${name}/${variant}`);
  return join(checkpoints, entry.path);
}

// Three lengths around the checkpoints' sliding window of 8: one prompt inside it, two past it.
const PROMPTS = [
  [5, 17, 300, 42, 7],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 11, 12, 13, 14, 15, 16, 19, 23],
  [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100],
];
// q and k after RoPE: attention scores are blind to a shift of every position of a row (RoPE is
// relative), the rotated queries and keys are not, so these catch a row rotated from a wrong offset.
const RECORDED = ["resid_post.*", "q.*", "k.*", "pattern.*"];

// fp32 tolerances. The fp32 GEMM accumulates a row differently depending on how many rows the
// product has (rows 0..10 of a 33-row matmul differ from an 11-row matmul by an ulp or so), so any
// batch differs from the unbatched run by float32 rounding that grows over the layers; a batch of
// prompts of one length, which runs no padding code at all, differs just as much. Observed over
// the 20 checkpoints: logits and residuals within 5.7e-6 of the tensor's largest magnitude
// (smollm3), patterns within 1.25e-5 (smollm3; 9.4e-6 for granite's same-length batch). Where the
// products are row-independent (q4, below) batched and unbatched are bit-identical.
const VALUES_TOL = 1e-5; // times max(1, the reference's largest magnitude)
const PATTERN_TOL = 2e-5; // absolute: pattern entries lie in [0, 1]
// A row of softmax, summed in float32, is 1 up to the rounding of its entries to their dtype (q4
// checkpoints run in bfloat16): observed 3.6e-7 in float32, 2^-8 in bfloat16.
const ROW_SUM_TOL: Record<string, number> = { float32: 1e-6, bfloat16: 2 ** -7, float16: 2 ** -10 };

function maxAbs(a: mx.Array): number {
  return mx.tidy(() => mx.max(mx.abs(a)).item() as number);
}

function assertNear(actual: mx.Array, expected: mx.Array, tol: number, label: string): void {
  assertClose(actual, expected, { atol: tol * Math.max(1, maxAbs(expected)) }, label);
}

function assertFinite(a: mx.Array, label: string): void {
  assert.ok(
    mx.tidy(() => mx.all(mx.isfinite(a)).item()),
    `${label} has NaN or infinite values`,
  );
}

/** Every prompt's logits and recorded activations in the batch against its unbatched run. */
function compareWithUnbatched(hm: HookedModel, exact: boolean): void {
  const { logits, cache, batch } = hm.runWithCache(PROMPTS, { names: RECORDED });
  try {
    assert.deepEqual(batch.lengths, [5, 17, 11]);
    assert.deepEqual(logits.shape.slice(0, 2), [3, 17]);
    // Padding rows too: fully padded queries attend to themselves, so nothing is NaN anywhere.
    assertFinite(logits, "batched logits");
    const tol = (t: number) => (exact ? 0 : t);
    PROMPTS.forEach((prompt, b) => {
      const alone = hm.runWithCache([prompt], { names: RECORDED });
      try {
        mx.tidy(() => {
          assertNear(batch.select(logits, b), mx.index(alone.logits, 0), tol(VALUES_TOL), `prompt ${b} logits`);
          for (const key of alone.cache.keys()) {
            const batched = cache.get(key);
            assertFinite(batched, key);
            const reference = mx.index(alone.cache.get(key), 0);
            if (!key.startsWith("pattern.")) {
              // Residuals are [B, L, D]; q and k [B, heads, L, D].
              const axes = /^[qk]\./.test(key) ? [2] : [1];
              assertNear(batch.select(batched, b, axes), reference, tol(VALUES_TOL), `prompt ${b} ${key}`);
              continue;
            }
            assertNear(batch.select(batched, b, [2, 3]), reference, tol(PATTERN_TOL), `prompt ${b} ${key}`);
            const pad = batch.leftPadding[b] as number;
            const row = mx.index(batched, b);
            if (pad > 0) {
              // Real queries give padded keys exactly nothing.
              assert.equal(maxAbs(mx.index(row, ":", `${pad}:`, `:${pad}`)), 0, `prompt ${b} ${key} padded keys`);
            }
            const sums = mx.sum(mx.astype(row, "float32"), { axis: -1 });
            const atol = ROW_SUM_TOL[row.dtype] as number;
            assertClose(sums, mx.onesLike(sums), { atol }, `prompt ${b} ${key} row sums`);
          }
        });
      } finally {
        alone.logits.dispose();
        alone.cache.dispose();
      }
    });
  } finally {
    logits.dispose();
    cache.dispose();
  }
}

describe("a batch of different lengths equals the unbatched runs (fp32, every architecture)", () => {
  for (const name of names) {
    test(name, async () => {
      compareWithUnbatched(await HookedModel.fromPretrained(pathOf(name, "fp32")), false);
    });
  }
});

// Quantized products are computed row by row alike whatever the batch, so here every kernel runs
// the same numbers batched and unbatched: the padded path must be exact (tolerance 0).
describe("q4: a batch of different lengths equals the unbatched runs bit for bit", () => {
  for (const name of ["llama", "gemma3_text", "gpt2", "lfm2", "olmo3", "phi4-mini"]) {
    test(name, async () => {
      compareWithUnbatched(await HookedModel.fromPretrained(pathOf(name, "q4"), { dtype: "native" }), true);
    });
  }
});

// What fills the padding never reaches a real position: the real positions are bit-identical
// whatever ids the padding holds (same shapes, same kernels). This is what would catch a mask, a
// convolution or a learned position that lets padding in.
describe("padding ids never reach real positions (fp32, every architecture)", () => {
  for (const name of names) {
    test(name, async () => {
      const hm = await HookedModel.fromPretrained(pathOf(name, "fp32"));
      const batch = hm.padBatch(PROMPTS);
      const padding = batch.padding as Padding;
      mx.tidy(() => {
        const filled = (id: number) =>
          mx.array(
            batch.tokens.map((row, b) => row.map((t, i) => (i < (batch.leftPadding[b] as number) ? id + i : t))),
            "int32",
          );
        const a = hm.model.call(filled(0), undefined, padding);
        const b = hm.model.call(filled(4000), undefined, padding);
        PROMPTS.forEach((_, row) => {
          assertClose(batch.select(a, row), batch.select(b, row), { atol: 0 }, `prompt ${row}`);
        });
      });
    });
  }
});

describe("same-length batches", () => {
  test("run unpadded: exactly the model's own numbers", async () => {
    const hm = await HookedModel.fromPretrained(pathOf("llama", "fp32"));
    const prompts = [PROMPTS[0] as number[], [3, 1, 4, 1, 5]];
    const batch = hm.padBatch(prompts);
    assert.equal(batch.padded, false);
    assert.equal(batch.padding, undefined);
    mx.tidy(() => {
      const direct = hm.model.call(mx.array(prompts, "int32"));
      assertClose(hm.forward(prompts), direct, { atol: 0 }, "forward");
      // A padding of zeros is no padding.
      assertClose(hm.model.call(mx.array(prompts, "int32"), undefined, new Padding([0, 0])), direct, { atol: 0 });
    });
  });
});

describe("padBatch", () => {
  test("left-pads with the tokenizer's pad token, else 0, and says where the prompts are", async () => {
    const llama = await HookedModel.fromPretrained(pathOf("llama", "fp32"));
    const batch = llama.padBatch([[7, 8, 9], [1], [4, 5]]);
    assert.equal(llama.tokenizer?.specialTokens.pad_token, undefined);
    assert.equal(batch.padId, 0);
    assert.deepEqual(batch.tokens, [
      [7, 8, 9],
      [0, 0, 1],
      [0, 4, 5],
    ]);
    assert.deepEqual(batch.attentionMask, [
      [1, 1, 1],
      [0, 0, 1],
      [0, 1, 1],
    ]);
    assert.deepEqual(batch.lengths, [3, 1, 2]);
    assert.deepEqual(batch.leftPadding, [0, 2, 1]);
    assert.deepEqual(batch.padding?.left, [0, 2, 1]);

    const qwen = await HookedModel.fromPretrained(pathOf("qwen2", "fp32"));
    const padId = qwen.tokenizer?.tokenToId("<|endoftext|>");
    assert.ok(padId !== undefined && padId > 0);
    assert.equal(qwen.padBatch([[7, 8], [1]]).padId, padId);
    assert.deepEqual(qwen.padBatch([[7, 8], [1]]).tokens[1], [padId, 1]);
  });

  test("texts: each encoded as alone (BOS per prompt), then padded", async () => {
    const hm = await HookedModel.fromPretrained(pathOf("llama", "fp32"));
    const texts = ["The cat", "A much longer sentence about the cat and the dog"];
    const batch = hm.padBatch(texts);
    texts.forEach((text, b) => {
      assert.deepEqual(batch.tokens[b]?.slice(batch.leftPadding[b]), hm.toTokens(text)[0]);
    });
    mx.tidy(() => {
      const logits = hm.forward(texts);
      texts.forEach((text, b) => {
        assertNear(batch.select(logits, b), mx.index(hm.forward(text), 0), VALUES_TOL, `text ${b}`);
      });
    });
  });

  test("select names a wrong row or axis", async () => {
    const hm = await HookedModel.fromPretrained(pathOf("gpt2", "fp32"));
    const batch = hm.padBatch([[1, 2, 3], [4]]);
    mx.tidy(() => {
      const logits = hm.forward([[1, 2, 3], [4]]);
      assert.deepEqual(batch.select(logits, 1).shape, [1, logits.shape[2]]);
      assert.throws(() => batch.select(logits, 2), /row 2 is not in the batch \(rows 0 to 1\)/);
      assert.throws(() => batch.select(logits, 0, [0]), /position axis 0 is not one of axes 1 to 2/);
      assert.throws(() => batch.select(logits, 0, [2]), /axis 2 of shape .* has \d+ positions, the batch 3/);
      assert.throws(() => batch.select(mx.zeros([3, 3]), 0), /no batch of 2 rows on axis 0/);
    });
  });
});

describe("hooks and patterns on a padded batch", () => {
  test("hooks see the padded ids; an intervention acts on each prompt as on the prompt alone", async () => {
    const hm = await HookedModel.fromPretrained(pathOf("lfm2", "fp32"));
    const seen: (readonly (readonly number[])[])[] = [];
    const padding: (readonly number[])[] = [];
    const halve = (out: mx.Array, ctx: HookContext) => {
      if (ctx.tokens) seen.push(ctx.tokens);
      if (ctx.leftPadding) padding.push(ctx.leftPadding);
      return mx.multiply(out, 0.5);
    };
    const hooks = [["mlp_out.1", halve]] as const;
    const batch = hm.padBatch(PROMPTS);
    mx.tidy(() => {
      const logits = hm.runWithHooks(PROMPTS, { hooks });
      assert.deepEqual(seen[0], batch.tokens);
      assert.deepEqual(padding[0], batch.leftPadding, "hooks are told where each row's padding ends");
      const plain = hm.forward(PROMPTS);
      PROMPTS.forEach((prompt, b) => {
        const alone = mx.index(hm.runWithHooks([prompt], { hooks }), 0);
        assertNear(batch.select(logits, b), alone, VALUES_TOL, `prompt ${b}`);
        // The hook did change something, so the comparison above is not of two untouched runs.
        assert.ok(maxAbs(mx.subtract(batch.select(plain, b), alone)) > 1e-3);
      });
    });
    assert.deepEqual(hm.hookedPaths(), []);
  });

  test("getAttentionPatterns: padded [B, H, L, L], each prompt's own pattern by select", async () => {
    const hm = await HookedModel.fromPretrained(pathOf("gemma3_text", "fp32"));
    const batch = hm.padBatch(PROMPTS);
    const patterns = hm.getAttentionPatterns(PROMPTS);
    assert.deepEqual([...patterns.keys()], [0, 1, 2, 3]);
    PROMPTS.forEach((prompt, b) => {
      const alone = hm.getAttentionPatterns([prompt]);
      for (const [layer, pattern] of patterns) {
        assert.deepEqual(pattern.shape.slice(2), [17, 17]);
        const mine = batch.select(pattern, b, [2, 3]);
        assertNear(mine, mx.index(alone.get(layer) as mx.Array, 0), PATTERN_TOL, `prompt ${b} layer ${layer}`);
      }
      for (const p of alone.values()) p.dispose();
    });
    // Layer 0 slides over 8 keys: the 17-token prompt's last query sees exactly keys 9..16.
    const last = mx.index(patterns.get(0) as mx.Array, 1, 0, 16);
    assert.deepEqual(
      (mx.greater(last, 0).tolist() as boolean[]).map((x, j) => (x ? j : -1)).filter((j) => j >= 0),
      [9, 10, 11, 12, 13, 14, 15, 16],
    );
    for (const p of patterns.values()) p.dispose();
  });

  test("a padded batch runs without a KV cache (generation is one prompt at a time)", async () => {
    const hm = await HookedModel.fromPretrained(pathOf("llama", "fp32"));
    const batch = hm.padBatch([[1, 2, 3], [4]]);
    const cache = hm.model.makeCache();
    assert.throws(
      () => hm.model.call(mx.array(batch.tokens, "int32"), cache, batch.padding),
      /a left-padded batch runs without a KV cache/,
    );
    for (const c of cache) c.dispose();
  });
});

describe("bad batches", () => {
  test("an empty prompt or ids that are not token ids: a clear error, and the model goes on", async () => {
    const hm = await HookedModel.fromPretrained(pathOf("llama", "fp32"));
    assert.throws(() => hm.forward([[1, 2, 3], []]), /prompt 1 of the batch: token ids must not be empty/);
    assert.throws(
      () => hm.forward(["The cat", ""], { prependBos: false }),
      /prompt 1 of the batch has no tokens; every prompt needs one at least/,
    );
    assert.throws(
      () =>
        hm.runWithCache([
          [1, 2],
          [3, 2.5, 4],
        ]),
      /prompt 1 of the batch: token ids must be whole numbers from 0 to \d+ \(the model.s vocabulary\), got 2.5 at position 1/,
    );
    assert.throws(() => hm.forward([[1, -3]]), /got -3 at position 1/);
    assert.throws(() => hm.forward([[1, Number.NaN]]), /got null at position 1/);
    assert.throws(() => hm.forward([[1, "2" as unknown as number]]), /got "2" at position 1/);
    assert.throws(() => hm.forward(mx.array([[1.5, 2]])), /token Arrays must have an integer dtype, got float32/);
    assert.throws(
      () =>
        hm.forward(
          mx.array(
            [
              [1, 2],
              [3, 1e9],
            ],
            "int32",
          ),
        ),
      /prompt 1 of the batch: token ids must be whole numbers from 0 to \d+ .*got 1000000000 at position 1/,
    );
    assert.throws(() => new Padding([1, -1]), /padding must be a non-negative integer per row/);
    assert.throws(
      () => hm.model.call(mx.array([[1, 2, 3]], "int32"), undefined, new Padding([1, 0])),
      /padding has 2 rows for a batch of 1/,
    );
    assert.deepEqual(hm.hookedPaths(), []);
    mx.tidy(() => assert.deepEqual(hm.forward([[1, 2], [3]]).shape.slice(0, 2), [2, 2]));
  });
});

// RoPE with one offset per row (what a padded batch passes) equals each row rotated alone from its
// own offset, bit for bit, for every rotary variant; dynamic NTK gives rows of different lengths
// their own base.
describe("rotary embeddings with per-row offsets", () => {
  const ropes: [string, RotaryEmbedding][] = [
    ["plain", new RoPE(16, { base: 10000 })],
    ["traditional, scaled", new RoPE(12, { traditional: true, base: 500, scale: 0.25 })],
    [
      "llama3",
      initializeRope(16, 500000, false, { rope_type: "llama3", factor: 32, original_max_position_embeddings: 8 }),
    ],
    ["yarn", initializeRope(16, 10000, false, { rope_type: "yarn", factor: 8, original_max_position_embeddings: 64 })],
    ["su-scaled (phi3)", new SuScaledRoPE(12, 10000, 131072, 4096, 1.5)],
    ["dynamic NTK, past its maximum", new DynamicNTKScalingRoPE(16, 6, false, 10000, 2)],
  ];
  for (const [label, rope] of ropes) {
    test(label, () => {
      mx.tidy(() => {
        const x = mx.random.normal([3, 2, 9, 16], { key: mx.random.key(7) });
        const offsets = [-4, 0, -7];
        const together = rope.call(x, mx.array(offsets, "int32"));
        offsets.forEach((offset, b) => {
          const alone = rope.call(mx.index(x, `${b}:${b + 1}`), offset);
          assertClose(mx.index(together, `${b}:${b + 1}`), alone, { atol: 0 }, `row ${b}`);
        });
      });
    });
  }
});
