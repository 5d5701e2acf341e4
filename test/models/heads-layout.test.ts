// Splitting a projection into heads and merging them back: at one position (a decode step) one
// reshape does what a reshape and a transpose do at any other length, with the same values.
import assert from "node:assert/strict";
import { test } from "node:test";
import { mx } from "mlux";
import { mergeHeads, splitHeads } from "../../src/models/shared/multihead.ts";

const primitives = (a: mx.Array) =>
  [...mx.exportToDot(a).matchAll(/label ="(\w+)", shape=rectangle/g)].map(([, op]) => op);

test("at one position the heads are split and merged by one reshape, to the values the transpose gives", () => {
  mx.tidy(() => {
    mx.random.seed(3);
    for (const [batch, length] of [
      [1, 1],
      [2, 1],
      [2, 5],
    ] as const) {
      const x = mx.random.normal([batch, length, 4 * 6]);
      mx.eval(x);
      const split = splitHeads(x, 4);
      const expected = mx.transpose(mx.reshape(x, [batch, length, 4, 6]), [0, 2, 1, 3]);
      assert.deepEqual(split.shape, [batch, 4, length, 6]);
      assert.deepEqual(primitives(split), length === 1 ? ["Reshape"] : ["Reshape", "Transpose"]);
      assert.ok(mx.arrayEqual(split, expected).item());
      const merged = mergeHeads(split);
      assert.deepEqual(primitives(merged), length === 1 ? ["Reshape"] : ["Transpose", "Reshape"]);
      assert.ok(mx.arrayEqual(merged, x).item());
    }
  });
});
