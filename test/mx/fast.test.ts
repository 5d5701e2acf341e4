import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { assertClose, closeOracle, expectSameAsPython, randomArray } from "../oracle/oracle.ts";

after(closeOracle);

// Norms and RoPE are MLX's own CPU code in both processes: identical bits.
const EXACT = { rtol: 0, atol: 0 };
// Attention multiplies q k^T and p v: in fp32 through OpenBLAS here and the reference BLAS in the
// Python oracle (another summation order), so fp32 agrees to float rounding; 1e-5 absolute on
// outputs of size ~1 is that rounding. Half precision uses MLX's own matmul kernels in both.
const ATTENTION_FP32 = { atol: 1e-5, rtol: 1e-5 };

const py = (b: boolean) => (b ? "True" : "False");

describe("rmsNorm and layerNorm match Python MLX", () => {
  for (const dtype of ["float32", "float16", "bfloat16"] as const) {
    test(`rmsNorm in ${dtype}, with and without a weight`, async () => {
      const x = randomArray([2, 5, 32], 1, { dtype, lo: -3, hi: 3 });
      const w = randomArray([32], 2, { dtype, lo: 0.5, hi: 1.5 });
      await expectSameAsPython(mx.fast.rmsNorm(x, w, 1e-5), "mx.fast.rms_norm(x, w, 1e-5)", { x, w }, EXACT);
      await expectSameAsPython(mx.fast.rmsNorm(x, null, 1e-6), "mx.fast.rms_norm(x, None, 1e-6)", { x }, EXACT);
    });
    test(`layerNorm in ${dtype}, with every weight/bias combination`, async () => {
      const x = randomArray([3, 48], 3, { dtype, lo: -2, hi: 4 });
      const w = randomArray([48], 4, { dtype, lo: 0.5, hi: 1.5 });
      const b = randomArray([48], 5, { dtype });
      await expectSameAsPython(
        mx.fast.layerNorm(x, w, b, 1e-5),
        "mx.fast.layer_norm(x, w, b, 1e-5)",
        { x, w, b },
        EXACT,
      );
      await expectSameAsPython(
        mx.fast.layerNorm(x, w, null, 1e-5),
        "mx.fast.layer_norm(x, w, None, 1e-5)",
        { x, w },
        EXACT,
      );
      await expectSameAsPython(
        mx.fast.layerNorm(x, null, b, 1e-4),
        "mx.fast.layer_norm(x, None, b, 1e-4)",
        { x, b },
        EXACT,
      );
      await expectSameAsPython(
        mx.fast.layerNorm(x, null, null, 1e-5),
        "mx.fast.layer_norm(x, None, None, 1e-5)",
        { x },
        EXACT,
      );
    });
  }
  test("eps defaults to 1e-5", async () => {
    const x = randomArray([4, 16], 6);
    await expectSameAsPython(mx.fast.rmsNorm(x, null), "mx.fast.rms_norm(x, None, 1e-5)", { x }, EXACT);
    await expectSameAsPython(mx.fast.layerNorm(x, null, null), "mx.fast.layer_norm(x, None, None, 1e-5)", { x }, EXACT);
  });
});

