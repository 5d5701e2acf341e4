import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { closeOracle, expectSameAsPython, randomArray } from "../oracle/oracle.ts";

after(closeOracle);

// Every comparison here is exact (tolerance 0): the same key drives the same threefry kernel and
// the same transforms in Python MLX, so the numbers must be bit-identical.
const k = mx.random.key(7);

describe("keys match Python MLX", () => {
  test("key(seed) for small, large and 64-bit seeds", async () => {
    await expectSameAsPython(mx.random.key(7), "mx.random.key(7)");
    await expectSameAsPython(mx.random.key(0), "mx.random.key(0)");
    await expectSameAsPython(mx.random.key(2 ** 40 + 3), `mx.random.key(${2 ** 40 + 3})`);
    await expectSameAsPython(mx.random.key(2n ** 64n - 1n), `mx.random.key(${2n ** 64n - 1n})`);
  });
  test("split into 2 (default) and 5 keys", async () => {
    await expectSameAsPython(mx.random.split(k), "mx.random.split(mx.random.key(7))");
    await expectSameAsPython(mx.random.split(k, 5), "mx.random.split(mx.random.key(7), 5)");
  });
  test("a split key drives a sampler", async () => {
    const sub = mx.split(mx.random.split(k, 3), 3)[1] as mx.Array;
    await expectSameAsPython(
      mx.random.normal([4], { key: mx.reshape(sub, [2]) }),
      "mx.random.normal((4,), key=mx.random.split(mx.random.key(7), 3)[1])",
    );
  });
});

