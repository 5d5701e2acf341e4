import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { assertClose, closeOracle, expectSameAsPython, oracle, randomArray } from "../oracle/oracle.ts";

after(closeOracle);

// The same reduction kernels run in both processes, but fp32 matmul runs on OpenBLAS here and on
// MLX's bundled BLAS in Python, which round differently: where a matmul is involved, values agree
// to float32 rounding (about 1e-6 relative), the tolerance used there. Elsewhere: exact.
const MATMUL = { atol: 1e-6, rtol: 2e-6 };

const sumAll = (a: mx.Array): mx.Array => mx.sum(a);
// Mean softmax cross-entropy of logits [n, c] against one-hot targets [n, c].
function crossEntropy(logits: mx.Array, targets: mx.Array): mx.Array {
  return mx.mean(mx.subtract(mx.logsumexp(logits, -1), mx.sum(mx.multiply(logits, targets), -1)));
}

const PY_CROSS_ENTROPY =
  "def ce(logits, y):\n    return (mx.logsumexp(logits, axis=-1) - (logits * y).sum(-1)).mean()\n";

const x34 = randomArray([3, 4], 1);
const oneHot = mx.array(
  [
    [1, 0, 0],
    [0, 0, 1],
    [0, 1, 0],
    [0, 0, 1],
    [1, 0, 0],
  ],
  "float32",
);

