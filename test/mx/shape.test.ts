import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { closeOracle, expectSameAsPython, randomArray } from "../oracle/oracle.ts";

after(closeOracle);

const a = randomArray([2, 3, 4], 1);
const h = randomArray([2, 3, 4], 2, { dtype: "bfloat16" });

describe("shape ops match Python MLX", () => {
  test("reshape, transpose, swapaxes, moveaxis", async () => {
    await expectSameAsPython(mx.reshape(a, [6, -1]), "a.reshape(6, -1)", { a });
    await expectSameAsPython(mx.transpose(a), "mx.transpose(a)", { a });
    await expectSameAsPython(mx.transpose(h, [1, 2, 0]), "mx.transpose(h, [1, 2, 0])", { h });
    await expectSameAsPython(mx.swapaxes(a, 0, -1), "mx.swapaxes(a, 0, -1)", { a });
    await expectSameAsPython(mx.moveaxis(a, 2, 0), "mx.moveaxis(a, 2, 0)", { a });
  });
  test("expandDims, squeeze, flatten, unflatten", async () => {
    await expectSameAsPython(mx.expandDims(a, [0, -1]), "mx.expand_dims(a, [0, -1])", { a });
    const e = mx.expandDims(a, 1);
    await expectSameAsPython(mx.squeeze(e), "mx.squeeze(e)", { e });
    await expectSameAsPython(mx.squeeze(e, 1), "mx.squeeze(e, 1)", { e });
    await expectSameAsPython(mx.flatten(a), "mx.flatten(a)", { a });
    await expectSameAsPython(mx.flatten(a, 1), "mx.flatten(a, 1)", { a });
    await expectSameAsPython(mx.unflatten(a, 2, [2, 2]), "mx.unflatten(a, 2, [2, 2])", { a });
  });
  test("concatenate, stack, unstack, split", async () => {
    const b = randomArray([2, 3, 4], 3);
    await expectSameAsPython(mx.concatenate([a, b], 1), "mx.concatenate([a, b], axis=1)", { a, b });
    await expectSameAsPython(mx.stack([a, b], -1), "mx.stack([a, b], axis=-1)", { a, b });
    await expectSameAsPython(mx.unstack(a, 1), "mx.unstack(a, axis=1)", { a });
    await expectSameAsPython(mx.split(a, 2, 2), "mx.split(a, 2, axis=2)", { a });
    await expectSameAsPython(mx.split(a, [1, 3], -1), "mx.split(a, [1, 3], axis=-1)", { a });
  });
  test("repeat, tile, broadcastTo, broadcastArrays, flip, atleast", async () => {
    await expectSameAsPython(mx.repeat(a, 2, 1), "mx.repeat(a, 2, axis=1)", { a });
    await expectSameAsPython(mx.repeat(a, 2), "mx.repeat(a, 2)", { a });
    await expectSameAsPython(mx.tile(a, [1, 2, 1]), "mx.tile(a, [1, 2, 1])", { a });
    const row = randomArray([4], 4);
    await expectSameAsPython(mx.broadcastTo(row, [3, 4]), "mx.broadcast_to(r, [3, 4])", { r: row });
    await expectSameAsPython(mx.broadcastArrays([a, row]), "mx.broadcast_arrays(a, r)", { a, r: row });
    await expectSameAsPython(mx.flip(a, [0, 2]), "mx.flip(a, [0, 2])", { a });
    await expectSameAsPython(mx.atleast2d(row), "mx.atleast_2d(r)", { r: row });
    await expectSameAsPython(mx.atleast3d(row), "mx.atleast_3d(r)", { r: row });
  });
  test("pad", async () => {
    await expectSameAsPython(mx.pad(a, 1), "mx.pad(a, 1)", { a });
    await expectSameAsPython(mx.pad(a, [0, 2]), "mx.pad(a, (0, 2))", { a });
    await expectSameAsPython(
      mx.pad(
        h,
        [
          [0, 0],
          [1, 0],
          [2, 1],
        ],
        { value: 0.5 },
      ),
      "mx.pad(h, [(0, 0), (1, 0), (2, 1)], constant_values=0.5)",
      { h },
    );
    await expectSameAsPython(
      mx.pad(
        a,
        [
          [1, 1],
          [0, 0],
          [0, 2],
        ],
        { mode: "edge" },
      ),
      "mx.pad(a, [(1, 1), (0, 0), (0, 2)], mode='edge')",
      { a },
    );
  });
});