describe("samplers are bit-identical to Python MLX with the same key", () => {
  const key = "key=mx.random.key(7)";
  for (const dtype of ["float32", "float16", "bfloat16", "float64"] as const) {
    test(`normal ${dtype}`, async () => {
      await expectSameAsPython(
        mx.random.normal([3, 4], { dtype, key: k }),
        `mx.random.normal((3, 4), dtype=mx.${dtype}, ${key})`,
      );
    });
  }
  test("normal: a scalar by default, odd sizes, complex64", async () => {
    await expectSameAsPython(mx.random.normal([], { key: k }), `mx.random.normal(${key})`);
    await expectSameAsPython(mx.random.normal([2, 3, 5], { key: k }), `mx.random.normal((2, 3, 5), ${key})`);
    await expectSameAsPython(
      mx.random.normal([5], { dtype: "complex64", key: k }),
      `mx.random.normal((5,), dtype=mx.complex64, ${key})`,
    );
  });
  test("normal with loc and scale, numbers and arrays", async () => {
    await expectSameAsPython(
      mx.random.normal([3, 4], { loc: 2.5, scale: 3, key: k }),
      `mx.random.normal((3, 4), loc=2.5, scale=3.0, ${key})`,
    );
    await expectSameAsPython(
      mx.random.normal([3], { loc: -1.25, scale: 0.5, dtype: "bfloat16", key: k }),
      `mx.random.normal((3,), dtype=mx.bfloat16, loc=-1.25, scale=0.5, ${key})`,
    );
    const loc = randomArray([4], 1);
    const scale = randomArray([3, 1], 2, { lo: 0.5, hi: 2 });
    await expectSameAsPython(
      mx.random.normal([3, 4], { loc, scale, key: k }),
      `mx.random.normal((3, 4), loc=loc, scale=scale, ${key})`,
      { loc, scale },
    );
  });
  for (const dtype of ["float32", "float16", "bfloat16"] as const) {
    test(`uniform ${dtype}`, async () => {
      await expectSameAsPython(
        mx.random.uniform(-2, 3, [4, 5], { dtype, key: k }),
        `mx.random.uniform(-2.0, 3.0, (4, 5), dtype=mx.${dtype}, ${key})`,
      );
    });
  }
  test("uniform: defaults [0, 1) and a scalar; array bounds broadcast", async () => {
    await expectSameAsPython(mx.random.uniform(0, 1, [], { key: k }), `mx.random.uniform(${key})`);
    await expectSameAsPython(
      mx.random.uniform(undefined, undefined, [6], { key: k }),
      `mx.random.uniform(shape=(6,), ${key})`,
    );
    const low = randomArray([3, 1], 3);
    const high = mx.add(randomArray([4], 4, { lo: 1, hi: 2 }), 1);
    await expectSameAsPython(
      mx.random.uniform(low, high, [2, 3, 4], { key: k }),
      `mx.random.uniform(low, high, (2, 3, 4), ${key})`,
      { low, high },
    );
  });
  for (const dtype of ["int32", "int64", "uint8", "int16", "uint32"] as const) {
    test(`randint ${dtype}`, async () => {
      await expectSameAsPython(
        mx.random.randint(0, 100, [5, 3], { dtype, key: k }),
        `mx.random.randint(0, 100, (5, 3), dtype=mx.${dtype}, ${key})`,
      );
    });
  }
  test("randint with negative and array bounds", async () => {
    await expectSameAsPython(mx.random.randint(-50, 50, [20], { key: k }), `mx.random.randint(-50, 50, (20,), ${key})`);
    const high = mx.array([5, 10, 1000]);
    await expectSameAsPython(
      mx.random.randint(0, high, [2, 3], { key: k }),
      `mx.random.randint(0, high, (2, 3), ${key})`,
      {
        high,
      },
    );
  });
  test("bernoulli with a number, an array of p, and no shape", async () => {
    await expectSameAsPython(mx.random.bernoulli(0.3, [4, 6], { key: k }), `mx.random.bernoulli(0.3, (4, 6), ${key})`);
    await expectSameAsPython(
      mx.random.bernoulli(undefined, [10], { key: k }),
      `mx.random.bernoulli(shape=(10,), ${key})`,
    );
    const p = randomArray([2, 5], 5, { lo: 0, hi: 1 });
    await expectSameAsPython(mx.random.bernoulli(p, undefined, { key: k }), `mx.random.bernoulli(p, ${key})`, { p });
    await expectSameAsPython(
      mx.random.bernoulli(p, [3, 2, 5], { key: k }),
      `mx.random.bernoulli(p, (3, 2, 5), ${key})`,
      { p },
    );
  });
  test("truncatedNormal with a shape, with array bounds, and bfloat16", async () => {
    await expectSameAsPython(
      mx.random.truncatedNormal(-1, 2, [3, 4], { key: k }),
      `mx.random.truncated_normal(-1.0, 2.0, (3, 4), ${key})`,
    );
    const lower = mx.array([-2, -1, 0], "float32");
    await expectSameAsPython(
      mx.random.truncatedNormal(lower, 1.5, undefined, { key: k }),
      `mx.random.truncated_normal(lower, 1.5, ${key})`,
      { lower },
    );
    await expectSameAsPython(
      mx.random.truncatedNormal(-0.5, 0.5, [6], { dtype: "bfloat16", key: k }),
      `mx.random.truncated_normal(-0.5, 0.5, (6,), dtype=mx.bfloat16, ${key})`,
    );
  });
  test("gumbel", async () => {
    await expectSameAsPython(mx.random.gumbel([3, 4], { key: k }), `mx.random.gumbel((3, 4), ${key})`);
    await expectSameAsPython(
      mx.random.gumbel([5], { dtype: "float16", key: k }),
      `mx.random.gumbel((5,), dtype=mx.float16, ${key})`,
    );
  });
  test("laplace", async () => {
    await expectSameAsPython(mx.random.laplace([3, 4], { key: k }), `mx.random.laplace((3, 4), ${key})`);
    await expectSameAsPython(
      mx.random.laplace([5], { loc: 1.5, scale: 0.25, dtype: "bfloat16", key: k }),
      `mx.random.laplace((5,), dtype=mx.bfloat16, loc=1.5, scale=0.25, ${key})`,
    );
  });
  test("categorical: default axis, another axis, numSamples, shape", async () => {
    const logits = randomArray([4, 6], 6, { lo: -3, hi: 3 });
    const inputs = { logits };
    await expectSameAsPython(
      mx.random.categorical(logits, { key: k }),
      `mx.random.categorical(logits, ${key})`,
      inputs,
    );
    await expectSameAsPython(
      mx.random.categorical(logits, { axis: 0, key: k }),
      `mx.random.categorical(logits, axis=0, ${key})`,
      inputs,
    );
    await expectSameAsPython(
      mx.random.categorical(logits, { numSamples: 7, key: k }),
      `mx.random.categorical(logits, num_samples=7, ${key})`,
      inputs,
    );
    await expectSameAsPython(
      mx.random.categorical(logits, { shape: [3, 4], key: k }),
      `mx.random.categorical(logits, shape=(3, 4), ${key})`,
      inputs,
    );
  });
  test("multivariateNormal", async () => {
    const mean = mx.array([1, -1, 0.5], "float32");
    const cov = mx.array(
      [
        [2, 0.5, 0],
        [0.5, 1, 0.25],
        [0, 0.25, 0.5],
      ],
      "float32",
    );
    // The same normal draws go through an SVD of cov and a matmul; our fp32 matmul runs on
    // OpenBLAS and Python's on MLX's bundled BLAS, which round differently by an ulp or so.
    await expectSameAsPython(
      mx.random.multivariateNormal(mean, cov, [4], { key: k }),
      `mx.random.multivariate_normal(mean, cov, (4,), ${key})`,
      { mean, cov },
      { atol: 1e-6, rtol: 1e-6 },
    );
  });
  test("permutation of arange(n) and of an array along an axis", async () => {
    await expectSameAsPython(mx.random.permutation(10, { key: k }), `mx.random.permutation(10, ${key})`);
    const x = mx.reshape(mx.arange(12), [3, 4]);
    await expectSameAsPython(mx.random.permutation(x, { key: k }), `mx.random.permutation(x, ${key})`, { x });
    await expectSameAsPython(
      mx.random.permutation(x, { axis: -1, key: k }),
      `mx.random.permutation(x, axis=-1, ${key})`,
      { x },
    );
  });
});

