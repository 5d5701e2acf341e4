// Inputs that once ended the process (a signal, heap corruption, a V8 fatal error) or never
// returned. Each is sent in a child process (test/reliability/isolated.ts): the test expects a clear
// Error, a living process, and a correct next operation.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runIsolated } from "./isolated.ts";

/** Runs `body` in a child and checks it threw an Error matching `message`, and that mx still works. */
function refuses(body: string, message: RegExp, env?: Record<string, string>): void {
  const outcome = runIsolated(body, { env });
  assert.ok(
    outcome.error !== undefined,
    `expected an Error, but the snippet returned ${JSON.stringify(outcome.value)}`,
  );
  assert.match(outcome.error, message);
  assert.deepEqual(outcome.next, [2, 3]);
}

describe("inputs that crashed the process are refused with an Error", () => {
  test("gatherMm, gatherQmm and segmentedMm indices out of range (the gradient corrupted the heap)", () => {
    refuses(
      `const a = mx.ones([2, 3, 4]), b = mx.ones([2, 4, 5]);
       const { vjps } = mx.vjp((x, y) => mx.gatherMm(x, y, { lhsIndices: mx.array([7], "uint32") }), [a, b], [mx.ones([1, 3, 5])]);
       return vjps[0].tolist();`,
      /\[gather_mm\] lhsIndices holds 7, out of range: it must lie in \[0, 1\]/,
    );
    refuses(
      `return mx.gatherMm(mx.ones([2, 3, 4]), mx.ones([2, 4, 5]), { rhsIndices: mx.array([0, 2], "uint32") }).tolist();`,
      /\[gather_mm\] rhsIndices holds 2, out of range/,
    );
    refuses(
      `return mx.gatherMm(mx.ones([2, 3, 4]), mx.ones([2, 4, 5]), { lhsIndices: mx.array([-1]) }).tolist();`,
      /\[gather_mm\] lhsIndices holds -1, out of range/,
    );
    refuses(
      `const w = mx.quantize(mx.ones([2, 8, 64]));
       return mx.gatherQmm(mx.ones([1, 64]), w.wq, w.scales, w.biases, { rhsIndices: mx.array([5], "uint32") }).tolist();`,
      /\[gather_qmm\] rhsIndices holds 5, out of range/,
    );
    refuses(
      `return mx.segmentedMm(mx.ones([3, 4]), mx.ones([4, 5]), mx.array([[0, 9]], "uint32")).tolist();`,
      /\[segmented_mm\] segments holds 9, out of range: it must lie in \[0, 4\]/,
    );
    refuses(
      `return mx.segmentedMm(mx.ones([3, 4]), mx.ones([4, 5]), mx.array([[3, 1]], "uint32")).tolist();`,
      /a segment ends before it starts/,
    );
  });

  test("in-range gatherMm indices still compute the product, and its gradient", () => {
    const outcome = runIsolated(
      `const a = mx.reshape(mx.arange(0, 24, 1, "float32"), [2, 3, 4]), b = mx.ones([2, 4, 1]);
       const idx = mx.array([1, 0], "uint32");
       const { outputs, vjps } = mx.vjp((x, y) => mx.gatherMm(x, y, { lhsIndices: idx }), [a, b], [mx.ones([2, 3, 1])]);
       return [outputs[0].tolist(), mx.sum(vjps[0]).item()];`,
    );
    assert.equal(outcome.error, undefined);
    // Row sums of a[1] then a[0]; each row of a[1] = [12+4r .. 15+4r] sums to 54 + 16r.
    assert.deepEqual(outcome.value, [
      [
        [[54], [70], [86]],
        [[6], [22], [38]],
      ],
      24,
    ]);
  });

  test("eig, eigvals, eigh, svd, pinv and the SVD norms of matrices with NaN or Infinity", () => {
    for (const op of [
      "mx.linalg.eig(m)[0]",
      "mx.linalg.eigvals(m)",
      "mx.linalg.eigh(m)[0]",
      "mx.linalg.svd(m)[0]",
      "mx.linalg.pinv(m)",
      "mx.linalg.norm(m, 2)",
      "mx.linalg.norm(m, 'nuc')",
    ]) {
      for (const bad of ["Infinity", "NaN", "-Infinity"]) {
        refuses(`const m = mx.array([[${bad}, 1], [1, 2]]); return ${op}.tolist();`, /NaN or Infinity/);
      }
    }
  });

  test("hadamardTransform on sizes its kernels get wrong", () => {
    for (const size of [36, 60, 100, 1000, 3]) {
      refuses(
        `return mx.hadamardTransform(mx.ones([1, ${size}])).tolist();`,
        /must be a power of 2, or 12, 20 or 28 times one/,
      );
    }
    // The supported sizes keep the norm (the scaled transform is orthogonal).
    const outcome = runIsolated(
      `return [1, 2, 8, 12, 20, 28, 48, 80, 112].map((n) => {
         const x = mx.random.normal([1, n], { key: mx.random.key(n) });
         const y = mx.hadamardTransform(x);
         return [mx.sum(mx.square(x)).item(), mx.sum(mx.square(y)).item()];
       });`,
    );
    for (const [before, after] of outcome.value as [number, number][]) {
      // float32 sums of up to 112 squares: relative error well under 1e-5.
      assert.ok(Math.abs(before - after) <= 1e-5 * before, `norm ${before} became ${after}`);
    }
  });

  test("allocations that cannot fit, by every route, before evaluation", () => {
    const routes = [
      "mx.eval(mx.eye(1e6))",
      "mx.eval(mx.tri(1e6))",
      "mx.zeros([1e6, 1e6]).toTypedArray()",
      "mx.sum(mx.zeros([1e6, 1e6])).item()",
      "mx.memory.setMemoryLimit(1e9) && mx.eval(mx.arange(0, 1e9, 1, 'float32'))",
      "mx.eval(mx.outer(mx.ones([1e6]), mx.ones([1e6])))",
      "mx.eval(mx.matmul(mx.ones([1e6, 1]), mx.ones([1, 1e6])))",
      "mx.eval(mx.kron(mx.ones([1e3, 1e3]), mx.ones([1e3, 1e3])))",
      "mx.eval(mx.einsum('i,j->ij', mx.ones([1e6]), mx.ones([1e6])))",
      "mx.eval(mx.cumsum(mx.zeros([1e6, 1e6]), 0))",
      "mx.eval(mx.sort(mx.zeros([1e6, 1e6])))",
      "mx.eval(mx.concatenate([mx.zeros([1e6, 1e6]), mx.zeros([1e6, 1e6])]))",
      "mx.eval(mx.tile(mx.ones([1000, 1000]), [1e4, 10]))",
      "mx.eval(mx.pad(mx.ones([2, 2]), 1e6))",
      "mx.eval(mx.at(mx.zeros([1e6, 1e6]), 0).set(1))",
      "mx.eval(mx.fast.scaledDotProductAttention(mx.ones([1, 1, 1e6, 8]), mx.ones([1, 1, 1e6, 8]), mx.ones([1, 1, 1e6, 8])))",
      "mx.memory.setMemoryLimit(1e9) && mx.eval(mx.unique(mx.zeros([20000, 20000]), 4))",
      "mx.memory.setMemoryLimit(1e9) && mx.eval(mx.random.split(mx.random.key(0), 2 ** 31 - 1))",
      "mx.scheduleEval(mx.eye(1e6))",
      "mx.eye(1e6).toString()",
    ];
    for (const route of routes) refuses(`return ${route};`, /not enough memory to evaluate/);
    refuses("await mx.asyncEval(mx.eye(1e6));", /not enough memory to evaluate/);
  });

  test("the memory limit bounds evaluation, and work that fits under it still runs", () => {
    refuses(
      "mx.memory.setMemoryLimit(1e8); return mx.eye(1e4).toTypedArray().length;",
      /under the limit of 1e\+08 bytes/,
    );
    refuses(
      "mx.memory.setMemoryLimit(1e9); return mx.eval(mx.random.normal([1.5e9, 2]));",
      /not enough memory to evaluate/,
    );
    // The copy of JS data into a new array, too (it was an unchecked allocation).
    refuses("mx.memory.setMemoryLimit(1e8); return mx.array(new Float32Array(3e7)).shape;", /needs 1\.2e\+08 bytes/);
    const outcome = runIsolated("mx.memory.setMemoryLimit(1e8); return mx.sum(mx.eye(1000)).item();");
    assert.deepEqual([outcome.error, outcome.value], [undefined, 1000]);
  });

  test("an array too large to describe to V8 can be made, its shape read, and not evaluated", () => {
    const outcome = runIsolated(
      "const a = mx.zeros([1e6, 1e6, 1e6]); const s = a.shape; try { mx.eval(a); } catch (e) { return [s, e.message.slice(0, 28)]; }",
    );
    assert.deepEqual(outcome.value, [[1e6, 1e6, 1e6], "not enough memory to evaluat"]);
  });

  test("integer division of the most negative value by -1", () => {
    const outcome = runIsolated(`
      const min32 = mx.array([-(2 ** 31), 7, -7], "int32"), by = mx.array([-1, -1, 2], "int32");
      const min64 = mx.array([-(2n ** 63n), 7n]), by64 = mx.array([-1n, -1n]);
      return [mx.floorDivide(min32, by).tolist(), mx.remainder(min32, by).tolist(),
              mx.floorDivide(min64, by64).tolist(), mx.remainder(min64, by64).tolist(),
              mx.floorDivide(min32, -1).tolist(), mx.remainder(-(2 ** 31), mx.array([-1], "int32")).tolist()];`);
    assert.equal(outcome.error, undefined);
    // As NumPy: the quotient wraps to the most negative value; the remainder is 0.
    assert.deepEqual(outcome.value, [
      [-(2 ** 31), -7, -4],
      [0, 0, 1],
      ["-9223372036854775808", "-7"],
      ["0", "0"],
      [-(2 ** 31), -7, 7],
      [0],
    ]);
  });

  test("conv1d with groups 0, and other impossible settings", () => {
    const conv = (options: string) => `return mx.conv1d(mx.ones([1, 4, 2]), mx.ones([2, 1, 2]), ${options}).tolist();`;
    refuses(conv("{ groups: 0 }"), /conv1d: groups must be an integer of at least 1, got 0/);
    refuses(conv("{ padding: -1 }"), /conv1d: padding must be an integer of at least 0, got -1/);
    refuses(conv("{ stride: 0 }"), /conv1d: stride must be an integer of at least 1, got 0/);
    refuses(conv("{ dilation: 1.5 }"), /conv1d: dilation must be an integer of at least 1, got 1.5/);
  });

  test("tolist of an array with more nested lists than the JS heap holds", () => {
    refuses(
      "return mx.zeros([2 ** 31 - 1, 0]).tolist();",
      /tolist\(\): an array of shape \[2147483647,0\] makes 2147483648/,
    );
    const outcome = runIsolated("return mx.zeros([3, 0]).tolist();");
    assert.deepEqual(outcome.value, [[], [], []]);
  });
});
