// Index arrays whose range check is left to their owner (the generator's token fed back as input):
// take clamps them inside the graph instead of evaluating them, and records the extent to check.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { deferRangeCheck, inDeferredRange } from "../../src/mx/deferred-range.ts";

const dir = mkdtempSync(join(tmpdir(), "mlux-deferred-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const table = mx.reshape(mx.arange(12, undefined, undefined, "float32"), [4, 3]);

describe("take with positions whose range check is deferred", () => {
  test("in-range positions give the same rows as a checked take, for every integer dtype", () => {
    for (const dtype of ["int32", "uint32", "int64", "uint8"] as const) {
      mx.tidy(() => {
        const values = dtype.startsWith("u") ? [0, 2, 3, 1] : [0, 2, -1, -4];
        const positions = mx.array(values, dtype);
        const checked = mx.take(table, mx.array(values, dtype), 0);
        const range = deferRangeCheck(positions);
        assert.equal(range.extent, Number.POSITIVE_INFINITY);
        assert.deepEqual(mx.take(table, positions, 0).tolist(), checked.tolist(), dtype);
        assert.equal(range.extent, 4);
      });
    }
  });

  test("out-of-range positions are clamped (nothing read out of bounds); the owner sees them out of range", () => {
    mx.tidy(() => {
      const positions = mx.array([7, -9, 2 ** 31 + 5], "int64");
      const range = deferRangeCheck(positions);
      const rows = mx.take(table, positions, 0);
      assert.equal(rows.shape.join(), "3,3");
      for (const row of rows.tolist() as number[][]) assert.ok(row.every((v) => v >= 0 && v < 12));
      assert.deepEqual(
        [7, -9, 3, -4, 0, -5].map((v) => inDeferredRange(v, range)),
        [false, false, true, true, true, false],
      );
      // uint32 (a sampler's argmax) is bounded above alone: past the table is the last row.
      const drawn = mx.array([7, 2 ** 32 - 1, 2], "uint32");
      deferRangeCheck(drawn);
      assert.deepEqual(mx.take(table, drawn, 0).tolist(), [
        [9, 10, 11],
        [9, 10, 11],
        [6, 7, 8],
      ]);
    });
  });

  test("the extent is the smallest axis the positions indexed", () => {
    mx.tidy(() => {
      const positions = mx.array([1]);
      const range = deferRangeCheck(positions);
      assert.equal(deferRangeCheck(positions), range);
      mx.take(table, positions, 0);
      mx.take(table, positions, 1);
      assert.equal(range.extent, 3);
    });
  });

  test("the positions are not evaluated (a computation that would fail is never run)", () => {
    const path = mx.saveSafetensors(join(dir, "positions"), { p: mx.array([1, 2, 3], "int32") });
    const { p } = mx.loadSafetensors(path).arrays as { p: mx.Array };
    truncateSync(path, 10);
    mx.tidy(() => {
      const positions = mx.add(p, 0);
      deferRangeCheck(positions);
      const rows = mx.take(table, positions, 0);
      assert.deepEqual(rows.shape, [3, 3]);
      // Unmarked, the same positions are evaluated to be checked, and the read fails.
      assert.throws(() => mx.take(table, mx.add(p, 0), 0), /Unable to read/);
    });
    p.dispose();
  });

  test("unmarked positions are still checked, and a non-integer dtype is still refused", () => {
    assert.throws(() => mx.take(table, mx.array([4]), 0), { name: "RangeError", message: /index 4 is out of range/ });
    mx.tidy(() => {
      const floats = mx.array([1.5]);
      deferRangeCheck(floats);
      assert.throws(() => mx.take(table, floats, 0), { name: "TypeError", message: /must hold integers/ });
    });
  });
});