describe("gradients match Python MLX", () => {
  test("grad of sum(x * x) is 2x, exactly; int32 inputs keep their dtype as in Python", async () => {
    const g = mx.grad((x: mx.Array) => sumAll(mx.multiply(x, x)))(x34);
    await expectSameAsPython(g, "mx.grad(lambda x: (x * x).sum())(x)", { x: x34 });
    const ints = mx.array([[1, -2, 3]]);
    const gi = mx.grad((x: mx.Array) => sumAll(mx.multiply(x, x)))(ints);
    await expectSameAsPython(gi, "mx.grad(lambda x: (x * x).sum())(x)", { x: ints });
  });

  for (const dtype of ["float32", "float16", "bfloat16"] as const) {
    test(`grad of a scalar function in ${dtype}, and its second derivative`, async () => {
      // The same elementwise kernels on a 0-d input: exact.
      const x = mx.array(0.7, dtype);
      const f = (t: mx.Array) => mx.add(mx.multiply(mx.multiply(t, t), t), mx.sin(t));
      const inputs = { x };
      const py = "f = lambda t: t * t * t + mx.sin(t)\n";
      await expectSameAsPython(mx.grad(f)(x), `${py}result = mx.grad(f)(x)`, inputs);
      await expectSameAsPython(mx.grad(mx.grad(f))(x), `${py}result = mx.grad(mx.grad(f))(x)`, inputs);
    });
  }

  test("softmax cross-entropy: value and gradient with respect to the logits", async () => {
    const logits = randomArray([5, 3], 2, { lo: -2, hi: 2 });
    const [value, g] = mx.valueAndGrad(crossEntropy)(logits, oneHot);
    await expectSameAsPython(
      [value, g],
      `${PY_CROSS_ENTROPY}v, g = mx.value_and_grad(ce)(logits, y)\nresult = [v, g]`,
      { logits, y: oneHot },
    );
  });

  test("an MLP loss with several argnums", async () => {
    const w1 = randomArray([4, 6], 3, { lo: -0.5, hi: 0.5 });
    const b1 = randomArray([6], 4, { lo: -0.1, hi: 0.1 });
    const w2 = randomArray([6, 3], 5, { lo: -0.5, hi: 0.5 });
    const b2 = randomArray([3], 6, { lo: -0.1, hi: 0.1 });
    const x = randomArray([5, 4], 7);
    const loss = (w1: mx.Array, b1: mx.Array, w2: mx.Array, b2: mx.Array, x: mx.Array, y: mx.Array) => {
      const h = mx.tanh(mx.add(mx.matmul(x, w1), b1));
      return crossEntropy(mx.add(mx.matmul(h, w2), b2), y);
    };
    const [value, grads] = mx.valueAndGrad(loss, { argnums: [0, 1, 2, 3] })(w1, b1, w2, b2, x, oneHot);
    assert.equal(grads.length, 4);
    const pyLoss = `${PY_CROSS_ENTROPY}def loss(w1, b1, w2, b2, x, y):
    h = mx.tanh(x @ w1 + b1)
    return ce(h @ w2 + b2, y)
`;
    const inputs = { w1, b1, w2, b2, x, y: oneHot };
    await expectSameAsPython(
      [value, ...grads],
      `${pyLoss}v, g = mx.value_and_grad(loss, argnums=(0, 1, 2, 3))(w1, b1, w2, b2, x, y)\nresult = [v, *g]`,
      inputs,
      MATMUL,
    );
    // Only the second-layer weights, by a negative argnum, and the bias alone as a single argnum.
    const onlyW2 = mx.grad(loss, { argnums: [-4] })(w1, b1, w2, b2, x, oneHot);
    assertClose(onlyW2[0], grads[2] as mx.Array);
    const onlyB1 = mx.grad(loss, { argnums: 1 })(w1, b1, w2, b2, x, oneHot);
    assertClose(onlyB1, grads[1] as mx.Array);
  });

  test("a tree of parameters (object and list) gets a gradient of the same structure", async () => {
    const params = {
      layers: [
        { w: randomArray([4, 3], 8, { lo: -0.5, hi: 0.5 }) },
        { w: randomArray([3, 3], 9, { lo: -0.5, hi: 0.5 }) },
      ],
      bias: randomArray([3], 10, { lo: -0.1, hi: 0.1 }),
    };
    const x = randomArray([5, 4], 11);
    const loss = (p: typeof params, input: mx.Array, y: mx.Array) => {
      const h = mx.tanh(mx.matmul(input, (p.layers[0] as { w: mx.Array }).w));
      return crossEntropy(mx.add(mx.matmul(h, (p.layers[1] as { w: mx.Array }).w), p.bias), y);
    };
    const g = mx.grad(loss)(params, x, oneHot);
    assert.deepEqual(Object.keys(g), ["layers", "bias"]);
    const inputs = {
      w0: params.layers[0]?.w as mx.Array,
      w1: params.layers[1]?.w as mx.Array,
      bias: params.bias,
      x,
      y: oneHot,
    };
    await expectSameAsPython(
      [g.layers[0]?.w as mx.Array, g.layers[1]?.w as mx.Array, g.bias],
      `${PY_CROSS_ENTROPY}def loss(p, x, y):
    h = mx.tanh(x @ p["layers"][0]["w"])
    return ce(h @ p["layers"][1]["w"] + p["bias"], y)
g = mx.grad(loss)({"layers": [{"w": w0}, {"w": w1}], "bias": bias}, x, y)
result = [g["layers"][0]["w"], g["layers"][1]["w"], g["bias"]]`,
      inputs,
      MATMUL,
    );
  });

  test("valueAndGrad of a function returning [loss, aux]: aux is carried, not differentiated", async () => {
    const [[loss, aux], g] = mx.valueAndGrad((x: mx.Array) => [sumAll(mx.multiply(x, x)), mx.add(x, 1)])(x34);
    await expectSameAsPython(
      [loss as mx.Array, aux as mx.Array, g],
      "(l, a), g = mx.value_and_grad(lambda x: ((x * x).sum(), x + 1))(x)\nresult = [l, a, g]",
      { x: x34 },
    );
  });

  test("vjp of a function with two inputs and two outputs", async () => {
    const x = randomArray([2, 3], 12);
    const y = randomArray([2, 3], 13);
    const c1 = randomArray([2, 3], 14);
    const c2 = randomArray([2, 3], 15);
    const { outputs, vjps } = mx.vjp((a, b) => [mx.multiply(a, b), mx.sin(a)], [x, y], [c1, c2]);
    assert.equal(outputs.length, 2);
    assert.equal(vjps.length, 2);
    await expectSameAsPython(
      [...outputs, ...vjps],
      "outs, vjps = mx.vjp(lambda a, b: [a * b, mx.sin(a)], [x, y], [c1, c2])\nresult = [*outs, *vjps]",
      { x, y, c1, c2 },
    );
  });

  test("jvp of a function with two inputs", async () => {
    const x = randomArray([4], 16);
    const y = randomArray([4], 17);
    const tx = randomArray([4], 18);
    const ty = randomArray([4], 19);
    const { outputs, jvps } = mx.jvp((a, b) => mx.multiply(mx.exp(a), b), [x, y], [tx, ty]);
    await expectSameAsPython(
      [...outputs, ...jvps],
      "outs, jvps = mx.jvp(lambda a, b: [mx.exp(a) * b], [x, y], [tx, ty])\nresult = [*outs, *jvps]",
      { x, y, tx, ty },
    );
  });

  test("a gradient with respect to an unused input is zero; non-Array arguments pass through", () => {
    const [gx, gy] = mx.grad((x: mx.Array, _y: mx.Array, scale: number) => mx.multiply(sumAll(x), scale), {
      argnums: [0, 1],
    })(x34, mx.ones([2]), 3);
    assert.deepEqual(
      gx.tolist(),
      Array.from({ length: 3 }, () => [3, 3, 3, 3]),
    );
    assert.deepEqual(gy.tolist(), [0, 0]);
  });
});

