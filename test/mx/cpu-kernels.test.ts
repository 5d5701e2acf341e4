// mx.cpuKernels (native/src/cpu_kernels.cc) against float64 references computed here from the same
// float32 inputs.
//
// Tolerances. exp: a range reduction and a polynomial whose own error is about 1e-9, evaluated in
// float32: measured at most 1.22 ulp from float64's exp over 2M points of [-87.3, 88.7] (relative
// 1.18e-7; 0.5 ulp of it is float32's own rounding); allowed 2 ulp where the result is a normal float,
// and 1 unit of 2^-149 in the subnormal range. silu(gate) · up: exp plus an add, a product and a
// division, each rounding once in float32: relative 5e-7 (about 4 ulp), measured 2.5e-7 over [-20, 20]; below gate
// -88.7 exp(-gate) overflows to inf and the result underflows to 0 where the exact value is under
// 1e-35 (as in MLX's gate · sigmoid(gate)), hence 1e-35 absolute.
// softmax: an exp per score, float32 sums over up to a few hundred terms in 16 partial sums, one
// division: relative 1e-6 of each probability plus 1e-9 absolute for the tiny ones.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mx } from "mlux";

const ULP1 = 2 ** -23;
const SUBNORMAL = 2 ** -149;

function values(a: mx.Array): Float32Array {
  return a.toTypedArray({ copy: true }) as Float32Array;
}

function randomFloats(count: number, seed: number, lo: number, hi: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * state) / 2 ** 32;
  }
  return out;
}

describe("cpuKernels.exp", () => {
  test("within 2 ulp of float64's exp from the smallest subnormal to FLT_MAX, exact at the edges", () => {
    const grid = Array.from({ length: 400_001 }, (_, i) => -104 + (193 * i) / 400_000);
    const specials = [0, -0, 1, -1, 88.72283, 88.7229, 89, 1e30, -103.27, -103.97, -104, -1e30, Infinity, -Infinity];
    const xs = new Float32Array([...grid, ...specials, ...randomFloats(10_000, 7, -1, 1)]);
    const got = values(mx.cpuKernels.exp(mx.array(xs)));
    let worstUlp = 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i] as number;
      const exact = Math.exp(x);
      const y = got[i] as number;
      if (exact > 3.4028234663852886e38) {
        assert.equal(y, Infinity, `exp(${x}) overflows`);
      } else if (exact < 2 ** -126) {
        assert.ok(Math.abs(y - exact) <= SUBNORMAL, `exp(${x}) = ${y}, exact ${exact}`);
      } else {
        const ulps = Math.abs(y - exact) / (2 ** Math.floor(Math.log2(exact)) * ULP1);
        worstUlp = Math.max(worstUlp, ulps);
        assert.ok(ulps <= 2, `exp(${x}) = ${y}, exact ${exact}: ${ulps.toFixed(2)} ulp`);
      }
    }
    assert.ok(worstUlp > 0, "no result differed from float64's at all: the comparison compared nothing");
    const [nan] = values(mx.cpuKernels.exp(mx.array([Number.NaN])));
    assert.ok(Number.isNaN(nan), "exp(NaN) is NaN");
    assert.deepEqual([...values(mx.cpuKernels.exp(mx.array([0, -Infinity, Infinity])))], [1, 0, Infinity]);
  });

  test("reads strided input (a transposed view)", () => {
    mx.tidy(() => {
      const x = mx.reshape(mx.array(randomFloats(35, 3, -5, 5)), [5, 7]);
      const t = mx.transpose(x);
      assert.deepEqual(values(mx.cpuKernels.exp(t)), values(mx.transpose(mx.cpuKernels.exp(x))));
    });
  });
});

describe("cpuKernels.siluGate", () => {
  test("silu(gate) · up within 5e-7 relative of float64, with large, small and extreme gates", () => {
    const gate = new Float32Array([...randomFloats(5000, 11, -12, 12), -100, -89, -88, 80, 100, 0, -0, 1e-30]);
    const up = randomFloats(gate.length, 12, -3, 3);
    const got = values(mx.cpuKernels.siluGate(mx.array(gate), mx.array(up)));
    for (let i = 0; i < gate.length; i++) {
      const g = gate[i] as number;
      const exact = (g * (up[i] as number)) / (1 + Math.exp(-g));
      const y = got[i] as number;
      assert.ok(Math.abs(y - exact) <= 5e-7 * Math.abs(exact) + 1e-35, `silu(${g}) · ${up[i]} = ${y}, exact ${exact}`);
    }
  });

  test("gate and up must match", () => {
    mx.tidy(() => {
      assert.throws(
        () => mx.cpuKernels.siluGate(mx.zeros([2, 3]), mx.zeros([3])),
        /\[cpu_silu_gate\] gate and up must have the same shape; got \(2,3\) and \(3\)/,
      );
      assert.throws(
        () => mx.cpuKernels.siluGate(mx.zeros([3], "float16"), mx.zeros([3])),
        /\[cpu_silu_gate\] gate must be float32; got float16/,
      );
    });
  });
});

// softmax(scale · scores) per row in float64, over the keys row r's query sees (offset + r mod block).
function referenceSoftmax(scores: Float32Array, keys: number, block: number, offset: number, scale = 1) {
  const out = new Float64Array(scores.length);
  for (let row = 0; row * keys < scores.length; row++) {
    const visible = offset + (row % block) + 1;
    const base = row * keys;
    let largest = -Infinity;
    for (let j = 0; j < visible; j++) largest = Math.max(largest, (scores[base + j] as number) * scale);
    let sum = 0;
    for (let j = 0; j < visible; j++) sum += Math.exp((scores[base + j] as number) * scale - largest);
    for (let j = 0; j < visible; j++) out[base + j] = Math.exp((scores[base + j] as number) * scale - largest) / sum;
  }
  return out;
}

