import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { assertClose, closeOracle, expectSameAsPython, randomArray } from "../oracle/oracle.ts";

after(closeOracle);

// Quantization, dequantization and the quantized products are MLX's own CPU kernels in both
// processes (no BLAS involved): the same code on the same inputs gives the same bits.
const EXACT = { rtol: 0, atol: 0 };

const weight = randomArray([16, 256], 1);
const asList = (q: mx.Quantized): mx.Array[] => (q.biases ? [q.wq, q.scales, q.biases] : [q.wq, q.scales]);

describe("quantize is bit-exact with Python MLX", () => {
  for (const groupSize of [32, 64, 128]) {
    for (const bits of [1, 2, 3, 4, 5, 6, 8]) {
      test(`affine, group ${groupSize}, ${bits} bits`, async () => {
        const q = mx.quantize(weight, { groupSize, bits });
        assert.equal(q.wq.dtype, "uint32");
        assert.deepEqual(q.wq.shape, [16, (256 * bits) / 32]);
        assert.deepEqual(q.scales.shape, [16, 256 / groupSize]);
        await expectSameAsPython(
          asList(q),
          `mx.quantize(w, group_size=${groupSize}, bits=${bits})`,
          { w: weight },
          EXACT,
        );
      });
    }
  }
  test("defaults are affine, group 64, 4 bits", async () => {
    const q = mx.quantize(weight);
    assert.ok(q.biases);
    assert.deepEqual(q.scales.shape, [16, 4]);
    await expectSameAsPython(asList(q), "mx.quantize(w)", { w: weight }, EXACT);
  });
  for (const dtype of ["float16", "bfloat16"] as const) {
    test(`affine ${dtype} weights keep their dtype in scales and biases`, async () => {
      const w = randomArray([8, 128], 2, { dtype });
      for (const bits of [4, 8]) {
        const q = mx.quantize(w, { groupSize: 32, bits });
        assert.equal(q.scales.dtype, dtype);
        await expectSameAsPython(asList(q), `mx.quantize(w, group_size=32, bits=${bits})`, { w }, EXACT);
      }
    });
  }
  test("stacked (3-D) weights, as mixture-of-experts layers store them", async () => {
    const w = randomArray([3, 8, 128], 3);
    await expectSameAsPython(asList(mx.quantize(w, { bits: 3 })), "mx.quantize(w, bits=3)", { w }, EXACT);
  });
  for (const mode of ["mxfp4", "nvfp4", "mxfp8"] as const) {
    test(`${mode}: packed data and uint8 scales, no biases`, async () => {
      for (const dtype of ["float32", "bfloat16", "float16"] as const) {
        const w = randomArray([8, 128], 4, { dtype, lo: -6, hi: 6 });
        const q = mx.quantize(w, { mode });
        assert.equal(q.biases, undefined);
        assert.equal(q.scales.dtype, "uint8");
        await expectSameAsPython(asList(q), `mx.quantize(w, mode="${mode}")`, { w }, EXACT);
      }
    });
  }
  test("nvfp4 with a global scale", async () => {
    const w = randomArray([8, 64], 5, { lo: -40, hi: 40 });
    const globalScale = mx.array(0.125);
    await expectSameAsPython(
      asList(mx.quantize(w, { mode: "nvfp4", globalScale })),
      'mx.quantize(w, mode="nvfp4", global_scale=g)',
      { w, g: globalScale },
      EXACT,
    );
  });
});