describe("the global key sequence", () => {
  test("seed() then keyless draws match Python's seeded draws", async () => {
    mx.random.seed(3);
    const a = mx.random.normal([4]);
    const b = mx.random.uniform(0, 1, [2, 2]);
    const c = mx.random.randint(0, 10, [5]);
    await expectSameAsPython(
      [a, b, c],
      "mx.random.seed(3)\nresult = [mx.random.normal((4,)), mx.random.uniform(shape=(2, 2)), mx.random.randint(0, 10, (5,))]",
    );
  });
  test("re-seeding repeats the sequence; consecutive draws differ", () => {
    mx.random.seed(11);
    const first = mx.random.normal([8]).tolist();
    const second = mx.random.normal([8]).tolist();
    mx.random.seed(11);
    assert.deepEqual(mx.random.normal([8]).tolist(), first);
    assert.notDeepEqual(first, second);
  });
  test("the same key gives the same numbers; another key others", () => {
    assert.deepEqual(mx.random.normal([6], { key: k }).tolist(), mx.random.normal([6], { key: k }).tolist());
    assert.notDeepEqual(
      mx.random.normal([6], { key: k }).tolist(),
      mx.random.normal([6], { key: mx.random.key(8) }).tolist(),
    );
  });
  test("samples have the moments they should (a loose check of the parameters' meaning)", () => {
    const x = mx.random.normal([20000], { loc: 3, scale: 2, key: mx.random.key(1) }).toTypedArray() as Float32Array;
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length);
    // 20000 samples: the standard error of the mean is 2/sqrt(20000) ~ 0.014; allow 5 of them.
    assert.ok(Math.abs(mean - 3) < 0.07, `mean ${mean}`);
    assert.ok(Math.abs(std - 2) < 0.07, `std ${std}`);
  });
});

