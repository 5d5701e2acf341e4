// Indexing and functional updates against Python MLX's a[...], a[...] = v and a.at[...].
//
// Tolerance: exact everywhere. Indexing only moves elements; the update ops (add, multiply, ...)
// run the same libmlx kernels as Python on bit-identical inputs.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { closeOracle, expectSameAsPython, randomArray, randomInts, rng } from "../oracle/oracle.ts";

after(closeOracle);

const a = randomArray([4, 5, 6], 1);
const i0 = mx.array([0, 2, -1, 1]);
const i1 = mx.array([[1], [-2], [3]]);
const i2 = mx.array([4, 0], "uint32");
const i3 = mx.array([3, -4], "int64");
const scalarIndex = mx.array(2);
const emptyIndex = mx.zeros([0], "int32");

// Each case: Python's index expression, and ours.
const READ_CASES: [string, mx.Index[]][] = [
  ["1", [1]],
  ["-1", [-1]],
  ["1, 2", [1, 2]],
  ["1, 2, 3", [1, 2, 3]],
  ["-4, -5, -6", [-4, -5, -6]],
  [":", [":"]],
  ["1:", ["1:"]],
  [":-1", [":-1"]],
  ["::-1", ["::-1"]],
  ["-3:", ["-3:"]],
  ["1:3, ::2, 5:0:-2", ["1:3", "::2", "5:0:-2"]],
  ["::-2, -2::-1", ["::-2", "-2::-1"]],
  ["10:20", ["10:20"]],
  ["-10:2", ["-10:2"]],
  ["3:1", ["3:1"]],
  ["4:-6:-1", ["4:-6:-1"]],
  ["1:, ::-2, None", ["1:", "::-2", null]],
  ["None", [null]],
  ["None, 1, None, :, None", [null, 1, null, ":", null]],
  ["...", ["..."]],
  ["..., 1", ["...", 1]],
  ["..., None", ["...", null]],
  ["1, ...", [1, "..."]],
  ["None, ..., ::-1", [null, "...", "::-1"]],
  ["1, ..., 2", [1, "...", 2]],
  ["0:4:3, ..., 1:2", [{ start: 0, stop: 4, step: 3 }, "...", { start: 1, stop: 2 }]],
  ["::-1, :, 1", [{ step: -1 }, {}, 1]],
  ["i0", [i0]],
  ["i0, 1", [i0, 1]],
  ["1, i0", [1, i0]],
  [":, i0", [":", i0]],
  [":, :, i0", [":", ":", i0]],
  ["i0, :, 2", [i0, ":", 2]],
  ["i0, 1:3, i0", [i0, "1:3", i0]],
  ["i1, i0", [i1, i0]],
  [":, i1, i0", [":", i1, i0]],
  ["i1, :, i0", [i1, ":", i0]],
  ["i0, None, i0", [i0, null, i0]],
  ["None, i0, i0", [null, i0, i0]],
  ["i0, i0, None", [i0, i0, null]],
  ["1:, i1, None, ::-1", ["1:", i1, null, "::-1"]],
  ["..., i2", ["...", i2]],
  ["i3, ..., i2", [i3, "...", i2]],
  ["si", [scalarIndex]],
  ["si, :, si", [scalarIndex, ":", scalarIndex]],
  ["ei", [emptyIndex]],
  [":, ei, 1", [":", emptyIndex, 1]],
  [
    "mx.array([[0, 1], [2, 3]]), mx.array([1, 0])",
    [
      [
        [0, 1],
        [2, 3],
      ],
      [1, 0],
    ],
  ],
  ["()", []],
  ["mx.array([], dtype=mx.int32), 1", [[], 1]],
  // An ellipsis standing for no axes does not separate index arrays in MLX (NumPy says it does).
  ["1, ..., i2, 3", [1, "...", i2, 3]],
  ["1:3, 2, ..., i2", ["1:3", 2, "...", i2]],
];