describe("bad shapes raise clear errors", () => {
  test("each op names the problem", () => {
    assert.throws(() => mx.reshape(a, [5, 5]), /reshape/i);
    assert.throws(() => mx.reshape(a, [2.5, 4]), /shape must hold only integers \(element 0 is not\)/);
    assert.throws(() => mx.transpose(a, [0, 0, 1]), /transpose/i);
    assert.throws(() => mx.swapaxes(a, 0, 7), /axis/i);
    assert.throws(() => mx.squeeze(a, 0), /squeeze/i);
    assert.throws(() => mx.concatenate([a, mx.zeros([2, 2])]), /concatenate/i);
    assert.throws(() => mx.concatenate([a, 3 as unknown as mx.Array]), /element 1 of the list is not an mx Array/);
    assert.throws(() => mx.split(a, 5, 1), /split/i);
    assert.throws(() => mx.broadcastTo(a, [4, 4]), /broadcast/i);
    assert.throws(() => mx.pad(a, [[1, 1]]), /1 \[low, high\] pairs given for an array of 3 dimensions/);
    assert.throws(() => mx.tile(a, "x" as unknown as number), /reps must be a list of integers/);
  });
});

// Short shapes and axes reach the addon through a shared buffer (src/mx/list-slots.ts), longer or
// non-numeric lists as JS arrays: both ways must check the same things and give the same errors.
describe("shape and axis lists, short and long", () => {
  test("every element is checked, whichever way the list travels", () => {
    const long = new Array<number>(70).fill(1);
    const wide = mx.zeros(long);
    for (const list of [[2, 3, 4], long]) {
      const half = [...list];
      half[1] = 2.5;
      assert.throws(() => mx.reshape(wide, half), /shape must hold only integers \(element 1 is not\)/);
      const text = [...list] as unknown[];
      text[1] = "3";
      assert.throws(() => mx.reshape(wide, text as number[]), /shape must hold only integers \(element 1 is not\)/);
      const huge = [...list];
      huge[2] = 2 ** 31;
      assert.throws(() => mx.transpose(wide, huge), /axes must hold only integers \(element 2 is not\)/);
    }
    assert.throws(() => mx.reshape(a, [2, Number.NaN, 4]), /shape must hold only integers \(element 1 is not\)/);
    assert.throws(
      () => mx.transpose(a, new Float64Array([2, 1, 0]) as unknown as number[]),
      /axes must be a list of integers/,
    );
  });

  test("long lists and shapes come through whole", () => {
    const dims = Array.from({ length: 70 }, (_, i) => (i % 23 === 0 ? 2 : 1));
    const wide = mx.reshape(mx.arange(0, 16), dims); // 2 at axes 0, 23, 46 and 69
    assert.deepEqual(wide.shape, dims);
    const reversed = [...dims.keys()].reverse();
    assert.deepEqual(mx.transpose(wide, reversed).shape, [...dims].reverse());
    assert.deepEqual(mx.array(3).shape, []);
  });

  test("the lists of one call do not overwrite each other", () => {
    const m = mx.reshape(mx.arange(0, 24), [2, 3, 4]);
    const sliced = mx.stridedSlice(m, [1, 0, 1], [2, 3, 4], [1, 2, 2]);
    assert.deepEqual(sliced.shape, [1, 2, 2]);
    assert.deepEqual(sliced.tolist(), [
      [
        [13, 15],
        [21, 23],
      ],
    ]);
  });
});
