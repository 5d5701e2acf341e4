import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { closeOracle, expectSameAsPython, oracle, randomArray } from "../oracle/oracle.ts";

after(closeOracle);

describe("arrays from JS data", () => {
  test("nested lists infer dtype and shape as Python does", async () => {
    await expectSameAsPython(
      mx.array([
        [1, 2, 3],
        [4, 5, 6],
      ]),
      "mx.array([[1, 2, 3], [4, 5, 6]])",
    );
    await expectSameAsPython(
      mx.array([
        [1.5, 2],
        [3, 4],
      ]),
      "mx.array([[1.5, 2], [3, 4]])",
    );
    await expectSameAsPython(mx.array([true, false]), "mx.array([True, False])");
    await expectSameAsPython(mx.array(3), "mx.array(3)");
    await expectSameAsPython(mx.array(2.5), "mx.array(2.5)");
    await expectSameAsPython(mx.array([]), "mx.array([])");
  });

  test("an explicit dtype converts", async () => {
    for (const dtype of ["float16", "bfloat16", "int8", "int64", "float64", "bool"] as const) {
      await expectSameAsPython(
        mx.array(
          [
            [0.25, -1.5],
            [3.75, 100],
          ],
          dtype,
        ),
        `mx.array([[0.25, -1.5], [3.75, 100]], mx.${dtype === "bool" ? "bool_" : dtype})`,
      );
    }
  });

  test("an integer dtype takes every value it can hold and refuses the others", async () => {
    // Fractions truncate toward zero, as MLX's cast does.
    await expectSameAsPython(
      mx.array(
        [
          [0.25, 1.5],
          [3.75, 255],
        ],
        "uint8",
      ),
      "mx.array([[0.25, 1.5], [3.75, 255]], mx.uint8)",
    );
    assert.deepEqual(mx.array([4294967295], "uint32").tolist(), [4294967295]);
    assert.deepEqual(mx.array([-(2 ** 31), 2 ** 31 - 1], "int32").tolist(), [-(2 ** 31), 2 ** 31 - 1]);
    assert.deepEqual(mx.array([2 ** 53], "int64").tolist(), [2n ** 53n]);
    assert.deepEqual(mx.array([2n ** 64n - 1n], "uint64").tolist(), [2n ** 64n - 1n]);
    assert.throws(() => mx.array([2 ** 31], "int32"), /element 0 \(2147483648\) is out of range for int32/);
    assert.throws(() => mx.array([1, 4294967296], "uint32"), /element 1 \(4294967296\) is out of range for uint32/);
    assert.throws(() => mx.array([-1.5], "uint8"), /out of range for uint8 \(0 to 255\)/);
    assert.throws(() => mx.array([Number.NaN], "int16"), /element 0 \(number NaN\) cannot be stored as int16/);
    assert.throws(() => mx.array([2n ** 63n]), /out of range for int64/);
    // Without a dtype, an integer past int32 makes a float32 array instead of wrapping.
    assert.equal(mx.array([2 ** 31]).dtype, "float32");
    assert.deepEqual(mx.array([2 ** 31]).tolist(), [2 ** 31]);
  });

  test("typed arrays of every kind", async () => {
    const cases: [mx.AnyTypedArray, string][] = [
      [new Float32Array([1.5, -2]), "float32"],
      [new Float64Array([1.5, -2]), "float32"],
      [new Int8Array([-3, 4]), "int8"],
      [new Int16Array([-3, 4]), "int16"],
      [new Int32Array([-3, 4]), "int32"],
      [new BigInt64Array([-3n, 2n ** 40n]), "int64"],
      [new Uint8Array([3, 250]), "uint8"],
      [new Uint16Array([3, 65000]), "uint16"],
      [new Uint32Array([3, 4000000000]), "uint32"],
      [new BigUint64Array([3n, 2n ** 63n]), "uint64"],
    ];
    for (const [data, dtype] of cases) {
      const a = mx.array(data);
      assert.equal(a.dtype, dtype);
      if (!(data instanceof Float64Array)) assert.deepEqual(a.toTypedArray(), data);
      const values = Array.from(data as ArrayLike<number | bigint>, String).join(", ");
      const numpyType = data.constructor.name.replace("Array", "").replace("Big", "").toLowerCase();
      await expectSameAsPython(a, `mx.array(np.array([${values}], np.${numpyType}))`);
    }
  });

  test("float16 and bfloat16 from raw bits", async () => {
    const bits = new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x0001]); // 1, -2, inf, smallest subnormal
    const h = mx.fromRaw(bits, [4], "float16");
    await expectSameAsPython(h, "mx.array(np.array([0x3c00, 0xc000, 0x7c00, 0x0001], np.uint16)).view(mx.float16)");
    assert.deepEqual(h.toTypedArray(), bits);
    const bf = mx.fromRaw(new Uint16Array([0x3f80, 0x4049]), [2, 1], "bfloat16");
    assert.deepEqual(bf.tolist(), [[1], [3.140625]]);
    assert.throws(() => mx.fromRaw(bits, [3], "float16"), /8 bytes given, but shape \[3\] of float16 needs 6/);
  });

  test("bad data is rejected with a reason", () => {
    assert.throws(() => mx.array([[1, 2], [3]]), /ragged nested array: data\[1\] should be a list of length 2/);
    assert.throws(() => mx.array([1, "x"] as unknown as number[]), /element 1 is string x/);
    assert.throws(() => mx.array([1, 2], "float8" as mx.DType), /unknown dtype "float8"/);
    assert.throws(() => mx.array([1n, 2] as unknown as bigint[]), /cannot mix bigint and number/);
  });
});