const inputs = { a, i0, i1, i2, i3, si: scalarIndex, ei: emptyIndex };

describe("mx.index matches Python a[...]", () => {
  for (const [code, indices] of READ_CASES) {
    test(`a[${code}]`, async () => {
      await expectSameAsPython(mx.index(a, ...indices), `a[${code}]`, inputs);
    });
  }

  test("other dtypes: float16, bfloat16, int32, bool", async () => {
    const h = mx.astype(a, "float16");
    const b = mx.astype(a, "bfloat16");
    const n = randomInts([4, 5, 6], 2, -100, 100);
    const q = mx.greater(a, 0);
    for (const x of [h, b, n, q]) {
      await expectSameAsPython(
        [mx.index(x, "::-1", i0, null), mx.index(x, 1, "...", i2), mx.index(x, -1, "2:")],
        "[x[::-1, i0, None], x[1, ..., i2], x[-1, 2:]]",
        { x, i0, i2 },
      );
    }
  });

  test("a 0-d array: ellipsis and new axes", async () => {
    const s = mx.array(3.5);
    await expectSameAsPython([mx.index(s, "..."), mx.index(s, null), mx.index(s)], "[s[...], s[None], s[()]]", { s });
  });

  test("empty axes", async () => {
    const e = mx.zeros([0, 3]);
    await expectSameAsPython([mx.index(e, "::-1"), mx.index(e, ":", 1)], "[e[::-1], e[:, 1]]", { e });
  });

  test("mx.newaxis and mx.ellipsis are null and '...'", async () => {
    await expectSameAsPython(mx.index(a, mx.newaxis, mx.ellipsis, 0), "a[None, ..., 0]", { a });
  });

  test("editing one position of an activation (the hook use case)", async () => {
    const act = randomArray([1, 7, 8], 3);
    const patched = mx.at(act, 0, 3).set(mx.index(act, 0, 5));
    await expectSameAsPython(patched, "act[0, 3] = act[0, 5]\nresult = act", { act });
    const zeroed = mx.at(act, "...", -1, "2:4").set(0);
    await expectSameAsPython(zeroed, "act[..., -1, 2:4] = 0\nresult = act", { act });
  });
});

// Each case: Python's index, ours, and the shape of the value to write.
const WRITE_CASES: [string, mx.Index[], number[]][] = [
  ["1", [1], [6]],
  ["-1, 2", [-1, 2], []],
  ["1:3, 0", ["1:3", 0], [2, 6]],
  ["::-2, 1", ["::-2", 1], [1, 6]],
  ["::2, ::-3, 1:5:2", ["::2", "::-3", "1:5:2"], [2, 2, 2]],
  ["4:-6:-1", ["4:-6:-1"], [5, 6]],
  ["None, 1:3", [null, "1:3"], [1, 2, 5, 6]],
  ["..., None, 2", ["...", null, 2], [4, 5, 1]],
  ["...", ["..."], [6]],
  ["i0", [i0], [4, 5, 6]],
  ["i0, 2", [i0, 2], [4, 6]],
  [":, i0", [":", i0], [4, 4, 6]],
  ["1:3, i0, ::-2", ["1:3", i0, "::-2"], [2, 4, 3]],
  ["i0, :, 2", [i0, ":", 2], [4, 5]],
  ["1:, i1, None, ::-1", ["1:", i1, null, "::-1"], [3, 3, 1, 1, 6]],
  ["i1, i0", [i1, i0], [3, 4, 6]],
  ["i0, None, i0", [i0, null, i0], [4, 1, 6]],
  ["2:0:-1, i2, ::-2", ["2:0:-1", i2, "::-2"], [2, 2, 3]],
  ["si, ..., si", [scalarIndex, "...", scalarIndex], [5]],
  ["1:3, 2, ..., i2", ["1:3", 2, "...", i2], [2, 2]],
];