describe("rope matches Python MLX", () => {
  const x4 = randomArray([2, 3, 7, 16], 10);
  const cases: [string, mx.RopeOptions, string][] = [
    ["defaults", {}, "traditional=False, base=10000.0, scale=1.0, offset=0"],
    ["traditional", { traditional: true }, "traditional=True, base=10000.0, scale=1.0, offset=0"],
    ["base and scale", { base: 500000, scale: 0.25 }, "traditional=False, base=500000.0, scale=0.25, offset=0"],
    ["integer offset", { offset: 11 }, "traditional=False, base=10000.0, scale=1.0, offset=11"],
    [
      "traditional with offset",
      { traditional: true, offset: 3, scale: 2 },
      "traditional=True, base=10000.0, scale=2.0, offset=3",
    ],
  ];
  for (const [name, options, pyArgs] of cases) {
    for (const dims of [16, 8]) {
      test(`${name}, ${dims} of 16 dims`, async () => {
        await expectSameAsPython(
          mx.fast.rope(x4, dims, options),
          `mx.fast.rope(x, ${dims}, ${pyArgs})`,
          { x: x4 },
          EXACT,
        );
      });
    }
  }
  test("an offset Array: one scalar, or one offset per batch entry", async () => {
    const scalar = mx.array(5);
    await expectSameAsPython(
      mx.fast.rope(x4, 16, { offset: scalar }),
      "mx.fast.rope(x, 16, traditional=False, base=10000.0, scale=1.0, offset=o)",
      { x: x4, o: scalar },
      EXACT,
    );
    const perBatch = mx.array([2, 9]);
    const ours = mx.fast.rope(x4, 12, { offset: perBatch, traditional: true });
    await expectSameAsPython(
      ours,
      "mx.fast.rope(x, 12, traditional=True, base=10000.0, scale=1.0, offset=o)",
      { x: x4, o: perBatch },
      EXACT,
    );
    // Batch entry 1 with offset 9 is the same as rotating it alone at integer offset 9.
    const second = mx.reshape(mx.split(x4, 2, 0)[1] as mx.Array, [1, 3, 7, 16]);
    const alone = mx.fast.rope(second, 12, { offset: 9, traditional: true });
    assertClose(mx.split(ours, 2, 0)[1] as mx.Array, alone, EXACT);
  });
  test("custom frequencies instead of a base", async () => {
    const freqs = randomArray([8], 11, { lo: 0.001, hi: 1 });
    await expectSameAsPython(
      mx.fast.rope(x4, 16, { freqs, offset: 4 }),
      "mx.fast.rope(x, 16, traditional=False, base=None, scale=1.0, offset=4, freqs=f)",
      { x: x4, f: freqs },
      EXACT,
    );
    const half = randomArray([4], 12, { lo: 0.01, hi: 2 });
    await expectSameAsPython(
      mx.fast.rope(x4, 8, { freqs: half, traditional: true, base: null }),
      "mx.fast.rope(x, 8, traditional=True, base=None, scale=1.0, offset=0, freqs=f)",
      { x: x4, f: half },
      EXACT,
    );
  });
  test("a transposed view, as attention layers pass [B, T, H, D] -> [B, H, T, D]", async () => {
    const bthd = randomArray([2, 7, 3, 16], 14);
    const view = mx.transpose(bthd, [0, 2, 1, 3]);
    await expectSameAsPython(
      mx.fast.rope(view, 16, { offset: 2 }),
      "mx.fast.rope(x.transpose(0, 2, 1, 3), 16, traditional=False, base=10000.0, scale=1.0, offset=2)",
      { x: bthd },
      EXACT,
    );
  });
  for (const dtype of ["float16", "bfloat16"] as const) {
    test(`${dtype}, 3-D input`, async () => {
      const x = randomArray([2, 9, 32], 13, { dtype, lo: -4, hi: 4 });
      for (const traditional of [false, true]) {
        await expectSameAsPython(
          mx.fast.rope(x, 32, { traditional, offset: 6 }),
          `mx.fast.rope(x, 32, traditional=${py(traditional)}, base=10000.0, scale=1.0, offset=6)`,
          { x },
          EXACT,
        );
      }
    });
  }
});

// softmax(q k^T * scale + mask [, sinks]) @ v with our own ops. Sums over keys use a matmul with
// a ones vector (exact in fp32 for these sizes up to rounding); no max is subtracted, which is
// safe here because |scores| stays below ~5.
function manualAttention(
  q: mx.Array,
  k: mx.Array,
  v: mx.Array,
  scale: number,
  options: { additiveMask?: mx.Array; sinks?: mx.Array } = {},
): mx.Array {
  const heads = q.shape[1] as number;
  const groups = heads / (k.shape[1] as number);
  const kk = groups > 1 ? mx.repeat(k, groups, 1) : k;
  const vv = groups > 1 ? mx.repeat(v, groups, 1) : v;
  let scores = mx.multiply(mx.matmul(q, mx.swapaxes(kk, -1, -2)), scale);
  if (options.additiveMask) scores = mx.add(scores, options.additiveMask);
  const weights = mx.exp(scores);
  const keys = k.shape[2] as number;
  let denominator = mx.matmul(weights, mx.ones([keys, 1]));
  if (options.sinks) denominator = mx.add(denominator, mx.reshape(mx.exp(options.sinks), [1, heads, 1, 1]));
  return mx.matmul(mx.divide(weights, denominator), vv);
}

// The additive form of MLX's causal mask: lower-right aligned, the last query sees every key.
function causalMask(queries: number, keys: number): mx.Array {
  return mx.where(mx.tri(queries, keys, keys - queries, "bool"), 0, Number.NEGATIVE_INFINITY);
}