describe("constructors match Python MLX", () => {
  test("zeros, ones, full, eye, identity, tri", async () => {
    await expectSameAsPython(mx.zeros([2, 3]), "mx.zeros([2, 3])");
    await expectSameAsPython(mx.ones([2], "int32"), "mx.ones([2], mx.int32)");
    await expectSameAsPython(mx.full([2, 2], 7), "mx.full([2, 2], 7)");
    await expectSameAsPython(mx.full([2, 2], 0.5, "bfloat16"), "mx.full([2, 2], 0.5, mx.bfloat16)");
    const row = randomArray([3], 1);
    await expectSameAsPython(mx.full([2, 3], row), "mx.full([2, 3], r)", { r: row });
    await expectSameAsPython(mx.eye(3, 4, 1), "mx.eye(3, 4, 1)");
    await expectSameAsPython(mx.identity(3, "float16"), "mx.identity(3, mx.float16)");
    await expectSameAsPython(mx.tri(3, 5, -1), "mx.tri(3, 5, -1)");
    await expectSameAsPython(mx.zerosLike(row), "mx.zeros_like(r)", { r: row });
    await expectSameAsPython(mx.onesLike(row), "mx.ones_like(r)", { r: row });
  });

  test("arange and linspace", async () => {
    await expectSameAsPython(mx.arange(5), "mx.arange(5)");
    await expectSameAsPython(mx.arange(2, 11, 3), "mx.arange(2, 11, 3)");
    await expectSameAsPython(mx.arange(0, 1, 0.25), "mx.arange(0, 1, 0.25)");
    await expectSameAsPython(mx.arange(10, 0, -2), "mx.arange(10, 0, -2)");
    await expectSameAsPython(mx.arange(4, undefined, undefined, "float16"), "mx.arange(4, dtype=mx.float16)");
    await expectSameAsPython(mx.linspace(0, 1, 5), "mx.linspace(0, 1, 5)");
    assert.throws(() => mx.arange(0, 10, 0), /step/i);
    assert.throws(() => mx.linspace(0, 1, 5, { dtype: "int32" }), /floating dtype/);
  });

  test("astype and view", async () => {
    const a = randomArray([2, 4], 3, { lo: -100, hi: 100 });
    for (const dtype of ["float16", "bfloat16", "int32", "uint8", "bool"] as const) {
      await expectSameAsPython(mx.astype(a, dtype), `a.astype(mx.${dtype === "bool" ? "bool_" : dtype})`, { a });
    }
    await expectSameAsPython(mx.view(a, "int32"), "a.view(mx.int32)", { a });
    await expectSameAsPython(mx.view(a, "uint16"), "a.view(mx.uint16)", { a });
  });
});

describe("reading data back", () => {
  test("item, tolist, toTypedArray and toString", async () => {
    assert.equal(mx.array(2.5).item(), 2.5);
    assert.equal(mx.array(7, "int64").item(), 7n);
    assert.equal(mx.array(true).item(), true);
    assert.equal(mx.array(0.1, "bfloat16").item(), 0.10009765625);
    assert.deepEqual(
      mx
        .array([
          [1, 2],
          [3, 4],
        ])
        .tolist(),
      [
        [1, 2],
        [3, 4],
      ],
    );
    assert.deepEqual(mx.array([true, false]).tolist(), [true, false]);
    assert.deepEqual(mx.zeros([2, 0]).tolist(), [[], []]);
    assert.throws(() => mx.zeros([2]).item(), /item\(\) needs an array with one element; this one has shape \[2\]/);
    const [expected] = await oracle().run("result = mx.array([1, 2], mx.int32)");
    assert.equal(mx.array([1, 2]).toString(), expected?.toString());
    assert.equal(mx.array([1, 2]).toString(), "array([1, 2], dtype=int32)");
  });

  test("a zero-copy view shares MLX's memory and outlives the Array", () => {
    const a = mx.arange(6, undefined, undefined, "float32");
    const view = a.toTypedArray({ copy: false }) as Float32Array;
    a.dispose();
    assert.deepEqual(Array.from(view), [0, 1, 2, 3, 4, 5]);
  });

  test("data of a transposed (non-contiguous) array is in row-major order", () => {
    const t = mx.transpose(mx.reshape(mx.arange(6), [2, 3]));
    assert.deepEqual(t.tolist(), [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    assert.deepEqual(Array.from(t.toTypedArray({ copy: false }) as Int32Array), [0, 3, 1, 4, 2, 5]);
  });

  test("metadata", () => {
    const a = mx.zeros([2, 3, 4], "float16");
    assert.deepEqual(a.shape, [2, 3, 4]);
    assert.equal(a.ndim, 3);
    assert.equal(a.size, 24);
    assert.equal(a.nbytes, 48);
    assert.equal(a.dtype, "float16");
  });
});