describe("mx.at(...).set matches Python a[...] = v", () => {
  for (const [code, indices, valueShape] of WRITE_CASES) {
    test(`a[${code}] = v with v of shape [${valueShape}]`, async () => {
      const v = randomArray(valueShape, 5);
      await expectSameAsPython(mx.at(a, ...indices).set(v), `a[${code}] = v\nresult = a`, { ...inputs, v });
    });
  }

  test("a scalar value, broadcast; the source is left unchanged", async () => {
    const before = mx.copy(a);
    await expectSameAsPython(mx.at(a, "1:3", i0).set(7), "a[1:3, i0] = 7\nresult = a", inputs);
    assert.equal(mx.arrayEqual(a, before).item(), true);
  });

  test("values are cast to the array's dtype (int32, float16, bfloat16, bool)", async () => {
    const n = randomInts([3, 4], 6, -9, 9);
    const v = randomArray([4], 7, { lo: -5, hi: 5 });
    await expectSameAsPython(mx.at(n, 1).set(v), "n[1] = v\nresult = n", { n, v });
    const h = randomArray([3, 4], 8, { dtype: "float16" });
    await expectSameAsPython(mx.at(h, ":", 2).set(v.shape[0] === 4 ? 2.5 : 0), "h[:, 2] = 2.5\nresult = h", { h });
    const b = randomArray([3, 4], 9, { dtype: "bfloat16" });
    await expectSameAsPython(mx.at(b, mx.array([2, 0])).set(v), "b[mx.array([2, 0])] = v\nresult = b", { b, v });
    const q = mx.greater(randomArray([3, 4], 10), 0);
    await expectSameAsPython(mx.at(q, 0, "1:").set(true), "q[0, 1:] = True\nresult = q", { q });
  });

  test("leading size-1 dims of the value are dropped, as MLX does", async () => {
    const v = randomArray([1, 1, 6], 11);
    await expectSameAsPython(mx.at(a, 2).set(v), "a[2] = v\nresult = a", { a, v });
  });
});

describe("mx.at(...) add, subtract, multiply, divide, maximum, minimum match Python a.at[...]", () => {
  const ops = ["add", "subtract", "multiply", "divide", "maximum", "minimum"] as const;
  const repeated = mx.array([1, 3, 1, 1]);
  const cases: [string, mx.Index[], number[]][] = [
    ["1:3, 0", ["1:3", 0], [2, 6]],
    ["::-2, ::3", ["::-2", "::3"], [2, 2, 6]],
    ["ri", [repeated], [4, 5, 6]],
    ["ri, :, ri", [repeated, ":", repeated], [4, 5]],
    [":, ri, 2", [":", repeated, 2], [4, 4]],
    ["None, 2", [null, 2], [5, 6]],
  ];
  for (const op of ops) {
    test(op, async () => {
      for (const [code, indices, shape] of cases) {
        const v = randomArray(shape, 12, { lo: 0.5, hi: 2 });
        await expectSameAsPython(mx.at(a, ...indices)[op](v), `a.at[${code}].${op}(v)`, { a, v, ri: repeated });
      }
    });
  }
  test("integer arrays: repeated positions accumulate; divide multiplies by the (integer) reciprocal, as MLX does", async () => {
    const n = randomInts([5], 13, 0, 10);
    await expectSameAsPython(
      [
        mx.at(n, [0, 0, 2]).add(1.7),
        mx.at(n, [4, 4]).multiply(3),
        mx.at(n, "::2").subtract(2),
        mx.at(n, 0).divide(2),
        mx.at(n, [1, 1]).maximum(4),
      ],
      "[n.at[mx.array([0, 0, 2])].add(1.7), n.at[mx.array([4, 4])].multiply(3), n.at[::2].subtract(2), " +
        "n.at[0].divide(2), n.at[mx.array([1, 1])].maximum(4)]",
      { n },
    );
  });
});