// Central differences of f along each coordinate, computed by evaluating f itself.
function finiteDifferences(f: (x: mx.Array) => mx.Array, data: Float64Array | Float32Array, eps: number): number[] {
  const dtype = data instanceof Float64Array ? "float64" : "float32";
  return Array.from(data, (_, i) => {
    const plus = data.slice();
    const minus = data.slice();
    plus[i] = (plus[i] as number) + eps;
    minus[i] = (minus[i] as number) - eps;
    const difference = (f(mx.array(plus, dtype)).item() as number) - (f(mx.array(minus, dtype)).item() as number);
    return difference / (2 * eps);
  });
}

describe("gradients agree with finite differences", () => {
  test("a rational function in float64 (exact arithmetic there), tight", () => {
    // MLX's CPU transcendentals (sin, exp) are only float32-accurate even in float64, so this one
    // sticks to +, *, / where float64 is exact to rounding.
    const data = Float64Array.from([0.3, -1.2, 2.5, 0.9, -0.4, 1.7]);
    const f = (x: mx.Array) =>
      sumAll(mx.add(mx.multiply(mx.square(x), x), mx.divide(mx.multiply(x, 2), mx.add(mx.square(x), 1))));
    const x = mx.array(data, "float64");
    assert.equal(x.dtype, "float64");
    const g = mx.grad(f)(x).toTypedArray() as Float64Array;
    const fd = finiteDifferences(f, data, 1e-6);
    // Truncation ~eps^2 * (third derivative) ~ 1e-11; cancellation ~1e-16 * |f| / eps ~ 1e-9.
    for (const [i, d] of fd.entries())
      assert.ok(Math.abs(d - (g[i] as number)) < 1e-7, `element ${i}: ${d} vs ${g[i]}`);
  });

  test("tanh, exp, sin and division in float32, loosely", () => {
    const data = Float32Array.from([0.3, -1.2, 1.5, 0.9, -0.4, 0.7]);
    const f = (x: mx.Array) =>
      sumAll(mx.add(mx.multiply(mx.tanh(x), mx.sin(x)), mx.divide(mx.exp(mx.divide(x, 3)), mx.add(mx.square(x), 1))));
    const g = mx.grad(f)(mx.array(data)).toTypedArray() as Float32Array;
    const fd = finiteDifferences(f, data, 1e-2);
    // eps 1e-2: truncation ~eps^2 * (third derivative) ~ 1e-4; float32 rounding of f (a few ulp
    // of |f| ~ 3, ~1e-6) over 2 eps ~ 1e-4.
    for (const [i, d] of fd.entries())
      assert.ok(Math.abs(d - (g[i] as number)) < 1e-3, `element ${i}: ${d} vs ${g[i]}`);
  });
});

class CustomError extends Error {}

