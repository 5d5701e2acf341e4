import assert from "node:assert/strict";
import { mkdtempSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { mx } from "mlux";

const dir = mkdtempSync(join(tmpdir(), "mlux-memory-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const MB = 2 ** 20;

// An evaluated float32 array of `mb` MiB with a buffer of its own (random data, not a broadcast).
function allocate(mb: number): mx.Array {
  const a = mx.random.uniform(0, 1, [(mb * MB) / 4], { key: mx.random.key(1) });
  mx.eval(a);
  return a;
}

// All assertions on memory are relative (before/after), with margins well under the sizes moved.
describe("mx.memory", () => {
  test("activeMemory grows with an evaluated array and falls back after dispose; peak >= active", () => {
    const before = mx.memory.activeMemory();
    const a = allocate(16);
    const during = mx.memory.activeMemory();
    assert.ok(during - before >= 16 * MB, `active grew by ${during - before} bytes`);
    assert.ok(mx.memory.peakMemory() >= during);
    a.dispose();
    const afterDispose = mx.memory.activeMemory();
    assert.ok(during - afterDispose >= 16 * MB, `active fell by ${during - afterDispose} bytes`);
  });

  test("a disposed buffer goes to the cache; clearCache empties it", () => {
    mx.memory.clearCache();
    const cachedBefore = mx.memory.cacheMemory();
    allocate(8).dispose();
    assert.ok(mx.memory.cacheMemory() - cachedBefore >= 8 * MB, "the freed buffer is cached");
    mx.memory.clearCache();
    assert.equal(mx.memory.cacheMemory(), 0);
  });

  test("resetPeakMemory starts the peak afresh", () => {
    allocate(8).dispose();
    mx.memory.resetPeakMemory();
    const reset = mx.memory.peakMemory();
    assert.ok(reset <= mx.memory.activeMemory() + MB, `peak after reset ${reset}`);
    const a = allocate(8);
    assert.ok(mx.memory.peakMemory() - reset >= 8 * MB);
    assert.ok(mx.memory.peakMemory() >= mx.memory.activeMemory());
    a.dispose();
  });

  test("setCacheLimit(0) disables the cache and returns the previous limit", () => {
    const previous = mx.memory.setCacheLimit(0);
    try {
      mx.memory.clearCache();
      allocate(8).dispose();
      assert.equal(mx.memory.cacheMemory(), 0);
      assert.equal(mx.memory.setCacheLimit(previous), 0);
    } finally {
      mx.memory.setCacheLimit(previous);
    }
  });

  test("setMemoryLimit returns the previous limit and memoryLimit reads it", () => {
    const previous = mx.memory.memoryLimit();
    assert.equal(mx.memory.setMemoryLimit(3 * 2 ** 30), previous);
    assert.equal(mx.memory.memoryLimit(), 3 * 2 ** 30);
    assert.equal(mx.memory.setMemoryLimit(previous), 3 * 2 ** 30);
    assert.equal(mx.memory.memoryLimit(), previous);
  });

  test("setWiredLimit returns the previous limit (a no-op off Metal)", () => {
    const previous = mx.memory.setWiredLimit(0);
    assert.equal(typeof previous, "number");
    mx.memory.setWiredLimit(previous);
  });

  test("limits must be non-negative integer byte counts", () => {
    assert.throws(() => mx.memory.setMemoryLimit(-1), /limit must be a non-negative integer number of bytes/);
    assert.throws(() => mx.memory.setCacheLimit(1.5), /limit must be a non-negative integer number of bytes/);
    assert.throws(() => mx.memory.setWiredLimit(Number.NaN), /limit must be a non-negative integer number of bytes/);
    assert.throws(() => mx.memory.setCacheLimit("1GB" as unknown as number), /limit must be a number/);
  });
});

describe("devices", () => {
  test("the default device is available; the cpu always is", () => {
    assert.ok(["cpu", "gpu"].includes(mx.defaultDevice()));
    assert.equal(mx.isAvailable(mx.defaultDevice()), true);
    assert.equal(mx.isAvailable("cpu"), true);
  });

  test("setDefaultDevice('cpu') works; 'gpu' without a gpu backend is a clear Error", () => {
    const initial = mx.defaultDevice();
    try {
      mx.setDefaultDevice("cpu");
      assert.equal(mx.defaultDevice(), "cpu");
      assert.deepEqual(mx.add(mx.array([1, 2]), 1).tolist(), [2, 3]);
      if (!mx.isAvailable("gpu")) {
        assert.throws(() => mx.setDefaultDevice("gpu"), /setDefaultDevice: no gpu is available in this MLX build/);
        assert.equal(mx.defaultDevice(), "cpu");
      }
    } finally {
      mx.setDefaultDevice(initial);
    }
  });

  test("the mlx-cpu build has no gpu", { skip: mx.runtimeInfo.mlxBuild !== "cpu" }, () => {
    assert.equal(mx.isAvailable("gpu"), false);
    assert.equal(mx.defaultDevice(), "cpu");
    assert.equal(mx.runtimeInfo.backend, "cpu");
    assert.equal(mx.runtimeInfo.gpu, null);
  });

  test("runtimeInfo names the build, the backend that computes and the active device", () => {
    assert.ok(["cpu", "cuda12", "cuda13", "metal", "external"].includes(mx.runtimeInfo.mlxBuild));
    assert.ok(["cpu", "cuda", "metal"].includes(mx.runtimeInfo.backend));
    assert.equal(mx.runtimeInfo.backend !== "cpu", mx.isAvailable("gpu"));
    assert.equal(mx.runtimeInfo.device, mx.defaultDevice());
  });

  test("with a GPU backend the gpu computes as the cpu does", { skip: !mx.isAvailable("gpu") }, async () => {
    const initial = mx.defaultDevice();
    try {
      mx.setDefaultDevice("gpu");
      assert.equal(mx.runtimeInfo.device, "gpu");
      assert.equal(typeof mx.runtimeInfo.gpu?.device_name, "string");
      const a = mx.matmul(
        mx.array(
          [
            [1, 2],
            [3, 4],
          ],
          "float32",
        ),
        mx.array([[5], [6]], "float32"),
      );
      await mx.asyncEval(a); // scheduled on this thread, awaited on a worker
      assert.deepEqual(a.tolist(), [[17], [39]]);
    } finally {
      mx.setDefaultDevice(initial);
    }
  });

  test("unknown device names are a TypeError", () => {
    assert.throws(() => mx.setDefaultDevice("cuda" as mx.Device), /device must be "cpu" or "gpu", got string cuda/);
    assert.throws(() => mx.isAvailable("tpu" as mx.Device), /device must be "cpu" or "gpu"/);
  });

  test("synchronize waits for scheduled work", async () => {
    const a = mx.exp(mx.array([0, 1], "float32"));
    const pending = mx.asyncEval(a);
    mx.synchronize();
    await pending;
    assert.deepEqual(a.tolist(), [1, Math.fround(Math.E)]);
  });
});

describe("ownership and disposal", () => {
  test("tidy disposes intermediates and keeps the returned arrays (also inside lists and objects)", () => {
    const made: mx.Array[] = [];
    const out = mx.tidy(() => {
      const x = mx.array([1, 2, 3], "float32");
      const y = mx.multiply(x, 2);
      made.push(x, y);
      return { sum: mx.add(y, 1), list: [y] };
    });
    assert.equal(made[0]?.disposed, true);
    assert.equal(made[1]?.disposed, false, "y is returned inside a list, so it is kept");
    assert.deepEqual(out.sum.tolist(), [3, 5, 7]);
    assert.deepEqual(out.list[0]?.tolist(), [2, 4, 6]);
  });

  test("tidy disposes everything when its callback throws; keep() takes an array out of the scope", () => {
    let inner: mx.Array | undefined;
    let kept: mx.Array | undefined;
    assert.throws(
      () =>
        mx.tidy(() => {
          inner = mx.zeros([2]);
          kept = mx.keep(mx.ones([2]));
          throw new Error("stop");
        }),
      /stop/,
    );
    assert.equal(inner?.disposed, true);
    assert.equal(kept?.disposed, false);
    kept?.dispose();
  });

  test("tidy releases native memory of intermediates", () => {
    const before = mx.memory.activeMemory();
    const result = mx.tidy(() => {
      const big = allocate(16);
      const bigger = mx.add(big, 1);
      mx.eval(bigger);
      return bigger;
    });
    result.dispose();
    assert.ok(mx.memory.activeMemory() - before < MB, "nothing of the 32 MiB stays active");
  });

  test("`using` disposes at the end of the block (tsx lowers it for Node 20)", () => {
    let seen: mx.Array | undefined;
    {
      using a = mx.zeros([2]);
      seen = a;
      assert.equal(a.disposed, false);
    }
    assert.equal(seen.disposed, true);
  });

  test("[Symbol.dispose]() releases the array as dispose() does", () => {
    const a = mx.zeros([2]);
    a[Symbol.dispose]();
    assert.equal(a.disposed, true);
  });

  test("a disposed array cannot be read or used; disposing twice is safe", () => {
    const a = mx.array([1, 2]);
    a.dispose();
    a.dispose();
    assert.throws(() => a.tolist(), /this Array was disposed; it can no longer be read or used/);
    assert.throws(() => a.shape, /this Array was disposed/);
    assert.throws(() => mx.add(a, 1), /this Array was disposed/);
    assert.throws(() => mx.eval(a), /this Array was disposed/);
    assert.equal(String(a.disposed), "true");
  });

  test("disposing an array keeps arrays computed from it valid", () => {
    const a = mx.array([1, 2], "float32");
    const b = mx.multiply(a, 3);
    a.dispose();
    assert.deepEqual(b.tolist(), [3, 6]);
  });
});

describe("asyncEval", () => {
  test("resolves with the arrays computed", async () => {
    const a = mx.add(mx.arange(5), 1);
    const b = mx.multiply(a, a);
    await mx.asyncEval(a, [b]);
    assert.deepEqual(a.tolist(), [1, 2, 3, 4, 5]);
    assert.deepEqual(b.tolist(), [1, 4, 9, 16, 25]);
  });

  test("the event loop keeps running while a long evaluation is in flight", async () => {
    // A chain of elementwise math over 512K elements: far longer than one event-loop turn.
    let x = mx.random.uniform(0, 1, [1 << 19], { key: mx.random.key(2) });
    for (let i = 0; i < 4; i++) x = mx.sin(mx.add(mx.exp(x), 0.5));
    let ticks = 0;
    let running = true;
    const spin = (): void => {
      ticks++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    await mx.asyncEval(x);
    running = false;
    assert.ok(ticks > 100, `the event loop turned ${ticks} times while evaluating`);
  });

  test("an error during evaluation rejects the promise; the process goes on", async () => {
    const path = mx.saveSafetensors(join(dir, "shrinks"), { a: mx.arange(4096, undefined, undefined, "float32") });
    const { a } = mx.loadSafetensors(path).arrays as { a: mx.Array };
    truncateSync(path, 100);
    await assert.rejects(mx.asyncEval(mx.add(a, 1)), /Unable to read/);
    await mx.asyncEval(mx.ones([3]));
  });

  test("a disposed array rejects the promise", async () => {
    const a = mx.ones([2]);
    a.dispose();
    await assert.rejects(mx.asyncEval(a), /this Array was disposed/);
  });
});

describe("exportToDot", () => {
  const primitives = (dot: string) => [...dot.matchAll(/label ="(\w+)", shape=rectangle/g)].map((m) => m[1]);

  test("names each primitive of the lazy graph once, inputs before outputs, and nothing once computed", () => {
    const a = mx.arange(0, 4, 1, "float32");
    const b = mx.exp(a);
    const product = mx.multiply(a, b);
    const sum = mx.add(product, b);
    const dot = mx.exportToDot(sum);
    assert.match(dot, /^digraph \{/);
    assert.deepEqual(primitives(dot), ["Arange", "Exp", "Multiply", "Add"]);
    mx.eval(sum);
    assert.deepEqual(primitives(mx.exportToDot(sum)), []);
    product.dispose();
    assert.throws(() => mx.exportToDot(product), /disposed/);
  });
});

describe("scheduleEval", () => {
  test("returns at once; reading the arrays waits for them", () => {
    const a = mx.add(mx.arange(5), 1);
    const b = mx.multiply(a, a);
    assert.equal(mx.scheduleEval(a, [b]), undefined);
    assert.deepEqual(b.tolist(), [1, 4, 9, 16, 25]);
    assert.deepEqual(a.tolist(), [1, 2, 3, 4, 5]);
  });

  test("a graph built on a scheduled array while it computes gives the same values as without", () => {
    const chain = () => {
      let x = mx.random.uniform(0, 1, [1 << 16], { key: mx.random.key(3) });
      for (let i = 0; i < 4; i++) x = mx.sin(mx.add(mx.exp(x), 0.5));
      return x;
    };
    const expected = mx.tidy(() => mx.sum(chain()).item());
    const got = mx.tidy(() => {
      const x = chain();
      mx.scheduleEval(x);
      const y = mx.sum(x);
      mx.scheduleEval(y);
      return y.item();
    });
    assert.equal(got, expected);
  });

  test("an array disposed before it is read: nothing is left behind and the process goes on", () => {
    const before = mx.liveArrays();
    mx.tidy(() => {
      let x = mx.random.uniform(0, 1, [1 << 18], { key: mx.random.key(4) });
      for (let i = 0; i < 4; i++) x = mx.sin(mx.add(mx.exp(x), 0.5));
      mx.scheduleEval(x);
    });
    assert.equal(mx.liveArrays(), before);
    mx.synchronize();
    assert.deepEqual(mx.add(mx.ones([2]), 1).tolist(), [2, 2]);
  });

  test("an error while computing is thrown (when scheduling or reading, as it comes); the process goes on", () => {
    const path = mx.saveSafetensors(join(dir, "shrinks-scheduled"), {
      a: mx.arange(4096, undefined, undefined, "float32"),
    });
    const { a } = mx.loadSafetensors(path).arrays as { a: mx.Array };
    truncateSync(path, 100);
    const b = mx.add(a, 1);
    assert.throws(() => {
      mx.scheduleEval(b);
      mx.sum(b).item();
    }, /Unable to read/);
    assert.deepEqual(mx.ones([3]).tolist(), [1, 1, 1]);
  });

  test("a disposed array or a non-array is an error at once", () => {
    const a = mx.ones([2]);
    a.dispose();
    assert.throws(() => mx.scheduleEval(a), /this Array was disposed/);
    assert.throws(() => mx.scheduleEval([1] as unknown as mx.Array[]), /element 0 of the list is not an mx Array/);
  });
});