describe("dequantize matches Python MLX", () => {
  const configs: [number, number][] = [
    [32, 2],
    [64, 3],
    [64, 4],
    [128, 5],
    [32, 6],
    [128, 8],
  ];
  for (const [groupSize, bits] of configs) {
    test(`affine, group ${groupSize}, ${bits} bits`, async () => {
      const { wq, scales, biases } = mx.quantize(weight, { groupSize, bits });
      await expectSameAsPython(
        mx.dequantize(wq, scales, biases, { groupSize, bits }),
        `mx.dequantize(wq, s, b, group_size=${groupSize}, bits=${bits})`,
        { wq, s: scales, b: biases as mx.Array },
        EXACT,
      );
    });
  }
  test("an output dtype, and float16 / bfloat16 scales", async () => {
    const { wq, scales, biases } = mx.quantize(weight);
    await expectSameAsPython(
      mx.dequantize(wq, scales, biases, { dtype: "bfloat16" }),
      "mx.dequantize(wq, s, b, dtype=mx.bfloat16)",
      { wq, s: scales, b: biases as mx.Array },
      EXACT,
    );
    const half = mx.quantize(mx.astype(weight, "float16"), { bits: 8 });
    const back = mx.dequantize(half.wq, half.scales, half.biases, { bits: 8 });
    assert.equal(back.dtype, "float16");
    await expectSameAsPython(
      back,
      "mx.dequantize(wq, s, b, bits=8)",
      { wq: half.wq, s: half.scales, b: half.biases as mx.Array },
      EXACT,
    );
  });
  for (const mode of ["mxfp4", "nvfp4", "mxfp8"] as const) {
    test(`${mode} without biases`, async () => {
      const w = randomArray([8, 128], 6, { lo: -6, hi: 6 });
      const { wq, scales } = mx.quantize(w, { mode });
      await expectSameAsPython(
        mx.dequantize(wq, scales, null, { mode, dtype: "float32" }),
        `mx.dequantize(wq, s, mode="${mode}", dtype=mx.float32)`,
        { wq, s: scales },
        EXACT,
      );
    });
  }
  test("nvfp4 with a global scale", async () => {
    const w = randomArray([8, 64], 7, { lo: -40, hi: 40 });
    const globalScale = mx.array(0.125);
    const { wq, scales } = mx.quantize(w, { mode: "nvfp4", globalScale });
    await expectSameAsPython(
      mx.dequantize(wq, scales, null, { mode: "nvfp4", globalScale }),
      'mx.dequantize(wq, s, mode="nvfp4", global_scale=g)',
      { wq, s: scales, g: globalScale },
      EXACT,
    );
  });
  test("round trip error is within one quantization step", () => {
    const { wq, scales, biases } = mx.quantize(weight, { groupSize: 32, bits: 8 });
    const back = mx.dequantize(wq, scales, biases, { groupSize: 32, bits: 8 });
    // 8 bits over a group's range of at most 2 (inputs in [-1, 1]): a step is <= 2/255. MLX
    // snaps the grid so the group's extreme value is exact, which can cost up to a whole step
    // (not half) for the other values.
    assertClose(back, weight, { atol: 2 / 255 + 1e-6 });
  });
});

