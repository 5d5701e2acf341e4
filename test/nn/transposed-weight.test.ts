// mx.linear keeps a computed weight's transpose with the weight's handle: the same values bit for
// bit as addmm(b, x, transpose(w)), one op fewer per product from the second call on, freed with
// the weight, and never kept for a weight still to be computed or a transformation's tracer. An
// operand of one batch row ([1, L, in], no bias) is one Matmul, without the Flatten and Unflatten
// a 2-D right operand costs. Linear layers and the tied unembedding compute through it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mx } from "mlux";
import { Embedding } from "../../src/nn/layers/embedding.ts";
import { Linear } from "../../src/nn/layers/linear.ts";

const seeded = (shape: number[], seed: number) => {
  mx.random.seed(seed);
  const a = mx.random.normal(shape);
  mx.eval(a);
  return a;
};

/** How many `name` primitives the graph computing `a` still has to run. */
const primitives = (a: mx.Array, name: string) =>
  [...mx.exportToDot(a).matchAll(/label ="(\w+)", shape=rectangle/g)].filter(([, op]) => op === name).length;

const sameValues = (a: mx.Array, b: mx.Array) =>
  assert.deepEqual(Array.from(a.toTypedArray() as Float32Array), Array.from(b.toTypedArray() as Float32Array));

describe("mx.linear", () => {
  test("from the second call on the graph has no transpose; both calls give addmm(b, x, w.T) exactly", () => {
    mx.tidy(() => {
      const [w, x, b] = [seeded([6, 5], 1), seeded([2, 3, 5], 2), seeded([6], 3)];
      const expected = mx.addmm(b, x, mx.transpose(w));
      const first = mx.linear(x, w, b);
      assert.equal(primitives(first, "Transpose"), 1);
      mx.eval(first);
      const second = mx.linear(x, w, b);
      assert.equal(primitives(second, "Transpose"), 0);
      sameValues(first, expected);
      sameValues(second, expected);
      sameValues(mx.linear(x, w), mx.matmul(x, mx.transpose(w)));
    });
  });

  test("an operand of one batch row without a bias is one Matmul with the values of x @ w.T; more rows are flattened", () => {
    mx.tidy(() => {
      const w = seeded([6, 5], 30);
      for (const shape of [
        [1, 1, 5],
        [1, 7, 5],
        [3, 2, 5],
      ]) {
        const x = seeded(shape, 31);
        const expected = mx.matmul(x, mx.transpose(w));
        mx.eval(mx.linear(x, w));
        const again = mx.linear(x, w);
        const oneRow = shape[0] === 1;
        assert.equal(primitives(again, "Flatten"), oneRow ? 0 : 1, `${shape}`);
        assert.equal(primitives(again, "Matmul"), 1, `${shape}`);
        assert.deepEqual(again.shape, [...shape.slice(0, 2), 6]);
        sameValues(again, expected);
      }
      // Not yet computed: the same values through a fresh view.
      const lazy = mx.multiply(w, 1);
      sameValues(mx.linear(seeded([1, 3, 5], 32), lazy), mx.matmul(seeded([1, 3, 5], 32), mx.transpose(w)));
    });
  });

  test("an operand whose last axis does not fit the weight is refused with the shapes that would", () => {
    mx.tidy(() => {
      const w = seeded([6, 5], 33);
      for (const shape of [
        [1, 2, 4],
        [3, 4],
        [2, 2, 4],
      ])
        assert.throws(
          () => mx.linear(seeded(shape, 34), w),
          /linear: the weight \[6, 5\] takes inputs with a last axis of 5, got a last axis of 4/,
        );
      assert.throws(() => mx.linear(mx.array(2), w), /got a scalar/);
    });
  });

  test("the kept transpose holds no array of its own and is freed with its weight", () => {
    const x = seeded([1, 1024], 4);
    const row = mx.reshape(x, [1, 1, 1024]);
    const live = mx.liveArrays();
    const w = seeded([1024, 1024], 5);
    // Both kept views: the transpose, and the one with a batch axis for a [1, L, in] operand.
    mx.tidy(() => mx.eval(mx.linear(x, w), mx.linear(x, w), mx.linear(row, w), mx.linear(row, w)));
    assert.equal(mx.liveArrays(), live + 1);
    const held = mx.memory.activeMemory();
    w.dispose();
    // The weight's 4 MiB come back: the transpose viewing them went with the handle.
    assert.ok(held - mx.memory.activeMemory() >= 1024 * 1024 * 4, `${held - mx.memory.activeMemory()} bytes freed`);
    assert.equal(mx.liveArrays(), live);
    x.dispose();
    row.dispose();
  });

  test("a weight not computed yet is transposed anew at every call", () => {
    mx.tidy(() => {
      const x = seeded([1, 4], 6);
      const w = mx.multiply(seeded([3, 4], 7), 2);
      assert.equal(primitives(mx.linear(x, w), "Transpose"), 1);
      assert.equal(primitives(mx.linear(x, w), "Transpose"), 1);
    });
  });

  test("a gradient with respect to the weight flows through the product, and the weight's kept transpose stays right", () => {
    mx.tidy(() => {
      const [x, w] = [seeded([2, 4], 8), seeded([3, 4], 9)];
      mx.eval(mx.linear(x, w)); // w's transpose is kept now
      // d sum(x Wᵀ) / dW[o, i] = the sum of x[:, i] over rows, for every output o.
      const grad = mx.grad((weight: mx.Array) => mx.sum(mx.linear(x, weight)))(w);
      const columnSums = mx.broadcastTo(mx.sum(x, { axis: 0, keepdims: true }), [3, 4]);
      assert.ok(mx.allclose(grad, columnSums, { rtol: 1e-6, atol: 1e-6 }).item());
      sameValues(mx.linear(x, w), mx.matmul(x, mx.transpose(w)));
    });
  });

  test("a disposed weight, a weight that is not 2-D and values that are not Arrays are refused with a clear error", () => {
    mx.tidy(() => {
      const x = seeded([1, 4], 10);
      const w = seeded([3, 4], 11);
      mx.eval(mx.linear(x, w));
      w.dispose();
      assert.throws(() => mx.linear(x, w), /this Array was disposed/);
      assert.throws(() => mx.linear(x, seeded([2, 3, 4], 12)), /expected a 2-D weight, got 3 axes/);
      assert.throws(
        () => mx.linear(x, [[1, 2]] as unknown as mx.Array),
        /the weight must be an mx Array, got a JS array/,
      );
      assert.throws(() => mx.linear("x" as unknown as mx.Array, x), /expected an mx Array, a number or a boolean/);
    });
  });
});

describe("layers computing through mx.linear", () => {
  test("a Linear with a bias and a tied unembedding reuse their weight's transpose, with unchanged values", () => {
    mx.tidy(() => {
      const layer = new Linear(5, 6);
      layer.weight = seeded([6, 5], 13);
      layer.bias = seeded([6], 14);
      const table = new Embedding(7, 5);
      table.weight = seeded([7, 5], 15);
      const x = seeded([1, 2, 5], 16);
      mx.eval(layer.call(x), table.asLinear(x));
      const [projected, unembedded] = [layer.call(x), table.asLinear(x)];
      assert.equal(primitives(projected, "Transpose"), 0);
      assert.equal(primitives(unembedded, "Transpose"), 0);
      sameValues(projected, mx.addmm(layer.bias, x, mx.transpose(layer.weight)));
      sameValues(unembedded, mx.matmul(x, mx.transpose(table.weight)));
    });
  });
});
