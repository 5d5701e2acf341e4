// A Linear (and a tied unembedding) keeps its weight's transpose between calls: the same values
// bit for bit, one op fewer per product, and never a stale or leaked transpose.
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

const primitives = (a: mx.Array, name: string) =>
  [...mx.exportToDot(a).matchAll(/label ="(\w+)", shape=rectangle/g)].filter(([, op]) => op === name).length;

const sameValues = (a: mx.Array, b: mx.Array) =>
  assert.deepEqual(Array.from(a.toTypedArray()), Array.from(b.toTypedArray()));

function linear(weight: mx.Array, bias?: mx.Array): Linear {
  const [outputs, inputs] = weight.shape as [number, number];
  const layer = new Linear(inputs, outputs, { bias: bias !== undefined });
  layer.dispose();
  layer.weight = weight;
  if (bias) layer.bias = bias;
  return layer;
}

describe("a Linear's kept transpose", () => {
  test("the second call's graph has no transpose, and both calls give x @ W.T exactly", () => {
    const w = seeded([6, 5], 1);
    const x = seeded([2, 3, 5], 2);
    const layer = linear(w, seeded([6], 3));
    const expected = mx.addmm(layer.bias as mx.Array, x, mx.transpose(w));
    const first = layer.call(x);
    assert.equal(primitives(first, "Transpose"), 1);
    mx.eval(first);
    const second = layer.call(x);
    assert.equal(primitives(second, "Transpose"), 0);
    sameValues(first, expected);
    sameValues(second, expected);
  });

  test("a new weight is used at once, and its predecessor's transpose is freed", () => {
    const x = seeded([1, 4], 4);
    const layer = linear(seeded([3, 4], 5));
    mx.eval(layer.call(x));
    const before = mx.liveArrays();
    const replaced = layer.weight;
    layer.weight = seeded([3, 4], 6);
    replaced.dispose();
    mx.tidy(() => sameValues(layer.call(x), mx.matmul(x, mx.transpose(layer.weight))));
    // The new weight and its transpose in place of the old two (the product's operands are freed).
    assert.equal(mx.liveArrays(), before);
  });

  test("a weight not computed yet is transposed per call and not kept", () => {
    const x = seeded([1, 4], 7);
    const layer = linear(mx.multiply(seeded([3, 4], 8), 2));
    const y = layer.call(x);
    mx.eval(y);
    assert.equal(primitives(layer.call(x), "Transpose"), 1);
  });

  test("a disposed weight throws the usual error instead of reading a kept transpose", () => {
    const x = seeded([1, 4], 9);
    const layer = linear(seeded([3, 4], 10));
    mx.eval(layer.call(x));
    layer.weight.dispose();
    assert.throws(() => layer.call(x), /this Array was disposed/);
  });

  test("dispose() frees the weight and its transpose; setDtype leaves no transpose of the old weight", () => {
    const base = mx.liveArrays();
    const x = seeded([1, 4], 11);
    const layer = linear(seeded([3, 4], 12), seeded([3], 13));
    mx.tidy(() => mx.eval(layer.call(x)));
    layer.setDtype("float16");
    // Weight and bias in float16, and x; the float32 weight's transpose is gone with it.
    assert.equal(mx.liveArrays(), base + 3);
    mx.tidy(() => mx.eval(layer.call(mx.astype(x, "float16"))));
    layer.dispose();
    x.dispose();
    assert.equal(mx.liveArrays(), base);
  });

  test("a gradient with respect to the weight flows through the product", () => {
    const x = seeded([2, 4], 14);
    const layer = linear(seeded([3, 4], 15));
    mx.eval(layer.call(x)); // a transpose of the computed weight is kept now
    const loss = (w: mx.Array) => {
      const saved = layer.weight;
      layer.weight = w;
      try {
        return mx.sum(layer.call(x));
      } finally {
        layer.weight = saved;
      }
    };
    // d sum(x Wᵀ) / dW[o, i] = sum over rows of x[:, i], for every output o.
    const grad = mx.grad(loss)(layer.weight);
    const columnSums = mx.broadcastTo(mx.sum(x, 0, true), [3, 4]);
    assert.ok(mx.allclose(grad, columnSums, { rtol: 1e-6, atol: 1e-6 }).item());
  });
});

describe("a tied unembedding's kept transpose", () => {
  test("asLinear reuses the table's transpose and gives x @ E.T exactly", () => {
    const table = new Embedding(7, 5);
    table.dispose();
    table.weight = seeded([7, 5], 16);
    const x = seeded([1, 2, 5], 17);
    const expected = mx.matmul(x, mx.transpose(table.weight));
    const first = table.asLinear(x);
    mx.eval(first);
    const second = table.asLinear(x);
    assert.equal(primitives(second, "Transpose"), 0);
    sameValues(first, expected);
    sameValues(second, expected);
  });
});