describe("quantizedMatmul matches Python MLX and the dequantized product", () => {
  // Against matmul with the dequantized weight: the same products summed in another order (and
  // through OpenBLAS), over 256 terms of size <= 1: 1e-4 absolute is float rounding, far below
  // any wrong nibble (a step of the 4-bit grid moves a product by ~1e-2).
  const DEQUANTIZED = { atol: 1e-4, rtol: 1e-5 };
  const configs: [number, number][] = [
    [64, 4],
    [32, 2],
    [128, 8],
    [64, 3],
    [32, 6],
  ];
  for (const [groupSize, bits] of configs) {
    test(`affine x @ W.T, group ${groupSize}, ${bits} bits`, async () => {
      const { wq, scales, biases } = mx.quantize(weight, { groupSize, bits });
      const x = randomArray([3, 256], 10);
      const ours = mx.quantizedMatmul(x, wq, scales, biases, { groupSize, bits });
      assert.deepEqual(ours.shape, [3, 16]);
      await expectSameAsPython(
        ours,
        `mx.quantized_matmul(x, wq, s, b, transpose=True, group_size=${groupSize}, bits=${bits})`,
        { x, wq, s: scales, b: biases as mx.Array },
        EXACT,
      );
      const dense = mx.dequantize(wq, scales, biases, { groupSize, bits });
      assertClose(ours, mx.matmul(x, mx.transpose(dense)), DEQUANTIZED);
    });
  }
  test("batched and 1-D inputs", async () => {
    const { wq, scales, biases } = mx.quantize(weight);
    const dense = mx.dequantize(wq, scales, biases);
    for (const shape of [[2, 5, 256], [256], [1, 1, 256]]) {
      const x = randomArray(shape, 11);
      const ours = mx.quantizedMatmul(x, wq, scales, biases);
      await expectSameAsPython(
        ours,
        "mx.quantized_matmul(x, wq, s, b)",
        { x, wq, s: scales, b: biases as mx.Array },
        EXACT,
      );
      assertClose(ours, mx.matmul(x, mx.transpose(dense)), DEQUANTIZED);
    }
  });
  test("a transposed (non-contiguous) input", async () => {
    const { wq, scales, biases } = mx.quantize(weight);
    const xt = randomArray([256, 3], 17);
    await expectSameAsPython(
      mx.quantizedMatmul(mx.transpose(xt), wq, scales, biases),
      "mx.quantized_matmul(x.T, wq, s, b)",
      { x: xt, wq, s: scales, b: biases as mx.Array },
      EXACT,
    );
  });
  test("transpose: false multiplies by W itself", async () => {
    const w = randomArray([64, 128], 12);
    const { wq, scales, biases } = mx.quantize(w, { groupSize: 32 });
    const x = randomArray([4, 64], 13);
    const ours = mx.quantizedMatmul(x, wq, scales, biases, { transpose: false, groupSize: 32 });
    assert.deepEqual(ours.shape, [4, 128]);
    await expectSameAsPython(
      ours,
      "mx.quantized_matmul(x, wq, s, b, transpose=False, group_size=32)",
      { x, wq, s: scales, b: biases as mx.Array },
      EXACT,
    );
    assertClose(ours, mx.matmul(x, mx.dequantize(wq, scales, biases, { groupSize: 32 })), DEQUANTIZED);
  });
  for (const dtype of ["float16", "bfloat16"] as const) {
    test(`${dtype} activations and weights`, async () => {
      const w = mx.astype(weight, dtype);
      const { wq, scales, biases } = mx.quantize(w);
      const x = randomArray([3, 256], 14, { dtype });
      const ours = mx.quantizedMatmul(x, wq, scales, biases);
      assert.equal(ours.dtype, dtype);
      await expectSameAsPython(
        ours,
        "mx.quantized_matmul(x, wq, s, b)",
        { x, wq, s: scales, b: biases as mx.Array },
        EXACT,
      );
    });
  }
  for (const mode of ["mxfp4", "nvfp4", "mxfp8"] as const) {
    test(`${mode}`, async () => {
      const w = randomArray([16, 128], 15, { lo: -4, hi: 4 });
      const { wq, scales } = mx.quantize(w, { mode });
      const x = randomArray([2, 128], 16);
      const ours = mx.quantizedMatmul(x, wq, scales, null, { mode });
      await expectSameAsPython(ours, `mx.quantized_matmul(x, wq, s, mode="${mode}")`, { x, wq, s: scales }, EXACT);
      // Values up to 4 over 128 terms: the dequantized product agrees to float rounding.
      const dense = mx.dequantize(wq, scales, null, { mode, dtype: "float32" });
      assertClose(ours, mx.matmul(x, mx.transpose(dense)), { atol: 1e-3, rtol: 1e-5 });
    });
  }
  test("empty inputs give empty or zero results instead of a crash in MLX's kernel", () => {
    const { wq, scales, biases } = mx.quantize(weight);
    assert.deepEqual(mx.quantizedMatmul(mx.zeros([0, 256]), wq, scales, biases).shape, [0, 16]);
    assert.deepEqual(mx.quantizedMatmul(mx.zeros([2, 0, 256]), wq, scales, biases).shape, [2, 0, 16]);
    const zeroK = mx.quantizedMatmul(mx.zeros([2, 0]), mx.zeros([8, 0], "uint32"), mx.zeros([8, 0]), mx.zeros([8, 0]));
    assert.deepEqual(zeroK.tolist(), [Array(8).fill(0), Array(8).fill(0)]);
  });
});

