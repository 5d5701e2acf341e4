import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { closeOracle, expectSameAsPython, randomArray, randomInts } from "../oracle/oracle.ts";

after(closeOracle);

const a = randomArray([3, 4], 1);
const positive = randomArray([3, 4], 3, { lo: 0.1, hi: 4 });
const unit = randomArray([3, 4], 4, { lo: -0.95, hi: 0.95 });

describe("elementwise ops match Python MLX", () => {
  const unaryOnA = [
    "abs",
    "negative",
    "sign",
    "square",
    "exp",
    "expm1",
    "sin",
    "cos",
    "tan",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "sigmoid",
    "erf",
    "floor",
    "ceil",
    "trunc",
    "degrees",
    "radians",
  ] as const;
  for (const name of unaryOnA) {
    test(name, async () => {
      await expectSameAsPython(mx[name](a), `mx.${name}(a)`, { a }, { atol: 1e-6, rtol: 1e-6 });
    });
  }
  for (const name of ["sqrt", "rsqrt", "reciprocal", "log", "log1p", "log2", "log10", "arccosh"] as const) {
    test(name, async () => {
      await expectSameAsPython(mx[name](mx.add(positive, 1)), `mx.${name}(p + 1)`, { p: positive }, { rtol: 1e-6 });
    });
  }
  for (const name of ["arcsin", "arccos", "arctanh", "erfinv"] as const) {
    test(name, async () => {
      await expectSameAsPython(mx[name](unit), `mx.${name}(u)`, { u: unit }, { atol: 1e-6, rtol: 1e-6 });
    });
  }
});

describe("binary ops broadcast and promote as Python MLX does", () => {
  const b = randomArray([4], 2);
  const binaries = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "maximum",
    "minimum",
    "arctan2",
    "logaddexp",
    "equal",
    "notEqual",
    "less",
    "lessEqual",
    "greater",
    "greaterEqual",
  ] as const;
  const python: Record<string, string> = {
    notEqual: "not_equal",
    lessEqual: "less_equal",
    greaterEqual: "greater_equal",
  };
  for (const name of binaries) {
    test(`${name} with broadcasting`, async () => {
      await expectSameAsPython(
        mx[name](a, b),
        `mx.${python[name] ?? name}(a, b)`,
        { a, b },
        { atol: 1e-6, rtol: 1e-6 },
      );
    });
  }
  test("power, floorDivide, remainder", async () => {
    await expectSameAsPython(mx.power(positive, b), "mx.power(p, b)", { p: positive, b }, { rtol: 1e-6 });
    await expectSameAsPython(mx.floorDivide(a, 0.3), "mx.floor_divide(a, 0.3)", { a }, { rtol: 1e-6 });
    await expectSameAsPython(mx.remainder(a, 0.3), "mx.remainder(a, 0.3)", { a }, { atol: 1e-6 });
  });
  test("a float scalar keeps a half-precision array's dtype", async () => {
    const h = randomArray([5], 9, { dtype: "float16" });
    const bf = randomArray([5], 10, { dtype: "bfloat16" });
    await expectSameAsPython(mx.add(h, 0.5), "h + 0.5", { h });
    await expectSameAsPython(mx.multiply(2.5, bf), "2.5 * bf", { bf });
  });
  test("integer arrays with integer and fractional scalars", async () => {
    const i = randomInts([6], 11, -5, 5);
    await expectSameAsPython(mx.add(i, 3), "i + 3", { i });
    await expectSameAsPython(mx.add(i, 2.5), "i + 2.5", { i });
    await expectSameAsPython(mx.multiply(mx.greater(i, 0), 2), "(i > 0) * 2", { i });
  });
  test("mixed array dtypes promote", async () => {
    const h = randomArray([4], 12, { dtype: "float16" });
    const i = randomInts([4], 13, 0, 9);
    await expectSameAsPython(mx.add(h, b), "h + b", { h, b });
    await expectSameAsPython(mx.add(i, h), "i + h", { i, h });
  });
  test("logic and bitwise", async () => {
    const i = randomInts([3, 4], 14, 0, 64);
    const j = randomInts([4], 15, 0, 6);
    const p = mx.greater(a, 0);
    const q = mx.less(b, 0.2);
    await expectSameAsPython(mx.logicalAnd(p, q), "mx.logical_and(p, q)", { p, q });
    await expectSameAsPython(mx.logicalOr(p, q), "mx.logical_or(p, q)", { p, q });
    await expectSameAsPython(mx.logicalNot(p), "mx.logical_not(p)", { p });
    await expectSameAsPython(mx.bitwiseAnd(i, j), "mx.bitwise_and(i, j)", { i, j });
    await expectSameAsPython(mx.bitwiseOr(i, j), "mx.bitwise_or(i, j)", { i, j });
    await expectSameAsPython(mx.bitwiseXor(i, j), "mx.bitwise_xor(i, j)", { i, j });
    await expectSameAsPython(mx.leftShift(i, j), "mx.left_shift(i, j)", { i, j });
    await expectSameAsPython(mx.rightShift(i, j), "mx.right_shift(i, j)", { i, j });
  });
});

describe("selection and rounding", () => {
  test("where with arrays and scalars", async () => {
    const c = mx.greater(a, 0);
    await expectSameAsPython(mx.where(c, a, 0), "mx.where(c, a, 0)", { c, a });
    await expectSameAsPython(mx.where(c, 1.5, a), "mx.where(c, 1.5, a)", { c, a });
  });
  test("clip with one or two bounds", async () => {
    await expectSameAsPython(mx.clip(a, -0.5, 0.5), "mx.clip(a, -0.5, 0.5)", { a });
    await expectSameAsPython(mx.clip(a, null, 0.1), "mx.clip(a, None, 0.1)", { a });
    assert.throws(() => mx.clip(a, null, null), /lower bound, an upper bound, or both/);
  });
  test("round, isclose, allclose, arrayEqual, nanToNum", async () => {
    await expectSameAsPython(mx.round(mx.multiply(a, 100), 1), "mx.round(a * 100, 1)", { a });
    const noisy = mx.add(a, 1e-6);
    await expectSameAsPython(mx.isclose(a, noisy), "mx.isclose(a, n)", { a, n: noisy });
    await expectSameAsPython(mx.allclose(a, noisy, { atol: 1e-3 }), "mx.allclose(a, n, atol=1e-3)", { a, n: noisy });
    await expectSameAsPython(mx.arrayEqual(a, a), "mx.array_equal(a, a)", { a });
    const bad = mx.divide(mx.array([0, 1, -1]), 0);
    await expectSameAsPython(mx.nanToNum(bad, { nan: 7 }), "mx.nan_to_num(x, nan=7)", { x: bad });
    await expectSameAsPython(mx.isnan(bad), "mx.isnan(x)", { x: bad });
    await expectSameAsPython(mx.isposinf(bad), "mx.isposinf(x)", { x: bad });
  });
});

describe("bad operands raise clear errors", () => {
  test("shapes that do not broadcast", () => {
    assert.throws(() => mx.add(mx.zeros([2, 3]), mx.zeros([4])), /broadcast/i);
  });
  test("wrong JS types", () => {
    assert.throws(() => mx.add(a, "2" as unknown as number), /expected an mx Array, a number or a boolean, got string/);
    assert.throws(() => mx.exp({} as unknown as mx.Array), /expected an mx Array/);
    assert.throws(() => mx.add(a, null as unknown as number), /got null/);
  });
  test("bitwise ops on floats", () => {
    assert.throws(() => mx.bitwiseAnd(a, a), /integer|bool/i);
  });
});
