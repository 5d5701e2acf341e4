// Elementwise math with broadcasting, comparisons and logic (mlx.core counterparts).
import { type MxArray, wrap } from "./array.ts";
import { nativeFunction, nativeFunctions } from "./native.ts";
import { type Operand, operand } from "./operand.ts";

const n = nativeFunctions("allclose", "arrayEqual", "clip", "isclose", "nanToNum", "round", "where");

type Unary = (a: Operand) => MxArray;
type Binary = (a: Operand, b: Operand) => MxArray;

function unary(name: string): Unary {
  const fn = nativeFunction(name);
  return (a) => wrap(fn(operand(a)));
}

function binary(name: string): Binary {
  const fn = nativeFunction(name);
  return (a, b) => wrap(fn(operand(a), operand(b)));
}

export const abs = unary("abs");
export const negative = unary("negative");
export const sign = unary("sign");
export const square = unary("square");
export const sqrt = unary("sqrt");
export const rsqrt = unary("rsqrt");
export const reciprocal = unary("reciprocal");
export const exp = unary("exp");
export const expm1 = unary("expm1");
export const log = unary("log");
export const log1p = unary("log1p");
export const log2 = unary("log2");
export const log10 = unary("log10");
export const sin = unary("sin");
export const cos = unary("cos");
export const tan = unary("tan");
export const arcsin = unary("arcsin");
export const arccos = unary("arccos");
export const arctan = unary("arctan");
export const sinh = unary("sinh");
export const cosh = unary("cosh");
export const tanh = unary("tanh");
export const arcsinh = unary("arcsinh");
export const arccosh = unary("arccosh");
export const arctanh = unary("arctanh");
export const sigmoid = unary("sigmoid");
export const erf = unary("erf");
export const erfinv = unary("erfinv");
export const floor = unary("floor");
export const ceil = unary("ceil");
export const trunc = unary("trunc");
export const isnan = unary("isnan");
export const isinf = unary("isinf");
export const isfinite = unary("isfinite");
export const isposinf = unary("isposinf");
export const isneginf = unary("isneginf");
export const logicalNot = unary("logicalNot");
export const bitwiseInvert = unary("bitwiseInvert");
export const real = unary("real");
export const imag = unary("imag");
export const conjugate = unary("conjugate");
export const degrees = unary("degrees");
export const radians = unary("radians");
/** The same values, with no gradient flowing back through them. */
export const stopGradient = unary("stopGradient");
export const copy = unary("copy");

export const add = binary("add");
export const subtract = binary("subtract");
export const multiply = binary("multiply");
export const divide = binary("divide");
export const floorDivide = binary("floorDivide");
export const remainder = binary("remainder");
export const power = binary("power");
export const maximum = binary("maximum");
export const minimum = binary("minimum");
export const arctan2 = binary("arctan2");
export const logaddexp = binary("logaddexp");
export const equal = binary("equal");
export const notEqual = binary("notEqual");
export const less = binary("less");
export const lessEqual = binary("lessEqual");
export const greater = binary("greater");
export const greaterEqual = binary("greaterEqual");
export const logicalAnd = binary("logicalAnd");
export const logicalOr = binary("logicalOr");
export const bitwiseAnd = binary("bitwiseAnd");
export const bitwiseOr = binary("bitwiseOr");
export const bitwiseXor = binary("bitwiseXor");
export const leftShift = binary("leftShift");
export const rightShift = binary("rightShift");

/** Rounds to `decimals` decimal places (half to even). */
export function round(a: Operand, decimals = 0): MxArray {
  return wrap(n.round(operand(a), decimals));
}

/** Picks from x where condition is true, from y elsewhere, with broadcasting. */
export function where(condition: Operand, x: Operand, y: Operand): MxArray {
  return wrap(n.where(operand(condition), operand(x), operand(y)));
}

/** Limits values to [min, max]; either bound may be null. */
export function clip(a: Operand, min: Operand | null, max: Operand | null): MxArray {
  return wrap(n.clip(operand(a), min === null ? null : operand(min), max === null ? null : operand(max)));
}

export interface CloseOptions {
  rtol?: number;
  atol?: number;
  equalNan?: boolean;
}

/** Elementwise |a - b| <= atol + rtol * |b|. */
export function isclose(a: Operand, b: Operand, options: CloseOptions = {}): MxArray {
  return wrap(n.isclose(operand(a), operand(b), options.rtol ?? 1e-5, options.atol ?? 1e-8, options.equalNan ?? false));
}

/** Whether isclose holds everywhere (a boolean scalar array). */
export function allclose(a: Operand, b: Operand, options: CloseOptions = {}): MxArray {
  return wrap(
    n.allclose(operand(a), operand(b), options.rtol ?? 1e-5, options.atol ?? 1e-8, options.equalNan ?? false),
  );
}

/** Whether a and b have the same shape and values (a boolean scalar array). */
export function arrayEqual(a: Operand, b: Operand, options: { equalNan?: boolean } = {}): MxArray {
  return wrap(n.arrayEqual(operand(a), operand(b), options.equalNan ?? false));
}

/** Replaces NaN with `nan` (default 0) and infinities with the given or the dtype's extreme values. */
export function nanToNum(a: Operand, options: { nan?: number; posinf?: number; neginf?: number } = {}): MxArray {
  return wrap(n.nanToNum(operand(a), options.nan ?? 0, options.posinf, options.neginf));
}