describe("gatherQmm matches Python MLX", () => {
  const experts = randomArray([4, 16, 128], 20);
  const { wq, scales, biases } = mx.quantize(experts);
  test("experts chosen per token by rhsIndices", async () => {
    const x = randomArray([3, 1, 128], 21);
    const rhs = mx.array([3, 0, 3], "uint32");
    await expectSameAsPython(
      mx.gatherQmm(x, wq, scales, biases, { rhsIndices: rhs }),
      "mx.gather_qmm(x, wq, s, b, rhs_indices=r)",
      { x, wq, s: scales, b: biases as mx.Array, r: rhs },
      EXACT,
    );
  });
  test("lhsIndices and rhsIndices together; sorted indices", async () => {
    const x = randomArray([2, 1, 128], 22);
    const lhs = mx.array([0, 0, 1, 1], "uint32");
    const rhs = mx.array([0, 1, 2, 3], "uint32");
    await expectSameAsPython(
      mx.gatherQmm(x, wq, scales, biases, { lhsIndices: lhs, rhsIndices: rhs, sortedIndices: true }),
      "mx.gather_qmm(x, wq, s, b, lhs_indices=l, rhs_indices=r, sorted_indices=True)",
      { x, wq, s: scales, b: biases as mx.Array, l: lhs, r: rhs },
      EXACT,
    );
  });
  test("mxfp4 experts", async () => {
    const q = mx.quantize(experts, { mode: "mxfp4" });
    const x = randomArray([2, 1, 128], 23);
    const rhs = mx.array([1, 2], "uint32");
    await expectSameAsPython(
      mx.gatherQmm(x, q.wq, q.scales, null, { rhsIndices: rhs, mode: "mxfp4" }),
      'mx.gather_qmm(x, wq, s, rhs_indices=r, mode="mxfp4")',
      { x, wq: q.wq, s: q.scales, r: rhs },
      EXACT,
    );
  });
});

describe("float8 conversion matches Python MLX", () => {
  test("toFp8 and fromFp8", async () => {
    const x = randomArray([4, 8], 30, { lo: -500, hi: 500 });
    const bits = mx.toFp8(x);
    assert.equal(bits.dtype, "uint8");
    await expectSameAsPython(bits, "mx.to_fp8(x)", { x }, EXACT);
    await expectSameAsPython(mx.fromFp8(bits, "float32"), "mx.from_fp8(b, mx.float32)", { b: bits }, EXACT);
    await expectSameAsPython(mx.fromFp8(bits), "mx.from_fp8(b)", { b: bits }, EXACT);
  });
});