describe("scaledDotProductAttention matches Python MLX and softmax(q k^T * scale + mask) v", () => {
  const shapes: [string, number, number, number, number][] = [
    // name, heads, kv heads, query length, key length
    ["multi-head", 4, 4, 6, 6],
    ["grouped-query", 8, 2, 5, 9],
    ["multi-query", 4, 1, 3, 8],
    ["single-token decode", 8, 2, 1, 11],
  ];
  const D = 16;
  for (const [name, heads, kvHeads, tq, tk] of shapes) {
    for (const causal of [false, true]) {
      test(`${name} (${heads}/${kvHeads} heads, ${tq} queries, ${tk} keys)${causal ? ", causal" : ""}`, async () => {
        const q = randomArray([2, heads, tq, D], 20);
        const k = randomArray([2, kvHeads, tk, D], 21);
        const v = randomArray([2, kvHeads, tk, D], 22);
        const scale = 1 / Math.sqrt(D);
        const ours = mx.fast.scaledDotProductAttention(q, k, v, { scale, mask: causal ? "causal" : null });
        assert.deepEqual(ours.shape, [2, heads, tq, D]);
        await expectSameAsPython(
          ours,
          `mx.fast.scaled_dot_product_attention(q, k, v, scale=${scale}, mask=${causal ? '"causal"' : "None"})`,
          { q, k, v },
          ATTENTION_FP32,
        );
        const manual = manualAttention(q, k, v, scale, causal ? { additiveMask: causalMask(tq, tk) } : {});
        assertClose(ours, manual, { atol: 1e-5 });
      });
    }
  }
  test("transposed views of q, k and v", async () => {
    const q = randomArray([1, 5, 4, D], 45);
    const k = randomArray([1, 5, 2, D], 46);
    const v = randomArray([1, 5, 2, D], 47);
    const [qt, kt, vt] = [q, k, v].map((a) => mx.transpose(a, [0, 2, 1, 3])) as [mx.Array, mx.Array, mx.Array];
    const ours = mx.fast.scaledDotProductAttention(qt, kt, vt, { scale: 0.25, mask: "causal" });
    await expectSameAsPython(
      ours,
      'mx.fast.scaled_dot_product_attention(*[a.transpose(0, 2, 1, 3) for a in (q, k, v)], scale=0.25, mask="causal")',
      { q, k, v },
      ATTENTION_FP32,
    );
    assertClose(ours, manualAttention(qt, kt, vt, 0.25, { additiveMask: causalMask(5, 5) }), { atol: 1e-5 });
  });
  test("the default scale is 1/sqrt(head dim)", () => {
    const q = randomArray([1, 2, 3, D], 23);
    const k = randomArray([1, 2, 4, D], 24);
    const v = randomArray([1, 2, 4, D], 25);
    assertClose(
      mx.fast.scaledDotProductAttention(q, k, v),
      mx.fast.scaledDotProductAttention(q, k, v, { scale: 0.25 }),
      EXACT,
    );
  });
  test("boolean masks, broadcast from [T_q, T_kv] and [B, 1, T_q, T_kv]", async () => {
    const q = randomArray([2, 4, 5, D], 26);
    const k = randomArray([2, 2, 7, D], 27);
    const v = randomArray([2, 2, 7, D], 28);
    const pattern = mx.greater(randomArray([5, 7], 29), -0.5); // some keys hidden per query
    const keepFirst = mx.where(mx.tri(5, 7, 0, "bool"), true, pattern); // every row keeps a key
    for (const mask of [keepFirst, mx.broadcastTo(keepFirst, [2, 1, 5, 7])]) {
      const ours = mx.fast.scaledDotProductAttention(q, k, v, { scale: 0.3, mask });
      await expectSameAsPython(
        ours,
        "mx.fast.scaled_dot_product_attention(q, k, v, scale=0.3, mask=m)",
        { q, k, v, m: mask },
        ATTENTION_FP32,
      );
      const additive = mx.where(mask, 0, Number.NEGATIVE_INFINITY);
      assertClose(ours, manualAttention(q, k, v, 0.3, { additiveMask: additive }), { atol: 1e-5 });
    }
  });
  test("additive masks per head", async () => {
    const q = randomArray([1, 4, 3, D], 30);
    const k = randomArray([1, 4, 6, D], 31);
    const v = randomArray([1, 4, 6, D], 32);
    const mask = randomArray([1, 4, 3, 6], 33, { lo: -2, hi: 0 });
    const ours = mx.fast.scaledDotProductAttention(q, k, v, { scale: 0.25, mask });
    await expectSameAsPython(
      ours,
      "mx.fast.scaled_dot_product_attention(q, k, v, scale=0.25, mask=m)",
      { q, k, v, m: mask },
      ATTENTION_FP32,
    );
    assertClose(ours, manualAttention(q, k, v, 0.25, { additiveMask: mask }), { atol: 1e-5 });
  });
  test("attention sinks, alone and with a causal mask", async () => {
    const q = randomArray([1, 4, 4, D], 34);
    const k = randomArray([1, 2, 6, D], 35);
    const v = randomArray([1, 2, 6, D], 36);
    const sinks = randomArray([4], 37, { lo: -1, hi: 2 });
    for (const causal of [false, true]) {
      const ours = mx.fast.scaledDotProductAttention(q, k, v, { scale: 0.25, sinks, mask: causal ? "causal" : null });
      await expectSameAsPython(
        ours,
        `mx.fast.scaled_dot_product_attention(q, k, v, scale=0.25, mask=${causal ? '"causal"' : "None"}, sinks=s)`,
        { q, k, v, s: sinks },
        ATTENTION_FP32,
      );
      const manual = manualAttention(q, k, v, 0.25, { sinks, ...(causal ? { additiveMask: causalMask(4, 6) } : {}) });
      assertClose(ours, manual, { atol: 1e-5 });
    }
  });
  test("values with another head dimension than queries and keys", async () => {
    const q = randomArray([1, 2, 3, D], 38);
    const k = randomArray([1, 2, 5, D], 39);
    const v = randomArray([1, 2, 5, 8], 40);
    const ours = mx.fast.scaledDotProductAttention(q, k, v, { scale: 0.25, mask: "causal" });
    assert.deepEqual(ours.shape, [1, 2, 3, 8]);
    await expectSameAsPython(
      ours,
      'mx.fast.scaled_dot_product_attention(q, k, v, scale=0.25, mask="causal")',
      { q, k, v },
      ATTENTION_FP32,
    );
  });
  for (const dtype of ["float16", "bfloat16"] as const) {
    test(`${dtype}: grouped-query with a causal mask, with a boolean and an additive mask`, async () => {
      const q = randomArray([1, 8, 4, 32], 41, { dtype });
      const k = randomArray([1, 2, 9, 32], 42, { dtype });
      const v = randomArray([1, 2, 9, 32], 43, { dtype });
      const scale = 1 / Math.sqrt(32);
      const tol = { atol: 0, rtol: 0 };
      await expectSameAsPython(
        mx.fast.scaledDotProductAttention(q, k, v, { scale, mask: "causal" }),
        `mx.fast.scaled_dot_product_attention(q, k, v, scale=${scale}, mask="causal")`,
        { q, k, v },
        tol,
      );
      const boolMask = mx.tri(4, 9, 5, "bool");
      await expectSameAsPython(
        mx.fast.scaledDotProductAttention(q, k, v, { scale, mask: boolMask }),
        `mx.fast.scaled_dot_product_attention(q, k, v, scale=${scale}, mask=m)`,
        { q, k, v, m: boolMask },
        tol,
      );
      const additive = randomArray([4, 9], 44, { dtype, lo: -3, hi: 0 });
      await expectSameAsPython(
        mx.fast.scaledDotProductAttention(q, k, v, { scale, mask: additive }),
        `mx.fast.scaled_dot_product_attention(q, k, v, scale=${scale}, mask=m)`,
        { q, k, v, m: additive },
        tol,
      );
    });
  }
});