describe("take, takeAlongAxis, putAlongAxis match Python MLX", () => {
  const m = randomArray([4, 6], 20);
  test("take with an Array, a list, an integer; with and without axis", async () => {
    const idx = mx.array([
      [0, 3],
      [-1, 2],
    ]);
    await expectSameAsPython(
      [
        mx.take(m, idx),
        mx.take(m, idx, 0),
        mx.take(m, idx, -1),
        mx.take(m, [5, 1], 1),
        mx.take(m, 7),
        mx.take(m, 2, 1),
        mx.take(m, -1, 0),
      ],
      "[mx.take(m, idx), mx.take(m, idx, 0), mx.take(m, idx, -1), mx.take(m, mx.array([5, 1]), 1), mx.take(m, 7), " +
        "mx.take(m, 2, 1), mx.take(m, 3, 0)]",
      { m, idx },
    );
  });
  test("takeAlongAxis (default axis -1, an axis, flattened)", async () => {
    const order = mx.argsort(m, 1);
    const col = mx.array([[0], [5], [-1], [2]]);
    const flatIdx = mx.array([0, 23, 7]);
    await expectSameAsPython(
      [
        mx.takeAlongAxis(m, order),
        mx.takeAlongAxis(m, col, 1),
        mx.takeAlongAxis(m, mx.array([[1, 2, 3, 0, 1, 2]]), 0),
        mx.takeAlongAxis(m, flatIdx, null),
      ],
      "[mx.take_along_axis(m, order, -1), mx.take_along_axis(m, col, 1), mx.take_along_axis(m, mx.array([[1, 2, 3, 0, 1, 2]]), 0), mx.take_along_axis(m, flat_idx, None)]",
      { m, order, col, flat_idx: flatIdx },
    );
  });
  test("putAlongAxis (an axis, flattened; values cast to the array's dtype)", async () => {
    const col = mx.array([[0], [5], [-1], [2]]);
    const vals = randomArray([4, 1], 21);
    const n = randomInts([4, 6], 22, 0, 9);
    await expectSameAsPython(
      [
        mx.putAlongAxis(m, col, vals, 1),
        mx.putAlongAxis(m, col, 0, -1),
        mx.putAlongAxis(m, mx.array([3, 20]), mx.array([1, 2], "float32")),
        mx.putAlongAxis(n, col, 2.5, 1),
      ],
      "[mx.put_along_axis(m, col, vals, 1), mx.put_along_axis(m, col, mx.array(0.0), -1), " +
        "mx.put_along_axis(m, mx.array([3, 20]), mx.array([1.0, 2.0])), mx.put_along_axis(n, col, mx.array(2.5), 1)]",
      { m, col, vals, n },
    );
  });
});

describe("slices with explicit bounds, static and dynamic", () => {
  const m = randomArray([4, 6, 3], 30);
  test("stridedSlice and stridedSliceUpdate equal the matching Python slices", async () => {
    const u = randomArray([2, 2, 3], 31);
    await expectSameAsPython(
      [
        mx.stridedSlice(m, [1, 0, 0], [3, 6, 3], [1, 3, 1]),
        mx.stridedSlice(m, [-1, 5, 0], [-5, -7, 3], [-2, -2, 1]),
        mx.stridedSlice(m, [0, 0, 0], [2, 2, 2]),
        mx.stridedSliceUpdate(m, u, [1, 0, 0], [3, 6, 3], [1, 3, 1]),
      ],
      "x = mx.array(m)\nx[1:3, 0:6:3, 0:3] = u\n" +
        "result = [m[1:3, 0:6:3, 0:3], m[-1:-5:-2, 5:-7:-2, 0:3], m[0:2, 0:2, 0:2], x]",
      { m, u },
    );
  });
  test("slice / sliceUpdate with a start Array or list (Python mx.slice, mx.slice_update)", async () => {
    const start = mx.array([2, 1]);
    const u = randomArray([2, 4, 3], 32);
    await expectSameAsPython(
      [
        mx.slice(m, start, [0, 1], [2, 4, 3]),
        mx.slice(m, [3], [-2], [4, 2, 3]),
        mx.sliceUpdate(m, u, start, [0, 1]),
        mx.sliceUpdate(m, mx.ones([1, 3]), [5], [1]),
      ],
      "result = [mx.slice(m, start, [0, 1], [2, 4, 3]), mx.slice(m, mx.array([3]), [-2], [4, 2, 3]), " +
        "mx.slice_update(m, u, start, [0, 1]), mx.slice_update(m, mx.ones([1, 3]), mx.array([5]), [1])]",
      { m, start, u },
    );
  });
  test("a KV-cache style write at a computed offset", async () => {
    const cache = mx.zeros([1, 2, 8, 4]);
    const step = randomArray([1, 2, 1, 4], 33);
    const offset = mx.sum(mx.array([2, 3]));
    await expectSameAsPython(
      mx.sliceUpdate(cache, step, mx.reshape(offset, [1]), [2]),
      "result = mx.slice_update(cache, step, mx.array([5]), [2])",
      { cache, step },
    );
  });
});

