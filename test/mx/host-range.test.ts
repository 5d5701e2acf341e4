// Integer arrays made from JavaScript data, integer aranges and a padded batch's positions carry the
// range of their values, known as they were made: index checks use it instead of reading the array
// back (a device sync on a GPU), with the same errors for out-of-range positions.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mx } from "mlux";
import { Padding } from "../../src/models/cache/masks.ts";
import { hostRange } from "../../src/mx/host-range.ts";
import { Embedding } from "../../src/nn/layers/embedding.ts";

const table = mx.reshape(mx.arange(12, undefined, undefined, "float32"), [4, 3]);

describe("the host range of integer arrays made from JavaScript data", () => {
  test("lists and integer typed arrays record their least and greatest values", () => {
    mx.tidy(() => {
      assert.deepEqual(
        hostRange(
          mx.array([
            [3, -2],
            [7, 0],
          ]),
        ),
        { min: -2, max: 7 },
      );
      assert.deepEqual(hostRange(mx.array([5, 1, 9], "int32")), { min: 1, max: 9 });
      assert.deepEqual(hostRange(mx.array(new Int32Array([4, -8, 2]))), { min: -8, max: 4 });
      assert.deepEqual(hostRange(mx.array(new BigInt64Array([10n, -3n]))), { min: -3, max: 10 });
    });
  });

  test("arrays made on the device, converted or floating carry none", () => {
    mx.tidy(() => {
      const ids = mx.array([1, 2, 3]);
      assert.equal(hostRange(mx.add(ids, 1)), undefined);
      assert.equal(hostRange(mx.array([1, 2], "float32")), undefined);
      assert.equal(hostRange(mx.array(new Int32Array([1, 2]), "int64")), undefined);
      assert.equal(hostRange(mx.array([], "int32")), undefined);
    });
  });

  test("integer aranges record theirs (models take their positions with one)", () => {
    mx.tidy(() => {
      assert.deepEqual(hostRange(mx.arange(5)), { min: 0, max: 4 });
      assert.deepEqual(hostRange(mx.arange(3, 10, 3)), { min: 3, max: 9 });
      assert.deepEqual(hostRange(mx.arange(5, 0, -2)), { min: 1, max: 5 });
      assert.deepEqual(hostRange(mx.arange(7, 9, 1, "int64")), { min: 7, max: 8 });
      assert.equal(hostRange(mx.arange(4, 4)), undefined);
      assert.equal(hostRange(mx.arange(0, 1, 0.5)), undefined);
      assert.equal(hostRange(mx.arange(0, 4, 1, "int16")), undefined);
      assert.equal(hostRange(mx.arange(0, 4, 1, "float32")), undefined);
      assert.deepEqual(mx.arange(5, 0, -2).tolist(), [5, 3, 1]);
      assert.throws(() => mx.take(table, mx.arange(2, 5), 0), /index 4 is out of range for axis 0 .*valid: -4 to 3/);
    });
  });

  test("a padded batch's positions carry theirs", () => {
    mx.tidy(() => {
      const positions = new Padding([2, 0, 5]).positions(4);
      assert.deepEqual(positions.tolist(), [
        [0, 0, 0, 1],
        [0, 1, 2, 3],
        [0, 0, 0, 0],
      ]);
      assert.deepEqual(hostRange(positions), { min: 0, max: 3 });
      assert.deepEqual(hostRange(new Padding([2, 3]).positions(4)), { min: 0, max: 1 });
    });
  });

  test("take refuses out-of-range positions made from JavaScript data, naming the position", () => {
    mx.tidy(() => {
      assert.throws(() => mx.take(table, mx.array([0, 4]), 0), /index 4 is out of range for axis 0 .*valid: -4 to 3/);
      assert.throws(() => mx.take(table, mx.array(new Int32Array([-5])), 0), /index -5 is out of range/);
      assert.deepEqual(mx.take(table, mx.array([3, -4]), 0).tolist(), [
        [9, 10, 11],
        [0, 1, 2],
      ]);
    });
  });

  test("an embedding refuses negative token ids from JavaScript data and from the device alike", () => {
    const embedding = new Embedding(4, 3);
    mx.tidy(() => {
      assert.throws(() => embedding.call(mx.array([[1, -1]], "int32")), /token id -1 is negative/);
      assert.throws(() => embedding.call(mx.subtract(mx.array([[1, 0]], "int32"), 1)), /token id -1 is negative/);
      assert.throws(() => embedding.call(mx.array([[4]], "int32")), /index 4 is out of range/);
    });
    embedding.weight.dispose();
  });
});