describe("quantization errors are clear and leave the process running", () => {
  test("unsupported group sizes, bits and modes carry MLX's message", () => {
    assert.throws(() => mx.quantize(weight, { groupSize: 48 }), /divisible by the quantization group size 48/);
    assert.throws(() => mx.quantize(weight, { groupSize: 16 }), /group size 16 is not supported/);
    assert.throws(() => mx.quantize(weight, { bits: 7 }), /number of bits 7 is not supported/);
    assert.throws(() => mx.quantize(weight, { mode: "int4" as never }), /Invalid quantization mode 'int4'/);
    assert.throws(() => mx.quantize(weight, { mode: "mxfp4", groupSize: 64 }), /requires group size 32/);
    assert.throws(() => mx.quantize(weight, { mode: "mxfp8", bits: 4 }), /requires bits to be 8/);
    assert.throws(() => mx.quantize(weight, { bits: 2.5 }), /bits must be a 32-bit integer/);
    assert.throws(() => mx.quantize(weight, { mode: 4 as never }), /quantization mode must be/);
  });
  test("group size 0 and 0 bits (a division by zero inside MLX) are refused", () => {
    assert.throws(() => mx.quantize(weight, { groupSize: 0 }), /group size must be positive, got 0/);
    const { wq, scales, biases } = mx.quantize(weight);
    assert.throws(
      () => mx.quantizedMatmul(mx.ones([1, 256]), wq, scales, biases, { bits: 0 }),
      /bits must be positive/,
    );
    assert.throws(
      () => mx.gatherQmm(mx.ones([1, 256]), wq, scales, biases, { groupSize: 0 }),
      /group size must be positive/,
    );
    assert.throws(() => mx.dequantize(wq, scales, biases, { bits: -1 }), /bits must be positive/);
  });
  test("wrong inputs to quantize", () => {
    assert.throws(() => mx.quantize(mx.ones([64])), /at least 2 dimension/);
    assert.throws(() => mx.quantize(mx.ones([4, 64], "int32")), /Only real floating types can be quantized/);
    assert.throws(
      () => mx.quantize(weight, { mode: "nvfp4", globalScale: mx.ones([3]) }),
      /Global scale must be a scalar/,
    );
    assert.throws(() => mx.quantize(weight, { globalScale: mx.array(1.5) }), /only supported for 'nvfp4'/);
  });
  test("mismatched packed data, scales and biases", () => {
    const { wq, scales, biases } = mx.quantize(weight);
    assert.throws(() => mx.dequantize(wq, scales, null), /Biases must be provided for affine/);
    assert.throws(() => mx.dequantize(wq, scales, biases, { bits: 3 }), /Shape of scales and biases does not match/);
    assert.throws(() => mx.dequantize(mx.ones([16, 32]), scales, biases), /should be given as a uint32/);
    assert.throws(() => mx.dequantize(wq, scales, biases, { dtype: "int32" }), /output dtype == int32/);
    const fp4 = mx.quantize(weight, { mode: "mxfp4" });
    assert.throws(() => mx.dequantize(fp4.wq, fp4.scales, mx.ones([16, 8]), { mode: "mxfp4" }), /Biases must be null/);
  });
  test("quantizedMatmul with the wrong shapes", () => {
    const { wq, scales, biases } = mx.quantize(weight);
    assert.throws(
      () => mx.quantizedMatmul(mx.ones([2, 128]), wq, scales, biases),
      /Last dimension of first input with shape \(\.\.\., 128\) does not match/,
    );
    assert.throws(() => mx.quantizedMatmul(mx.ones([2, 256]), wq, scales, biases, { bits: 8 }), /incompatible/);
    assert.throws(() => mx.quantizedMatmul(mx.ones([2, 256]), mx.ones([16, 32]), scales, biases), /should be uint32/);
    assert.throws(
      () =>
        mx.quantizedMatmul(
          mx.ones([2, 256]),
          mx.zeros([0, 16, 32], "uint32"),
          mx.zeros([0, 16, 4]),
          mx.zeros([0, 16, 4]),
        ),
      /empty stack of quantized matrices/,
    );
    assert.throws(() => mx.fromFp8(mx.array([1, 2]), "float32"), /must have type uint8/);
  });
  test("wrong JS types and disposed arrays", () => {
    const { wq, scales, biases } = mx.quantize(weight);
    assert.throws(() => mx.quantize("w" as never), /expected an mx Array/);
    assert.throws(
      () => mx.quantizedMatmul(mx.ones([1, 256]), wq, scales, biases, { groupSize: "64" as never }),
      /groupSize must be a number/,
    );
    const gone = mx.ones([4, 64]);
    gone.dispose();
    assert.throws(() => mx.quantize(gone), /disposed/);
  });
});