describe("indexing errors", () => {
  test("out-of-range integers: RangeError naming the axis and its size", () => {
    assert.throws(() => mx.index(a, 4), {
      name: "RangeError",
      message: /index 4 is out of range for axis 0 with size 4/,
    });
    assert.throws(() => mx.index(a, 0, -6), {
      name: "RangeError",
      message: /index -6 is out of range for axis 1 with size 5/,
    });
    assert.throws(() => mx.index(a, "...", 6), { name: "RangeError", message: /axis 2 with size 6/ });
    assert.throws(() => mx.at(a, 9).set(1), { name: "RangeError", message: /axis 0 with size 4/ });
    assert.throws(() => mx.index(mx.zeros([0, 3]), 0), { name: "RangeError", message: /axis 0 with size 0/ });
  });
  test("out-of-range index arrays: RangeError (MLX would read out of bounds)", () => {
    assert.throws(() => mx.index(a, mx.array([0, 4])), {
      name: "RangeError",
      message: /index 4 is out of range for axis 0/,
    });
    assert.throws(() => mx.index(a, ":", [-6]), { name: "RangeError", message: /index -6 .* axis 1 with size 5/ });
    assert.throws(() => mx.at(a, ":", ":", mx.array([6], "uint32")).add(1), RangeError);
    assert.throws(() => mx.take(a, 120), { name: "RangeError", message: /flattened array of size 120/ });
    assert.throws(() => mx.take(a, mx.array([0, 5]), 1), { name: "RangeError", message: /index 5/ });
    assert.throws(() => mx.take(a, 1, 3), { name: "RangeError", message: /axis 3 is out of range/ });
    assert.throws(() => mx.takeAlongAxis(a, mx.zeros([1, 1, 1], "int32"), 5), RangeError);
    assert.throws(() => mx.takeAlongAxis(a, mx.full([1, 1, 1], 6, "int32")), {
      name: "RangeError",
      message: /axis 2 with size 6/,
    });
    assert.throws(() => mx.putAlongAxis(a, mx.array([120]), 0), { name: "RangeError", message: /flattened array/ });
  });
  test("dynamic slices that would leave the array: RangeError", () => {
    const v = mx.arange(10);
    assert.throws(() => mx.slice(v, mx.array([8]), [0], [4]), { name: "RangeError", message: /start must be 0 to 6/ });
    assert.throws(() => mx.slice(v, [-2], [0], [4]), RangeError);
    assert.throws(() => mx.slice(v, [0], [0], [11]), { name: "RangeError", message: /slice size 11/ });
    assert.throws(() => mx.sliceUpdate(v, mx.array([1, 2, 3]), mx.array([9]), [0]), {
      name: "RangeError",
      message: /starting at 9/,
    });
    assert.throws(() => mx.slice(v, [0, 1], [0], [2]), { name: "RangeError", message: /one position per axis/ });
  });
  test("a zero slice step (MLX would divide by zero)", () => {
    assert.throws(() => mx.index(a, "::0"), { name: "RangeError", message: /step cannot be zero/ });
    assert.throws(() => mx.at(a, { step: 0 }).set(0), RangeError);
    assert.throws(() => mx.stridedSlice(a, [0, 0, 0], [1, 1, 1], [1, 0, 1]), RangeError);
  });
  test("too many indices and several ellipses", () => {
    assert.throws(() => mx.index(a, 0, 0, 0, 0), {
      name: "RangeError",
      message: /too many indices: 4 given for an array of shape \[4,5,6\]/,
    });
    assert.throws(() => mx.index(mx.array(1), 0), { name: "RangeError", message: /too many indices/ });
    assert.throws(() => mx.index(a, "...", 0, "..."), { name: "TypeError", message: /only one ellipsis/ });
  });
  test("wrong index types: TypeError naming what is accepted", () => {
    const accepted = /expected an integer, a slice string/;
    assert.throws(() => mx.index(a, "x"), { name: "TypeError", message: accepted });
    assert.throws(() => mx.index(a, "1"), { name: "TypeError", message: accepted });
    assert.throws(() => mx.index(a, "1:2:3:4"), { name: "TypeError", message: accepted });
    assert.throws(() => mx.index(a, 1.5), { name: "TypeError", message: /not an integer/ });
    assert.throws(() => mx.index(a, true as never), { name: "TypeError", message: accepted });
    assert.throws(() => mx.index(a, undefined as never), { name: "TypeError", message: /use null or mx.newaxis/ });
    assert.throws(() => mx.index(a, { begin: 1 } as never), { name: "TypeError", message: accepted });
    assert.throws(() => mx.index(a, new Map() as never), { name: "TypeError", message: accepted });
    assert.throws(() => mx.index(a, { start: 0.5 }), { name: "TypeError", message: /slice start must be an integer/ });
    assert.throws(() => mx.index(a, mx.array([0.5, 1])), {
      name: "TypeError",
      message: /must hold integers; got float32/,
    });
    assert.throws(() => mx.index(a, mx.array([true, false, true, true])), {
      name: "TypeError",
      message: /boolean mask/,
    });
    assert.throws(() => mx.index(a, [0.5]), { name: "TypeError", message: /must hold integers/ });
    assert.throws(() => mx.index([1, 2] as never, 0), { name: "TypeError", message: /needs an mx Array/ });
    assert.throws(() => mx.take(a, "0" as never), { name: "TypeError", message: /indices must be/ });
  });
  test("a value that does not broadcast: MLX's message", () => {
    assert.throws(() => mx.at(a, 0).set(mx.ones([2, 6])), /cannot be broadcast/);
  });
  test("disposed arrays", () => {
    const d = mx.arange(4);
    const idx = mx.array([0]);
    idx.dispose();
    assert.throws(() => mx.index(a, idx), /disposed/);
    d.dispose();
    assert.throws(() => mx.index(d, 0), /disposed/);
    assert.throws(() => mx.at(a, 0).set(d), /disposed/);
  });
  test("the process goes on after errors", () => {
    assert.equal(mx.index(mx.arange(5), -1).item(), 4);
  });
});