describe("bad input raises a clear Error", () => {
  test("keys of the wrong dtype or shape", () => {
    assert.throws(() => mx.random.normal([3], { key: mx.zeros([2]) }), /Expected key type uint32 but received float32/);
    assert.throws(() => mx.random.normal([3], { key: mx.zeros([3], "uint32") }), /Expected key shape \(2\)/);
    assert.throws(() => mx.random.split(mx.zeros([5])), /Expected key type uint32/);
    assert.throws(
      () => mx.random.normal([3], { key: [1, 2] as unknown as mx.Array }),
      /key must be an Array from mx.random.key\(\), got a JS array/,
    );
  });
  test("seeds that are negative, fractional or too large", () => {
    assert.throws(() => mx.random.key(-1), /seed must be a non-negative integer/);
    assert.throws(() => mx.random.seed(1.5), /seed must be a non-negative integer/);
    assert.throws(() => mx.random.key(2n ** 64n), /seed must be an integer in \[0, 2\^64\)/);
    assert.throws(() => mx.random.key("7" as unknown as number), /seed must be a non-negative integer/);
  });
  test("negative shapes and split counts", () => {
    assert.throws(() => mx.random.normal([-3], { key: k }), /Negative dimensions not allowed/);
    assert.throws(() => mx.random.uniform(0, 1, [2, -1], { key: k }), /Negative dimensions not allowed/);
    assert.throws(() => mx.random.split(k, -2), /Negative dimensions not allowed/);
    assert.throws(() => mx.random.normal([1.5]), /shape must hold only integers/);
  });
  test("dtypes a sampler cannot produce", () => {
    assert.throws(
      () => mx.random.randint(0, 5, [4], { dtype: "float32", key: k }),
      /randint only accepts integer dtypes/,
    );
    assert.throws(() => mx.random.uniform(0, 1, [3], { dtype: "int32", key: k }), /real floating point type/);
    assert.throws(() => mx.random.normal([3], { dtype: "int32", key: k }), /Only floating point and complex64/);
    assert.throws(() => mx.random.laplace([3], { dtype: "int32", key: k }), /Only real floating point types/);
    assert.throws(() => mx.random.normal([3], { dtype: "float8" as mx.DType }), /unknown dtype "float8"/);
  });
  test("bounds that do not broadcast to the shape", () => {
    assert.throws(() => mx.random.uniform(mx.zeros([3]), 1, [4], { key: k }), /cannot be broadcast/);
    assert.throws(() => mx.random.bernoulli(mx.ones([3]), [4], { key: k }), /cannot be broadcast/);
  });
  test("categorical: bad axis, numSamples < 1, both shape and numSamples, scalar logits", () => {
    const logits = mx.zeros([3, 4]);
    assert.throws(() => mx.random.categorical(logits, { axis: 5, key: k }), /Invalid axis 5/);
    assert.throws(() => mx.random.categorical(logits, { numSamples: 0, key: k }), /numSamples must be at least 1/);
    assert.throws(
      () => mx.random.categorical(logits, { numSamples: 2, shape: [3], key: k }),
      /at most one of shape and numSamples/,
    );
    assert.throws(() => mx.random.categorical(mx.array(1), { key: k }), /Invalid axis -1 for logits with 0 dimensions/);
  });
  test("permutation: bad axis (guarded; MLX says only 'SmallVector out of range'), a scalar, a negative length", () => {
    assert.throws(
      () => mx.random.permutation(mx.zeros([3, 4]), { axis: 2, key: k }),
      /axis 2 is out of range for an array with 2/,
    );
    assert.throws(() => mx.random.permutation(mx.array(2), { key: k }), /axis 0 is out of range for an array with 0/);
    assert.throws(() => mx.random.permutation(-3, { key: k }), /length must be non-negative/);
    assert.throws(() => mx.random.permutation("x" as unknown as number), /takes an integer or an Array, got string x/);
  });
  test("multivariateNormal with incompatible shapes or a non-float32 dtype", () => {
    assert.throws(() => mx.random.multivariateNormal(mx.zeros([3]), mx.eye(2), [], { key: k }), /compatible shapes/);
    assert.throws(
      () => mx.random.multivariateNormal(mx.zeros([2]), mx.eye(2), [], { dtype: "float16", key: k }),
      /dtype must be float32/,
    );
  });
  test("a sample larger than this machine's memory is refused before MLX runs (its CPU backend segfaults)", () => {
    const tooBig = /\[random\] a sample of shape \(65536,65536,65536\) needs .* more than this machine's memory/;
    assert.throws(() => mx.random.normal([65536, 65536, 65536], { key: k }), tooBig);
    assert.throws(() => mx.random.uniform(0, 1, [65536, 65536, 65536], { key: k }), tooBig);
    assert.throws(() => mx.random.randint(0, 9, [65536, 65536, 65536], { key: k }), tooBig);
    assert.throws(() => mx.random.bernoulli(0.5, [65536, 65536, 65536], { key: k }), tooBig);
    assert.throws(() => mx.random.gumbel([65536, 65536, 65536], { key: k }), tooBig);
    // Categorical draws noise for every class: 2^20 classes x 2^20 samples.
    assert.throws(
      () => mx.random.categorical(mx.zeros([1, 2 ** 20]), { numSamples: 2 ** 20, key: k }),
      /needs .* more than this machine's memory/,
    );
  });

  test("the process goes on after the errors", () => {
    assert.deepEqual(mx.random.normal([2], { key: k }).shape, [2]);
  });
});
