// Reductions, softmax, scans, sorting and selection against Python MLX on the same inputs.
//
// Tolerance: exact (atol = rtol = 0) unless a test says otherwise. The oracle runs the same
// libmlx release (mlx-cpu 0.32.4) on bit-identical inputs, so the same CPU kernels give the same
// bits; any difference would mean we called a different op or passed different arguments.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { closeOracle, expectSameAsPython, randomArray, randomInts } from "../oracle/oracle.ts";

after(closeOracle);

const FLOAT_DTYPES = ["float32", "float16", "bfloat16"] as const;

// Axis choices with their Python spelling.
const AXES: [mx.Axes, string][] = [
  [undefined, "None"],
  [0, "0"],
  [-1, "-1"],
  [[0, 2], "[0, 2]"],
  [[-1, -2], "[-1, -2]"],
  [[0, 1, 2], "[0, 1, 2]"],
];

function py(axis: mx.Axes): string {
  if (axis === undefined || axis === null) return "None";
  return Array.isArray(axis) ? `[${axis.join(", ")}]` : String(axis);
}

describe("reductions over axes match Python MLX", () => {
  const reductions = ["sum", "mean", "max", "min", "logsumexp", "median"] as const;
  for (const dtype of FLOAT_DTYPES) {
    const a = randomArray([3, 4, 5], 11, { dtype });
    for (const name of reductions) {
      test(`${name} ${dtype}`, async () => {
        for (const [axis, pyAxis] of AXES) {
          for (const keepdims of [false, true]) {
            await expectSameAsPython(
              mx[name](a, { axis, keepdims }),
              `mx.${name}(a, axis=${pyAxis}, keepdims=${keepdims ? "True" : "False"})`,
              { a },
            );
          }
        }
      });
    }
    test(`prod ${dtype}`, async () => {
      // Values near 1 keep the product of 60 elements in range for float16.
      const p = randomArray([3, 4, 5], 12, { lo: 0.8, hi: 1.2, dtype });
      for (const [axis, pyAxis] of AXES) {
        await expectSameAsPython(mx.prod(p, { axis }), `mx.prod(p, axis=${pyAxis})`, { p });
      }
    });
  }

  test("integer inputs: sum, prod, max, min, mean keep MLX's result dtypes", async () => {
    const i = randomInts([4, 6], 13, -5, 6);
    for (const name of ["sum", "prod", "max", "min", "mean", "median"] as const) {
      for (const axis of [undefined, 0, -1] as const) {
        await expectSameAsPython(mx[name](i, axis), `mx.${name}(i, ${py(axis)})`, { i });
      }
    }
  });

  test("all / any over bool and numeric arrays", async () => {
    const b = mx.greater(randomArray([3, 4, 5], 14), -0.6);
    const f = mx.multiply(mx.greater(randomArray([3, 4], 15), 0), 2.5);
    for (const [axis, pyAxis] of AXES) {
      await expectSameAsPython(mx.all(b, { axis }), `mx.all(b, axis=${pyAxis})`, { b });
      await expectSameAsPython(mx.any(b, { axis, keepdims: true }), `mx.any(b, axis=${pyAxis}, keepdims=True)`, {
        b,
      });
    }
    await expectSameAsPython([mx.all(f, 1), mx.any(f, 0)], "[mx.all(f, 1), mx.any(f, 0)]", { f });
  });

  test("a bare axis or axis list is accepted in place of the options", async () => {
    const a = randomArray([3, 4], 16);
    await expectSameAsPython(
      [mx.sum(a, 1), mx.max(a, [0, 1]), mx.mean(a)],
      "[mx.sum(a, 1), mx.max(a, [0, 1]), mx.mean(a)]",
      {
        a,
      },
    );
  });

  test("minmax", async () => {
    for (const dtype of [...FLOAT_DTYPES, "int32"] as const) {
      const x = dtype === "int32" ? randomInts([3, 4, 5], 19, -9, 9) : randomArray([3, 4, 5], 19, { dtype });
      for (const [axis, pyAxis] of AXES) {
        await expectSameAsPython(
          mx.minmax(x, { axis, keepdims: true }),
          `mx.minmax(x, axis=${pyAxis}, keepdims=True)`,
          {
            x,
          },
        );
      }
    }
  });

  test("countNonzero", async () => {
    const i = randomInts([3, 4], 17, -1, 2);
    await expectSameAsPython(
      [mx.countNonzero(i), mx.countNonzero(i, { axis: 1, keepdims: true })],
      "[mx.count_nonzero(i), mx.count_nonzero(i, axis=1, keepdims=True)]",
      { i },
    );
  });

  test("sum of bool counts (int32)", async () => {
    const b = mx.greater(randomArray([5, 3], 18), 0);
    await expectSameAsPython(mx.sum(b, 0), "mx.sum(b, 0)", { b });
  });
});

