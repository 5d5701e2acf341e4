// The common ops as methods of Array, as Python's mx.array has them: `x.reshape([2, -1]).T.sum(0)`
// is `mx.sum(mx.transpose(mx.reshape(x, [2, -1])), 0)`. Each method is the mx function of the same
// name with the array as its first argument (same options, same errors); Python's operators are
// the named methods add, subtract, multiply, divide, power, matmul and the comparisons.
// They are installed on Array's prototype here, so that array.ts needs no import of the ops.
import { MxArray } from "./array.ts";
import { astype, view } from "./creation.ts";
import * as elementwise from "./elementwise.ts";
import { at, index, take, takeAlongAxis } from "./indexing.ts";
import { matmul } from "./linalg.ts";
import * as reduce from "./reduce.ts";
import * as shape from "./shape.ts";
import { argtopk } from "./top-k.ts";

const METHODS = {
  // shape
  reshape: shape.reshape,
  transpose: shape.transpose,
  swapaxes: shape.swapaxes,
  moveaxis: shape.moveaxis,
  squeeze: shape.squeeze,
  expandDims: shape.expandDims,
  flatten: shape.flatten,
  split: shape.split,
  // dtype
  astype,
  view,
  // indexing (Python's a[...] and a.at[...])
  index,
  at,
  take,
  takeAlongAxis,
  // reductions and scans
  sum: reduce.sum,
  mean: reduce.mean,
  prod: reduce.prod,
  max: reduce.max,
  min: reduce.min,
  all: reduce.all,
  any: reduce.any,
  logsumexp: reduce.logsumexp,
  variance: reduce.variance,
  std: reduce.std,
  argmax: reduce.argmax,
  argmin: reduce.argmin,
  cumsum: reduce.cumsum,
  cumprod: reduce.cumprod,
  cummax: reduce.cummax,
  cummin: reduce.cummin,
  logcumsumexp: reduce.logcumsumexp,
  softmax: reduce.softmax,
  topk: reduce.topk,
  argtopk,
  // elementwise
  abs: elementwise.abs,
  negative: elementwise.negative,
  square: elementwise.square,
  sqrt: elementwise.sqrt,
  rsqrt: elementwise.rsqrt,
  reciprocal: elementwise.reciprocal,
  exp: elementwise.exp,
  log: elementwise.log,
  log1p: elementwise.log1p,
  log2: elementwise.log2,
  log10: elementwise.log10,
  sin: elementwise.sin,
  cos: elementwise.cos,
  round: elementwise.round,
  // Python's operators
  add: elementwise.add,
  subtract: elementwise.subtract,
  multiply: elementwise.multiply,
  divide: elementwise.divide,
  power: elementwise.power,
  matmul,
  equal: elementwise.equal,
  notEqual: elementwise.notEqual,
  less: elementwise.less,
  lessEqual: elementwise.lessEqual,
  greater: elementwise.greater,
  greaterEqual: elementwise.greaterEqual,
} as const;

// A function's parameters after its first (the array itself).
type AsMethod<F> = F extends (self: never, ...rest: infer P) => infer R ? (...rest: P) => R : never;
type ArrayMethods = { [K in keyof typeof METHODS]: AsMethod<(typeof METHODS)[K]> };

declare module "./array.ts" {
  interface MxArray extends ArrayMethods {
    /** The array with its axes reversed (Python's `a.T`). */
    readonly T: MxArray;
  }
}

for (const [name, fn] of Object.entries(METHODS) as [string, (self: MxArray, ...rest: unknown[]) => unknown][]) {
  Object.defineProperty(MxArray.prototype, name, {
    value: function (this: MxArray, ...rest: unknown[]) {
      return fn(this, ...rest);
    },
    writable: true,
    configurable: true,
  });
}

Object.defineProperty(MxArray.prototype, "T", {
  get(this: MxArray) {
    return shape.transpose(this);
  },
  configurable: true,
});