describe("errors inside and around the traced function", () => {
  const square = (x: mx.Array) => sumAll(mx.multiply(x, x));

  test("a JS exception in the function propagates as the same Error object; the process stays usable", () => {
    const thrown = new CustomError("from inside the traced function");
    assert.throws(
      () =>
        mx.grad((x: mx.Array) => {
          mx.multiply(x, 2);
          throw thrown;
        })(x34),
      (error) => error === thrown,
    );
    assert.throws(
      () =>
        mx.vjp(
          () => {
            throw thrown;
          },
          [x34],
          [x34],
        ),
      (error) => error === thrown,
    );
    assert.throws(
      () =>
        mx.jvp(
          () => {
            throw thrown;
          },
          [x34],
          [x34],
        ),
      (error) => error === thrown,
    );
    // Thrown from an inner grad, through the outer one.
    const fails = (_x: mx.Array): mx.Array => {
      throw thrown;
    };
    assert.throws(
      () => mx.grad((x: mx.Array) => mx.grad(fails)(x))(mx.array(1)),
      (e) => e === thrown,
    );
    // Thrown values that are not Errors pass through unchanged too.
    for (const value of ["a string", 42, undefined, null, { code: 7 }]) {
      const throwing = (_x: mx.Array): mx.Array => {
        throw value;
      };
      assert.throws(
        () => mx.grad(throwing)(x34),
        (error) => error === value,
      );
    }
    const afterwards = mx.grad(square)(mx.array([1, 2], "float32"));
    assert.deepEqual(afterwards.tolist(), [2, 4]);
  });

  test("a function that returns something other than Arrays is a TypeError", () => {
    const message = /must return an Array or a non-empty list of Arrays/;
    assert.throws(() => mx.grad((_x: mx.Array) => 3 as unknown as mx.Array)(x34), message);
    assert.throws(() => mx.grad((_x: mx.Array) => [] as mx.Array[])(x34), message);
    assert.throws(() => mx.grad((_x: mx.Array) => [1, 2] as unknown as mx.Array[])(x34), message);
    assert.throws(() => mx.vjp(() => undefined as unknown as mx.Array, [x34], [x34]), /mx\.vjp must return/);
  });

  test("an async function is a TypeError (its result is a Promise, not Arrays)", () => {
    const asyncFn = (async (x: mx.Array) => sumAll(x)) as unknown as (x: mx.Array) => mx.Array;
    assert.throws(() => mx.grad(asyncFn)(x34), /must return an Array .* got an object \(Promise\)/);
  });

  test("reading a tracer's values inside the function works; asyncEval there rejects", async () => {
    let seen: unknown;
    let pending: Promise<void> | undefined;
    const g = mx.grad((x: mx.Array) => {
      seen = x.tolist();
      pending = mx.asyncEval(mx.exp(x));
      return sumAll(mx.multiply(x, x));
    })(mx.array([1, 2, 3], "float32"));
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(g.tolist(), [2, 4, 6]);
    await assert.rejects(pending as Promise<void>, /\[async_eval\] Not allowed inside a graph transformation/);
  });

  test("scheduleEval inside the function is an error, as asyncEval", () => {
    assert.throws(
      () =>
        mx.grad((x: mx.Array) => {
          mx.scheduleEval(mx.exp(x));
          return sumAll(x);
        })(mx.array([1, 2], "float32")),
      /\[async_eval\] Not allowed inside a graph transformation/,
    );
  });

  test("the gradient of a non-scalar output is a clear error, also for a one-element non-scalar", () => {
    const message = /\[grad\] the function must return a scalar \(a 0-d array\).*output has shape \(3,4\)/;
    assert.throws(() => mx.grad((x: mx.Array) => mx.multiply(x, x))(x34), message);
    assert.throws(
      () => mx.valueAndGrad((x: mx.Array) => mx.reshape(sumAll(x), [1, 1]))(x34),
      /must return a scalar \(a 0-d array\).*output has shape \(1,1\)/,
    );
  });

  test("bad argnums", () => {
    assert.throws(
      () => mx.grad(square, { argnums: 1 })(x34),
      /argnums 1 is out of range: the function was called with 1/,
    );
    assert.throws(() => mx.grad(square, { argnums: [0, -1] })(x34), /argnums lists argument -1 twice/);
    assert.throws(() => mx.grad(square, { argnums: [] })(x34), /non-empty list of integers/);
    assert.throws(() => mx.grad(square, { argnums: 0.5 })(x34), /argnums must hold integers/);
  });

  test("a differentiated argument that holds no Arrays, or something else", () => {
    assert.throws(() => mx.grad((x: number) => mx.array(x))(3), /argument 0 is differentiated.*number 3/);
    assert.throws(() => mx.grad((p: { w: unknown }) => p.w as mx.Array)({ w: "a" }), /argument 0\.w is differentiated/);
    assert.throws(() => mx.grad((p: mx.Array[]) => p[0] as mx.Array)([]), /hold no Arrays/);
  });

  test("not a function; vjp/jvp shapes and counts that do not fit", () => {
    assert.throws(() => mx.grad(42 as unknown as () => mx.Array), /mx\.grad needs a function, got number 42/);
    assert.throws(
      () => mx.vjp((x) => x, [x34], [mx.ones([2])]),
      /Output shape \(3,4\) does not match cotangent shape \(2\)/,
    );
    assert.throws(() => mx.vjp((x) => x, [x34], []), /does not match number of cotangents/);
    assert.throws(() => mx.jvp((x) => x, [x34], [mx.ones([2])]), /Input shape does not match shape of tangent/);
    assert.throws(() => mx.jvp((x) => x, [x34], []), /Number of inputs does not match number of tangents/);
    assert.throws(
      () => mx.vjp((x) => x, [3 as unknown as mx.Array], [x34]),
      /element 0 of the list is not an mx Array/,
    );
  });

  test("a disposed input", () => {
    const gone = mx.ones([2]);
    gone.dispose();
    assert.throws(() => mx.grad(square)(gone), /this Array was disposed/);
  });
});