describe("var and std match Python MLX", () => {
  for (const dtype of FLOAT_DTYPES) {
    const a = randomArray([4, 5, 3], 21, { dtype });
    for (const name of ["var", "std"] as const) {
      test(`${name} ${dtype}`, async () => {
        for (const [axis, pyAxis] of AXES) {
          for (const ddof of [0, 1]) {
            await expectSameAsPython(
              mx[name](a, { axis, ddof, keepdims: ddof === 1 }),
              `mx.${name}(a, axis=${pyAxis}, ddof=${ddof}, keepdims=${ddof === 1 ? "True" : "False"})`,
              { a },
            );
          }
        }
      });
    }
  }
  test("var of integers", async () => {
    const i = randomInts([6, 4], 22, -10, 10);
    await expectSameAsPython(mx.var(i, { axis: 0, ddof: 1 }), "mx.var(i, axis=0, ddof=1)", { i });
  });
});

describe("argmax and argmin match Python MLX", () => {
  for (const dtype of [...FLOAT_DTYPES, "int32"] as const) {
    test(dtype, async () => {
      const a = dtype === "int32" ? randomInts([4, 5, 6], 31, -50, 50) : randomArray([4, 5, 6], 31, { dtype });
      for (const name of ["argmax", "argmin"] as const) {
        for (const axis of [undefined, 0, 1, -1] as const) {
          for (const keepdims of [false, true]) {
            await expectSameAsPython(
              mx[name](a, { axis, keepdims }),
              `mx.${name}(a, axis=${py(axis)}, keepdims=${keepdims ? "True" : "False"})`,
              { a },
            );
          }
        }
        await expectSameAsPython(mx[name](a, 2), `mx.${name}(a, 2)`, { a });
      }
    });
  }
});

describe("softmax matches Python MLX", () => {
  for (const dtype of FLOAT_DTYPES) {
    test(dtype, async () => {
      const a = randomArray([3, 4, 6], 41, { lo: -4, hi: 4, dtype });
      for (const [axis, pyAxis] of AXES) {
        await expectSameAsPython(mx.softmax(a, { axis }), `mx.softmax(a, axis=${pyAxis})`, { a });
        await expectSameAsPython(
          mx.softmax(a, { axis, precise: true }),
          `mx.softmax(a, axis=${pyAxis}, precise=True)`,
          { a },
        );
      }
      await expectSameAsPython(mx.softmax(a, -1), "mx.softmax(a, -1)", { a });
    });
  }
  test("softmax of integers gives float32", async () => {
    const i = randomInts([2, 5], 42, -3, 3);
    await expectSameAsPython(mx.softmax(i, -1), "mx.softmax(i, -1)", { i });
  });
  test("precise softmax differs from the default in half precision (it accumulates in float32)", async () => {
    // A long row makes the float16 accumulation error visible; precise must still match Python.
    const a = randomArray([1, 4096], 43, { lo: -1, hi: 1, dtype: "float16" });
    await expectSameAsPython(mx.softmax(a, { axis: -1, precise: true }), "mx.softmax(a, -1, precise=True)", { a });
  });
});

describe("cumulative scans match Python MLX", () => {
  const scans = ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"] as const;
  for (const dtype of FLOAT_DTYPES) {
    test(dtype, async () => {
      const a = randomArray([3, 4, 5], 51, { lo: 0.7, hi: 1.3, dtype });
      for (const name of scans) {
        for (const axis of [undefined, 0, 1, -1] as const) {
          for (const reverse of [false, true]) {
            for (const inclusive of [true, false]) {
              await expectSameAsPython(
                mx[name](a, { axis, reverse, inclusive }),
                `mx.${name}(a, axis=${py(axis)}, reverse=${reverse ? "True" : "False"}, inclusive=${inclusive ? "True" : "False"})`,
                { a },
              );
            }
          }
        }
      }
    });
  }
  test("integer and bool scans; cumsum/cumprod dtype", async () => {
    const i = randomInts([4, 5], 52, -3, 4);
    const b = mx.greater(randomArray([6], 53), 0);
    await expectSameAsPython(
      [mx.cumsum(i, 1), mx.cumprod(i, { axis: 0, reverse: true }), mx.cummax(i, -1), mx.cummin(i), mx.cumsum(b)],
      "[mx.cumsum(i, 1), mx.cumprod(i, axis=0, reverse=True), mx.cummax(i, -1), mx.cummin(i), mx.cumsum(b)]",
      { i, b },
    );
    await expectSameAsPython(
      [mx.cumsum(i, { axis: 1, dtype: "float32" }), mx.cumprod(i, { dtype: "float16" })],
      "[mx.cumsum(i, axis=1, dtype=mx.float32), mx.cumprod(i, dtype=mx.float16)]",
      { i },
    );
  });
});

