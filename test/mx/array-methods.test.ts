// Array methods (Python's mx.array methods), dtype constants and argtopk.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mx } from "mlux";

const x = mx.array(
  [
    [0.5, 1.5, 2.0],
    [3.0, 0.25, 4.0],
  ],
  "float32",
);

function same(a: mx.Array | mx.Array[], b: mx.Array | mx.Array[]): void {
  if (Array.isArray(a) || Array.isArray(b)) {
    assert.ok(Array.isArray(a) && Array.isArray(b) && a.length === b.length);
    a.forEach((part, i) => {
      same(part, (b as mx.Array[])[i] as mx.Array);
    });
    return;
  }
  assert.deepEqual(a.shape, b.shape);
  assert.equal(a.dtype, b.dtype);
  assert.deepEqual(a.tolist(), b.tolist());
}

// Each method against the mx function it stands for, with the same arguments.
const CASES: [string, unknown[], (...args: never[]) => mx.Array | mx.Array[]][] = [
  ["reshape", [[3, 2]], mx.reshape],
  ["transpose", [[1, 0]], mx.transpose],
  ["swapaxes", [0, 1], mx.swapaxes],
  ["moveaxis", [0, 1], mx.moveaxis],
  ["squeeze", [], (a: mx.Array) => mx.squeeze(mx.expandDims(a, 0))],
  ["expandDims", [1], mx.expandDims],
  ["flatten", [], mx.flatten],
  ["split", [3, 1], mx.split],
  ["astype", ["float16"], mx.astype],
  ["view", ["int32"], mx.view],
  ["index", [1, "::-1"], mx.index],
  ["take", [[2, 0], 1], mx.take],
  ["takeAlongAxis", [mx.array([[2], [0]], "int32"), 1], mx.takeAlongAxis],
  ["sum", [{ axis: 0, keepdims: true }], mx.sum],
  ["mean", [1], mx.mean],
  ["prod", [], mx.prod],
  ["max", [0], mx.max],
  ["min", [1], mx.min],
  ["all", [], mx.all],
  ["any", [1], mx.any],
  ["logsumexp", [1], mx.logsumexp],
  ["variance", [{ axis: 1, ddof: 1 }], mx.variance],
  ["std", [0], mx.std],
  ["argmax", [1], mx.argmax],
  ["argmin", [0], mx.argmin],
  ["cumsum", [1], mx.cumsum],
  ["cumprod", [0], mx.cumprod],
  ["cummax", [1], mx.cummax],
  ["cummin", [1], mx.cummin],
  ["logcumsumexp", [1], mx.logcumsumexp],
  ["softmax", [{ axis: -1, precise: true }], mx.softmax],
  ["topk", [2, 1], mx.topk],
  ["argtopk", [2, 1], mx.argtopk],
  ["abs", [], mx.abs],
  ["negative", [], mx.negative],
  ["square", [], mx.square],
  ["sqrt", [], mx.sqrt],
  ["rsqrt", [], mx.rsqrt],
  ["reciprocal", [], mx.reciprocal],
  ["exp", [], mx.exp],
  ["log", [], mx.log],
  ["log1p", [], mx.log1p],
  ["log2", [], mx.log2],
  ["log10", [], mx.log10],
  ["sin", [], mx.sin],
  ["cos", [], mx.cos],
  ["round", [1], mx.round],
  ["add", [2], mx.add],
  ["subtract", [x], mx.subtract],
  ["multiply", [0.5], mx.multiply],
  ["divide", [4], mx.divide],
  ["power", [2], mx.power],
  ["matmul", [mx.ones([3, 2])], mx.matmul],
  ["equal", [2], mx.equal],
  ["notEqual", [2], mx.notEqual],
  ["less", [2], mx.less],
  ["lessEqual", [2], mx.lessEqual],
  ["greater", [2], mx.greater],
  ["greaterEqual", [2], mx.greaterEqual],
];