describe("tracers do not leak", () => {
  test("arrays made inside the function are disposed when the transform returns; kept ones and outer ones are not", () => {
    const outer = mx.array([1, 2, 3], "float32");
    const inside: mx.Array[] = [];
    let kept: mx.Array | undefined;
    const g = mx.grad((x: mx.Array) => {
      inside.push(x);
      const y = mx.multiply(x, outer);
      inside.push(y);
      kept = mx.keep(mx.add(y, 0));
      return sumAll(y);
    })(mx.array([4, 5, 6], "float32"));
    assert.deepEqual(g.tolist(), [1, 2, 3]);
    assert.ok(inside.every((a) => a.disposed));
    assert.equal(outer.disposed, false);
    assert.equal(kept?.disposed, false);
    assert.deepEqual(kept?.tolist(), [4, 10, 18]);
  });

  test("tracers are disposed when the function throws", () => {
    const inside: mx.Array[] = [];
    assert.throws(() =>
      mx.grad((x: mx.Array): mx.Array => {
        inside.push(x, mx.exp(x));
        throw new Error("stop");
      })(x34),
    );
    assert.ok(inside.length === 2 && inside.every((a) => a.disposed));
  });

  test("each transform leaves only its results alive, also when the function throws", () => {
    const w = randomArray([4, 4], 21);
    const f = (v: mx.Array) => sumAll(mx.multiply(mx.tanh(v), v));
    const before = mx.liveArrays();
    const g = mx.grad(f)(w);
    assert.equal(mx.liveArrays(), before + 1);
    const [value, g2] = mx.valueAndGrad(f)(w);
    assert.equal(mx.liveArrays(), before + 3);
    const { outputs, vjps } = mx.vjp((v) => mx.exp(v), [w], [w]);
    const forward = mx.jvp((v) => [mx.exp(v), mx.sin(v)], [w], [w]);
    assert.equal(mx.liveArrays(), before + 3 + 2 + 4);
    for (const a of [g, value, g2, ...outputs, ...vjps, ...forward.outputs, ...forward.jvps]) a.dispose();
    assert.equal(mx.liveArrays(), before);
    assert.throws(() =>
      mx.grad((v: mx.Array): mx.Array => {
        mx.exp(v);
        throw new Error("stop");
      })(w),
    );
    assert.equal(mx.liveArrays(), before);
  });

  test("repeated gradient steps hold no extra native memory", () => {
    const w = randomArray([64, 64], 20);
    const step = () => mx.tidy(() => mx.grad((v: mx.Array) => sumAll(mx.multiply(mx.tanh(v), v)))(w)).dispose();
    step();
    const before = mx.memory.activeMemory();
    for (let i = 0; i < 20; i++) step();
    assert.ok(mx.memory.activeMemory() - before < 64 * 1024, `grew by ${mx.memory.activeMemory() - before} bytes`);
  });

  test("the oracle agrees after all of the above (the process is healthy)", async () => {
    const [value] = await oracle().run("result = mx.array(2.0) * 3");
    assert.equal(value?.item(), 6);
  });
});