// ---- random index combinations ------------------------------------------------------------------

interface RandomCase {
  code: string;
  numpyCode: string; // the same index for NumPy (see randomIndex)
  indices: mx.Index[];
  arrays: Record<string, mx.Array>;
}

// A random index for `shape`: integers, slices (any bounds, steps of either sign), index arrays
// that broadcast together, new axes and an ellipsis, in random order and number.
function randomIndex(shape: number[], next: () => number): RandomCase {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const ndim = shape.length;
  const consumed = int(0, ndim);
  const ellipsisAt = next() < 0.35 ? int(0, consumed) : -1;
  const common = pick([[], [2], [3], [2, 3], [3, 1]]);
  const arrays: Record<string, mx.Array> = {};
  const entries: { code: string; index: mx.Index }[] = [];
  for (let k = 0; k < consumed; k++) {
    const axis = ellipsisAt >= 0 && k >= ellipsisAt ? ndim - consumed + k : k;
    const size = shape[axis] as number;
    const kind = size === 0 ? "slice" : pick(["int", "slice", "slice", "array"] as const);
    if (kind === "int") {
      const i = int(-size, size - 1);
      entries.push({ code: String(i), index: i });
    } else if (kind === "slice") {
      const bound = () => (next() < 0.4 ? null : int(-size - 2, size + 2));
      const start = bound();
      const stop = bound();
      const step = next() < 0.3 ? null : pick([1, 2, 3, -1, -2, -3]);
      const text = `${start ?? ""}:${stop ?? ""}${step === null ? "" : `:${step}`}`;
      entries.push({ code: text, index: next() < 0.5 ? text : { start, stop, step } });
    } else {
      // A suffix of the common shape with some dims set to 1, so all arrays broadcast together.
      const dims = common.slice(int(0, common.length)).map((d) => (next() < 0.3 ? 1 : d));
      const count = dims.reduce((x, y) => x * y, 1);
      const values = Array.from({ length: count }, () => int(-size, size - 1));
      const name = `x${Object.keys(arrays).length}`;
      arrays[name] = mx.reshape(mx.array(values, "int32"), dims);
      entries.push({ code: name, index: arrays[name] as mx.Array });
    }
  }
  if (ellipsisAt >= 0) entries.splice(ellipsisAt, 0, { code: "...", index: "..." });
  for (let k = int(0, 2); k > 0; k--) entries.splice(int(0, entries.length), 0, { code: "None", index: null });
  const join = (list: typeof entries) => (list.length === 0 ? "()" : list.map((e) => e.code).join(", "));
  // An ellipsis that stands for no axes does not separate index arrays in MLX (it is dropped),
  // while NumPy counts it as a separator; NumPy gets the index without it.
  const numpyEntries = consumed === ndim ? entries.filter((e) => e.code !== "...") : entries;
  return { code: join(entries), numpyCode: join(numpyEntries), indices: entries.map((e) => e.index), arrays };
}