describe("sorting and selection match Python MLX", () => {
  for (const dtype of [...FLOAT_DTYPES, "int32"] as const) {
    const a = dtype === "int32" ? randomInts([5, 6, 7], 61, -20, 20) : randomArray([5, 6, 7], 61, { dtype });
    test(`sort and argsort ${dtype}`, async () => {
      for (const axis of [0, 1, -1, null] as const) {
        await expectSameAsPython(
          [mx.sort(a, axis), mx.argsort(a, axis)],
          `[mx.sort(a, axis=${py(axis)}), mx.argsort(a, axis=${py(axis)})]`,
          { a },
        );
      }
      // The default axis is -1.
      await expectSameAsPython([mx.sort(a), mx.argsort(a)], "[mx.sort(a), mx.argsort(a)]", { a });
    });

    test(`topk ${dtype} (the k largest, compared sorted: their order is unspecified)`, async () => {
      for (const [k, axis] of [
        [1, -1],
        [3, -1],
        [2, 0],
        [7, 2],
        [4, null],
      ] as const) {
        const ours = mx.sort(mx.topk(a, k, axis), axis === null ? -1 : axis);
        await expectSameAsPython(
          ours,
          `mx.sort(mx.topk(a, ${k}, axis=${py(axis)}), axis=${axis === null ? -1 : axis})`,
          {
            a,
          },
        );
      }
      await expectSameAsPython(mx.sort(mx.topk(a, 2)), "mx.sort(mx.topk(a, 2))", { a });
    });

    test(`partition and argpartition ${dtype}`, async () => {
      for (const [kth, axis] of [
        [0, -1],
        [3, -1],
        [-1, 0],
        [2, 1],
        [10, null],
      ] as const) {
        const part = mx.partition(a, kth, axis);
        const arg = mx.argpartition(a, kth, axis);
        // Exact: the same partition kernel runs on the same data.
        await expectSameAsPython(
          [part, arg],
          `[mx.partition(a, ${kth}, axis=${py(axis)}), mx.argpartition(a, ${kth}, axis=${py(axis)})]`,
          { a },
        );
        // And the defining property, independent of the kernel: position kth holds the sorted value.
        const axisUsed = axis === null ? 0 : axis;
        const flat = axis === null ? mx.reshape(a, [-1]) : a;
        const kthOurs = mx.take(part, kth < 0 ? kth + (flat.shape.at(axisUsed) as number) : kth, axisUsed);
        const kthSorted = mx.take(
          mx.sort(flat, axisUsed),
          kth < 0 ? kth + (flat.shape.at(axisUsed) as number) : kth,
          axisUsed,
        );
        assert.equal(mx.arrayEqual(kthOurs, kthSorted).item(), true);
      }
    });
  }
});

describe("searchsorted matches Python MLX", () => {
  test("left and right, values of any shape, float and int", async () => {
    const sorted = mx.sort(mx.concatenate([randomArray([12], 81, { lo: -2, hi: 2 }), mx.array([0.5, 0.5, 0.5])]));
    const values = mx.concatenate([randomArray([9], 82, { lo: -3, hi: 3 }), mx.array([0.5, -2, 2])]);
    const grid = mx.reshape(values, [3, 4]);
    const ints = mx.array([1, 3, 3, 3, 8, 9]);
    await expectSameAsPython(
      [
        mx.searchsorted(sorted, values),
        mx.searchsorted(sorted, grid, "right"),
        mx.searchsorted(
          ints,
          mx.array([
            [3, 0],
            [10, 8],
          ]),
        ),
        mx.searchsorted(ints, 3, "right"),
      ],
      "[mx.searchsorted(s, v), mx.searchsorted(s, g, side='right'), " +
        "mx.searchsorted(i, mx.array([[3, 0], [10, 8]])), mx.searchsorted(i, mx.array(3), side='right')]",
      { s: sorted, v: values, g: grid, i: ints },
    );
  });
  test("errors: a sequence that is not 1-D, a bad side", () => {
    assert.throws(() => mx.searchsorted(mx.zeros([2, 3]), 1), /must be 1-D but has 2 dimensions/);
    assert.throws(() => mx.searchsorted(mx.zeros([3]), 1, "middle" as never), { name: "TypeError", message: /side/ });
  });
});