describe("fast op errors are clear and leave the process running", () => {
  test("norm weights of the wrong size or rank, unsupported dtypes", () => {
    assert.throws(() => mx.fast.rmsNorm(mx.ones([2, 8]), mx.ones([7])), /same size as the last dimension/);
    assert.throws(() => mx.fast.rmsNorm(mx.ones([2, 8]), mx.ones([2, 8])), /must have 1 dimension/);
    assert.throws(() => mx.fast.rmsNorm(mx.ones([2, 8], "int32"), null), /unsupported type int32/);
    assert.throws(() => mx.fast.layerNorm(mx.ones([2, 8]), null, mx.ones([7])), /bias must have the same size/);
    assert.throws(() => mx.fast.layerNorm(mx.ones([]), null, null), /at least 1 dimension/);
    assert.throws(() => mx.fast.rmsNorm(mx.ones([2, 8]), [1, 2] as never), /weight must be an mx Array or null/);
  });
  test("rope dims odd, too large or not positive; bad offsets and freqs", () => {
    const x = mx.ones([1, 4, 8]);
    assert.throws(() => mx.fast.rope(x, 7), /dims must be even but got 7/);
    assert.throws(() => mx.fast.rope(x, 10), /must not exceed the input's last dimension \(8\)/);
    assert.throws(() => mx.fast.rope(x, 0), /dims must be positive/);
    assert.throws(() => mx.fast.rope(mx.ones([4, 8]), 8), /at least 3 dimensions/);
    assert.throws(() => mx.fast.rope(mx.ones([1, 4, 8], "int32"), 8), /floating type/);
    assert.throws(
      () => mx.fast.rope(x, 8, { offset: mx.array([1, 2]) }),
      /offset must be a scalar or vector with 1 elements/,
    );
    assert.throws(() => mx.fast.rope(x, 8, { offset: mx.array([1.5]) }), /offset must be an integer/);
    assert.throws(() => mx.fast.rope(x, 8, { offset: 1.5 }), /offset must be a 32-bit integer/);
    assert.throws(() => mx.fast.rope(x, 8, { offset: "3" as never }), /offset must be a number or an mx Array/);
    assert.throws(() => mx.fast.rope(x, 8, { freqs: mx.ones([4]), base: 10000 }), /Only one of base or freqs/);
    assert.throws(() => mx.fast.rope(x, 8, { base: null }), /Neither base nor freqs/);
    assert.throws(() => mx.fast.rope(x, 8, { freqs: mx.ones([3]) }), /freqs must be one dimensional with size 4/);
  });
  test("attention with mismatched heads, lengths, ranks and batches", () => {
    const q = mx.ones([1, 4, 3, 8]);
    assert.throws(
      () => mx.fast.scaledDotProductAttention(q, mx.ones([1, 3, 5, 8]), mx.ones([1, 3, 5, 8])),
      /n_heads must be a multiple of n_kv_heads/,
    );
    assert.throws(
      () => mx.fast.scaledDotProductAttention(q, mx.ones([1, 2, 5, 8]), mx.ones([1, 2, 4, 8])),
      /keys and values must have the same number of heads and positions/,
    );
    assert.throws(
      () => mx.fast.scaledDotProductAttention(q, mx.ones([1, 2, 5, 7]), mx.ones([1, 2, 5, 8])),
      /matching last dimension/,
    );
    assert.throws(
      () => mx.fast.scaledDotProductAttention(mx.ones([4, 3, 8]), mx.ones([2, 5, 8]), mx.ones([2, 5, 8])),
      /expected to be rank 4/,
    );
    assert.throws(
      () => mx.fast.scaledDotProductAttention(mx.ones([2, 4, 3, 8]), mx.ones([3, 2, 5, 8]), mx.ones([3, 2, 5, 8])),
      /mismatching batch dimension/,
    );
    // Zero key/value heads would divide by zero inside MLX (SIGFPE).
    assert.throws(
      () => mx.fast.scaledDotProductAttention(q, mx.ones([1, 0, 5, 8]), mx.ones([1, 0, 5, 8])),
      /at least one head/,
    );
    assert.throws(
      () =>
        mx.fast.scaledDotProductAttention(
          mx.ones([1, 4, 3, 8], "int32"),
          mx.ones([1, 2, 5, 8], "int32"),
          mx.ones([1, 2, 5, 8], "int32"),
        ),
      /unsupported type int32/,
    );
  });
  test("attention masks and sinks of the wrong shape or dtype", () => {
    const q = mx.ones([1, 4, 3, 8]);
    const k = mx.ones([1, 2, 5, 8]);
    assert.throws(() => mx.fast.scaledDotProductAttention(q, k, k, { mask: mx.ones([3, 4]) }), /cannot be broadcast/);
    assert.throws(
      () => mx.fast.scaledDotProductAttention(q, k, k, { mask: mx.ones([1, 1, 1, 3, 5]) }),
      /at most rank 4/,
    );
    const h = mx.ones([1, 4, 3, 8], "float16");
    const kh = mx.ones([1, 2, 5, 8], "float16");
    assert.throws(
      () => mx.fast.scaledDotProductAttention(h, kh, kh, { mask: mx.zeros([3, 5]) }),
      /Mask type must promote to output type float16/,
    );
    assert.throws(
      () => mx.fast.scaledDotProductAttention(q, k, k, { mask: "upper" as never }),
      /"causal", an mx Array or null/,
    );
    assert.throws(() => mx.fast.scaledDotProductAttention(q, k, k, { sinks: mx.ones([3]) }), /invalid shape for sinks/);
    assert.throws(() => mx.fast.scaledDotProductAttention(q, k, k, { scale: "1" as never }), /scale must be a number/);
  });
  test("disposed inputs", () => {
    const gone = mx.ones([1, 2, 3, 8]);
    gone.dispose();
    assert.throws(() => mx.fast.rmsNorm(gone, null), /disposed/);
    assert.throws(() => mx.fast.scaledDotProductAttention(gone, gone, gone), /disposed/);
  });
});