describe("random index combinations: reads match Python MLX, updates match NumPy", () => {
  const next = rng(2026);
  const shapes = [[4, 5, 6], [3, 4], [7], [2, 3, 4, 5], [3, 0, 2]];
  for (let c = 0; c < 200; c++) {
    const shape = shapes[c % shapes.length] as number[];
    const { code, numpyCode, indices, arrays } = randomIndex(shape, next);
    test(`[${shape}] a[${code}]`, async () => {
      const f = randomArray(shape, 100 + c);
      const n = randomInts(shape, 200 + c, -50, 50);
      const read = mx.index(f, ...indices);
      const v = randomInts(read.shape, 300 + c, -9, 10);
      const added = mx.at(n, ...indices).add(v);
      const set = mx.at(f, ...indices).set(7.5);
      // Reads are compared with Python MLX. Updates are compared with NumPy (np.add.at, and
      // assignment into a copy): Python MLX 0.32.4 cannot lay out some updates that NumPy's rules
      // define (e.g. x[i, ..., 2:-6:-1] = v, or new axes after index arrays) and raises instead.
      const toNumpy = Object.keys(arrays)
        .map((name) => `${name} = np.array(${name})\n`)
        .join("");
      await expectSameAsPython(
        [read, added, set],
        `r = f[${code}]\n${toNumpy}idx = np.s_[${numpyCode}]\n` +
          "npn = np.array(n)\nnp.add.at(npn, idx, np.array(v))\nnpf = np.array(f)\nnpf[idx] = 7.5\n" +
          "result = [r, mx.array(npn), mx.array(npf)]",
        { f, n, v, ...arrays },
      );
    });
  }
});