function checkSoftmax(shape: number[], block: number, offset: number, scores: Float32Array, scale = 1): void {
  const keys = shape.at(-1) as number;
  const got = values(mx.cpuKernels.causalSoftmax(mx.reshape(mx.array(scores), shape), { block, offset, scale }));
  const exact = referenceSoftmax(scores, keys, block, offset, scale);
  for (let i = 0; i < got.length; i++) {
    const row = Math.floor(i / keys);
    const key = i % keys;
    const where = `row ${row} key ${key} (block ${block}, offset ${offset}, shape ${shape})`;
    if (key > offset + (row % block)) {
      assert.equal(got[i], 0, `masked ${where}`);
      assert.ok(Object.is(got[i], 0), `masked ${where} is +0`);
    } else {
      const e = exact[i] as number;
      assert.ok(Math.abs((got[i] as number) - e) <= 1e-6 * e + 1e-9, `${where}: ${got[i]}, exact ${e}`);
    }
  }
}

describe("cpuKernels.causalSoftmax", () => {
  test("every mask offset from 0 to keys - block, single and grouped rows, a batch", () => {
    for (const [shape, block] of [
      [[2, 3, 8, 20], 8],
      [[1, 2, 12, 12], 4], // three query heads folded into the rows of each key head
      [[5, 1], 1],
      [[1, 4, 33], 4],
    ] as const) {
      const keys = shape.at(-1) as number;
      const size = shape.reduce((a: number, b: number) => a * b, 1);
      for (let offset = 0; offset + block <= keys; offset++) {
        checkSoftmax([...shape], block, offset, randomFloats(size, offset + 100, -4, 4));
      }
    }
  });

  test("large and small scores, a scale, masked (-inf) scores among the visible ones", () => {
    const shape = [2, 64, 200];
    const size = 2 * 64 * 200;
    checkSoftmax(shape, 64, 136, randomFloats(size, 1, -300, 300));
    checkSoftmax(shape, 32, 100, randomFloats(size, 2, -1e-3, 1e-3));
    checkSoftmax(shape, 64, 136, randomFloats(size, 3, -40, 40), 0.125);
    const withInf = randomFloats(size, 4, -5, 5);
    for (let i = 0; i < size; i += 7) withInf[i] = -Infinity;
    checkSoftmax(shape, 64, 136, withInf);
  });

  test("a row whose visible scores are all -inf is NaN, as any softmax of only -inf", () => {
    const got = values(mx.cpuKernels.causalSoftmax(mx.array([[-Infinity, 1, 2]]), { block: 1, offset: 0 }));
    assert.ok(Number.isNaN(got[0]));
    assert.deepEqual([got[1], got[2]], [0, 0]);
  });

  test("bad input: the error says what is wrong", () => {
    mx.tidy(() => {
      const s = mx.zeros([2, 8, 16]);
      const bad: [() => unknown, RegExp][] = [
        [() => mx.cpuKernels.causalSoftmax(mx.zeros([16]), { block: 1, offset: 0 }), /at least 2 axes.*\(16\)/],
        [
          () => mx.cpuKernels.causalSoftmax(s, { block: 3, offset: 0 }),
          /block must be a positive divisor of the rows \(8\); got 3/,
        ],
        [() => mx.cpuKernels.causalSoftmax(s, { block: 0, offset: 0 }), /block must be a positive divisor/],
        [
          () => mx.cpuKernels.causalSoftmax(s, { block: 8, offset: 9 }),
          /offset \+ block \(8\) at most the keys \(16\); got offset 9/,
        ],
        [() => mx.cpuKernels.causalSoftmax(s, { block: 8, offset: -1 }), /offset must be >= 0/],
        [
          () => mx.cpuKernels.causalSoftmax(s, { block: 8, offset: 0, scale: Number.NaN }),
          /scale must be a nonzero number within float32's range; got nan/,
        ],
        [() => mx.cpuKernels.causalSoftmax(s, { block: 8, offset: 0, scale: 1e300 }), /scale must be a nonzero/],
        [() => mx.cpuKernels.causalSoftmax(s, { block: 1.5, offset: 0 }), /block must be a 32-bit integer/],
        [
          () => mx.cpuKernels.causalSoftmax(mx.zeros([8, 16], "bfloat16"), { block: 8, offset: 0 }),
          /scores must be float32; got bfloat16/,
        ],
      ];
      for (const [call, message] of bad) assert.throws(call, message);
    });
  });

  test("not differentiable: a gradient through it is a clear error", () => {
    const f = (x: mx.Array) => mx.sum(mx.cpuKernels.causalSoftmax(x, { block: 2, offset: 0 }));
    assert.throws(() => mx.grad(f)(mx.zeros([2, 4])), /\[CpuCausalSoftmax\] is not differentiable/);
  });

  test("on a GPU device it refuses with a clear error", {
    skip: !mx.isAvailable("gpu") && "no GPU in this build",
  }, () => {
    const before = mx.defaultDevice();
    mx.setDefaultDevice("gpu");
    try {
      assert.throws(() => mx.cpuKernels.exp(mx.zeros([2])), /\[cpu_exp\] runs on the CPU only/);
    } finally {
      mx.setDefaultDevice(before);
    }
  });
});