describe("unique matches Python MLX", () => {
  test("values, padding, truncation, all extras; int, float, bfloat16", async () => {
    const i = randomInts([3, 5], 91, -3, 4);
    const f = mx.astype(randomInts([4, 4], 92, 0, 5), "float32");
    const h = mx.astype(f, "bfloat16");
    await expectSameAsPython(
      [mx.unique(i, 7), mx.unique(i, 9, { fillValue: -100 }), mx.unique(i, 3), mx.unique(h, 6, { fillValue: 0.5 })],
      "[mx.unique(i, 7), mx.unique(i, 9, fill_value=-100), mx.unique(i, 3), mx.unique(h, 6, fill_value=0.5)]",
      { i, h },
    );
    const all = mx.uniqueAll(f, 6, { fillValue: -1 });
    await expectSameAsPython(
      [all.values, all.index, all.inverse, all.counts],
      "mx.unique(f, 6, return_index=True, return_inverse=True, return_counts=True, fill_value=-1)",
      { f },
    );
  });
  test("errors: negative size, an empty input without a fill value", () => {
    assert.throws(() => mx.unique(mx.array([1]), -1), { name: "TypeError", message: /non-negative integer/ });
    assert.throws(() => mx.unique(mx.zeros([0]), 2), /A fill value is required/);
  });
});

describe("reduction errors", () => {
  const a = randomArray([2, 3], 71);
  test("an axis out of range: MLX's message reaches JS", () => {
    assert.throws(() => mx.sum(a, { axis: 5 }), /Invalid axis 5 for array with 2 dimensions/);
    assert.throws(() => mx.mean(a, -3), /axis -3/);
    assert.throws(() => mx.argmax(a, { axis: 2 }), /Invalid axis 2/);
    assert.throws(() => mx.cumsum(a, { axis: 4 }), /Axis 4 is out of bounds/);
    assert.throws(() => mx.sort(a, 3), /Axis 3 is out of bounds/);
    assert.throws(() => mx.softmax(a, { axis: 7 }), /Invalid axis 7/);
    assert.throws(() => mx.var(a, { axis: 9 }), /axis 9 is out of bounds/);
  });
  test("duplicate axes", () => {
    assert.throws(() => mx.sum(a, { axis: [0, 0] }), /Duplicate axes/);
  });
  test("k and kth out of range", () => {
    assert.throws(() => mx.topk(a, 4), /invalid k=4/);
    assert.throws(() => mx.topk(a, -1), /invalid k=-1/);
    assert.throws(() => mx.partition(a, 3), /invalid kth 3/);
    assert.throws(() => mx.argpartition(a, -4), /invalid kth -4/);
  });
  test("empty reductions that have no identity", () => {
    const empty = mx.zeros([0, 3]);
    assert.throws(() => mx.max(empty, 0), /Cannot max reduce over axis 0 with size 0/);
    assert.throws(() => mx.argmax(empty), /Cannot argmax reduce zero size array/);
  });
  test("wrong option types and unknown options are TypeErrors", () => {
    assert.throws(() => mx.sum(a, { axis: 1.5 }), { name: "TypeError", message: /axis must be an integer/ });
    assert.throws(() => mx.sum(a, { axis: "1" as unknown as number }), TypeError);
    assert.throws(() => mx.sum(a, { keepDims: true } as never), {
      name: "TypeError",
      message: /unknown option "keepDims"/,
    });
    assert.throws(() => mx.sum(a, "all" as never), {
      name: "TypeError",
      message: /expected an axis or an options object/,
    });
    assert.throws(() => mx.topk(a, 1.5), { name: "TypeError", message: /k must be an integer/ });
    assert.throws(() => mx.var(a, { ddof: 0.5 }), { name: "TypeError", message: /ddof must be an integer/ });
    assert.throws(() => mx.argmax(a, { axis: [0, 1] as never }), {
      name: "TypeError",
      message: /axis must be an integer or null/,
    });
    assert.throws(() => mx.sum("x" as never), { name: "TypeError", message: /expected an mx Array/ });
  });
  test("a disposed array", () => {
    const d = mx.array([1, 2, 3]);
    d.dispose();
    assert.throws(() => mx.sum(d), /disposed/);
    assert.throws(() => mx.sort(d), /disposed/);
  });
  test("the process goes on after errors", () => {
    assert.equal(mx.sum(mx.array([1, 2, 3])).item(), 6);
  });
});