describe("Array methods", () => {
  for (const [name, args, fn] of CASES) {
    test(`x.${name}(...) is mx.${name}(x, ...)`, () => {
      const method = (x as unknown as Record<string, (...a: unknown[]) => mx.Array | mx.Array[]>)[name];
      assert.equal(typeof method, "function", `Array has no method ${name}`);
      same(method?.apply(x, args) as mx.Array, (fn as (...a: unknown[]) => mx.Array)(x, ...args));
    });
  }

  test("a.at(...) updates as mx.at", () => {
    same(x.at(0, -1).set(9), mx.at(x, 0, -1).set(9));
  });

  test("a.T reverses the axes, and methods chain", () => {
    same(x.T, mx.transpose(x));
    const chained = x.reshape([3, 2]).T.sum(0).multiply(2);
    same(chained, mx.multiply(mx.sum(mx.transpose(mx.reshape(x, [3, 2])), 0), 2));
  });

  test("methods give the functions' errors, and refuse a disposed array", () => {
    assert.throws(() => x.reshape([4, 4]), /reshape/i);
    assert.throws(() => x.sum({ axes: 0 } as never), /unknown option|axes/);
    const gone = mx.array([1, 2]);
    gone.dispose();
    assert.throws(() => gone.sum(), /disposed/);
    assert.throws(() => gone.T, /disposed/);
  });
});

describe("dtype constants", () => {
  test("mx.float32 ... name every dtype, so mx.array(data, mx.float32) makes float32", () => {
    const constants = mx as unknown as Record<string, unknown>;
    for (const dtype of mx.DTYPES) assert.equal(constants[dtype], dtype);
    assert.equal(mx.array([1, 2], mx.float32).dtype, "float32");
    assert.equal(mx.array([1, 2], mx.bfloat16).dtype, "bfloat16");
  });
});

describe("argtopk", () => {
  // Indices of the k largest by a plain sort, ties broken by value only (the test data has none).
  function expected(values: number[], k: number): number[] {
    return values
      .map((v, i) => [v, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, k)
      .map(([, i]) => i);
  }

  test("orders the k largest from the largest down, along any axis", () => {
    const data = mx.random
      .permutation(60, { key: mx.random.key(3) })
      .astype("float32")
      .reshape([3, 4, 5]);
    const values = data.tolist() as number[][][];
    for (const k of [1, 3, 5]) {
      const last = data.argtopk(k).tolist() as number[][][];
      values.forEach((plane, i) => {
        plane.forEach((row, j) => {
          assert.deepEqual(last[i]?.[j], expected(row, k));
        });
      });
    }
    const middle = data.argtopk(2, 1).tolist() as number[][][];
    values.forEach((plane, i) => {
      for (let c = 0; c < 5; c++) {
        const column = plane.map((row) => row[c] as number);
        assert.deepEqual(
          middle[i]?.map((row) => row[c]),
          expected(column, 2),
        );
      }
    });
    const flat = data.argtopk(4, null);
    assert.equal(flat.dtype, "uint32");
    assert.deepEqual(flat.tolist(), expected(values.flat(2), 4));
  });

  test("values come out with takeAlongAxis; unsigned and NaN inputs", () => {
    const logits = mx.array([[0.1, 2.5, -1, 2.4]], "float16");
    const top = mx.argtopk(logits, 2);
    assert.deepEqual(top.tolist(), [[1, 3]]);
    assert.deepEqual(mx.takeAlongAxis(logits, top, -1).astype("float32").tolist(), [[2.5, 2.400390625]]);
    assert.deepEqual(mx.argtopk(mx.array([7, 200, 3], "uint8"), 2).tolist(), [1, 0]);
    assert.deepEqual(mx.argtopk(mx.array([1, Number.NaN, 3], "float32"), 1).tolist(), [1]);
  });

  test("bad k or axis fail with the allowed range", () => {
    assert.throws(() => x.argtopk(0), /k must be an integer from 1 to 3/);
    assert.throws(() => x.argtopk(4), /k must be an integer from 1 to 3/);
    assert.throws(() => x.argtopk(1.5), /k must be an integer/);
    assert.throws(() => x.argtopk(1, 2), /axis 2 is out of range/);
    assert.throws(() => mx.argtopk([1, 2] as never, 1), /expected an mx.Array/);
  });
});
