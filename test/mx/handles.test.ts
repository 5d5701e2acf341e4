import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { inspect } from "node:util";
import { mx } from "mlux";

describe("array lifetime", () => {
  test("dispose frees the native array at once, and twice is harmless", () => {
    const before = mx.liveArrays();
    const a = mx.zeros([4]);
    assert.equal(mx.liveArrays(), before + 1);
    a.dispose();
    a.dispose();
    assert.equal(mx.liveArrays(), before);
    assert.equal(a.disposed, true);
  });

  test("a disposed array refuses every use with a clear error", () => {
    const a = mx.ones([2]);
    a.dispose();
    const message = /this Array was disposed; it can no longer be read or used/;
    assert.throws(() => a.shape, message);
    assert.throws(() => a.tolist(), message);
    assert.throws(() => mx.add(a, 1), message);
    assert.throws(() => mx.eval(a), message);
    assert.throws(() => a.toString(), message);
    assert.equal(inspect(a), "array(<disposed>)");
  });

  test("a freed slot reused by a new array is not reachable through the old one", () => {
    const a = mx.array([1, 2, 3]);
    const stale = a.handle;
    a.dispose();
    const b = mx.array([7, 8, 9]);
    // The new array may take the old slot; the old handle still names nothing.
    assert.notEqual(b.handle, stale);
    assert.deepEqual(b.tolist(), [7, 8, 9]);
    b.dispose();
  });

  test("tidy disposes what its callback made, except what it returns", () => {
    const before = mx.liveArrays();
    const kept = mx.tidy(() => {
      const x = mx.arange(10);
      const y = mx.multiply(x, 2);
      return { y, sum: mx.add(y, 1) };
    });
    assert.equal(mx.liveArrays(), before + 2);
    assert.deepEqual(kept.y.tolist(), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    kept.y.dispose();
    kept.sum.dispose();
    assert.equal(mx.liveArrays(), before);
  });

  test("tidy frees many arrays at once: all but those returned, kept or disposed already", () => {
    // More arrays than one batch of the addon's disposeMany (1,024).
    const before = mx.liveArrays();
    const survivor = mx.zeros([1]);
    const { last, kept } = mx.tidy(() => {
      let x = mx.zeros([2]);
      let kept: mx.Array | undefined;
      for (let i = 0; i < 2500; i++) {
        x = mx.add(x, 1);
        if (i === 1300) kept = mx.keep(mx.multiply(x, 2));
        if (i === 2000) mx.add(x, 3).dispose();
      }
      return { last: x, kept: kept as mx.Array };
    });
    assert.equal(mx.liveArrays(), before + 3);
    assert.deepEqual(last.tolist(), [2500, 2500]);
    assert.deepEqual(kept.tolist(), [2602, 2602]);
    assert.deepEqual(survivor.tolist(), [0]);
    for (const a of [last, kept, survivor]) a.dispose();
    assert.equal(mx.liveArrays(), before);
  });

  test("tidy cleans up when its callback throws, and refuses async callbacks", async () => {
    const before = mx.liveArrays();
    assert.throws(
      () =>
        mx.tidy(() => {
          mx.zeros([3]);
          throw new Error("boom");
        }),
      /boom/,
    );
    assert.equal(mx.liveArrays(), before);
    assert.throws(() => mx.tidy(async () => mx.zeros([1])), /synchronous function/);
    assert.equal(mx.liveArrays(), before);
  });

  test("arrays dropped without dispose are freed by garbage collection", async (t) => {
    if (typeof globalThis.gc !== "function") {
      t.skip("needs node --expose-gc");
      return;
    }
    await nextTurn();
    const before = mx.liveArrays();
    for (let i = 0; i < 3000; i++) mx.add(mx.ones([8]), i);
    assert.ok(mx.liveArrays() >= before + 3000);
    for (let round = 0; round < 10 && mx.liveArrays() > before + 10; round++) {
      await nextTurn();
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(mx.liveArrays() <= before + 10, `still alive: ${mx.liveArrays() - before}`);
  });
});

describe("no leaks in a forward-like loop", () => {
  test("matmul, rmsNorm, softmax and a slice update in tidy: live arrays and active memory stay flat", () => {
    const x = mx.random.normal([8, 64], { key: mx.random.key(3) });
    const w = mx.random.normal([64, 64], { key: mx.random.key(4) });
    const gamma = mx.ones([64]);
    mx.eval(x, w, gamma);
    const step = (i: number) =>
      mx.tidy(() => {
        const probs = mx.softmax(mx.fast.rmsNorm(mx.matmul(x, w), gamma, 1e-5), { axis: -1 });
        return mx.sum(mx.at(probs, i % 8, "0:4").set(0)).item();
      });
    for (let i = 0; i < 20; i++) step(i);
    const arrays = mx.liveArrays();
    const active = mx.memory.activeMemory();
    for (let i = 0; i < 500; i++) step(i);
    assert.equal(mx.liveArrays(), arrays);
    assert.equal(mx.memory.activeMemory(), active);
    for (const a of [x, w, gamma]) a.dispose();
  });
});
