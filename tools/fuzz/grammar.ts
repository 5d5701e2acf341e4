// Random programs over the exported mx functions: random shapes (related, so that operands often
// fit together), every dtype, hostile numbers (NaN, Infinity, huge, negative, fractions, the most
// negative integers) and wrong types, as arguments, option values and array contents.

import { DTYPES as MX_DTYPES } from "../../src/mx/dtype.ts";
import type { MxProgram, Read, Step, Value } from "./program.ts";
import type { Random } from "./random.ts";

/** Exported mx functions the grammar calls, by path; see opsOf() for what is left out and why. */
export interface OpTable {
  [path: string]: number; // the function's declared parameter count
}

// Left out: functions that change the process rather than compute (memory limits: a fuzzed
// limit of 1e15 would let a child take the machine's memory; file I/O with fuzzed paths), and
// the runtime's introspection, which takes no input.
const EXCLUDED = new Set([
  "memory.setMemoryLimit",
  "memory.setCacheLimit",
  "memory.setWiredLimit",
  "saveSafetensors",
  "loadSafetensors",
  "liveArrays",
  "Array",
  "DTYPES",
  "runtimeInfo",
]);

/** The callable exports of `mx` and its namespaces (linalg, random, fast, memory). */
export function opsOf(mx: Record<string, unknown>): OpTable {
  const ops: OpTable = {};
  const visit = (object: Record<string, unknown>, prefix: string) => {
    for (const [name, value] of Object.entries(object)) {
      const path = prefix + name;
      if (EXCLUDED.has(path)) continue;
      if (typeof value === "function" && !/^[A-Z]/.test(name)) ops[path] = value.length;
      else if (typeof value === "object" && value !== null && prefix === "")
        visit(value as Record<string, unknown>, `${path}.`);
    }
  };
  visit(mx, "");
  return ops;
}

// Every dtype, with float32 and int32 (the ones models and indices use) drawn more often.
const DTYPES: readonly string[] = [...MX_DTYPES, "float32", "float32", "int32"];

const HOSTILE_NUMBERS: Value[] = [
  { num: "NaN" },
  { num: "Infinity" },
  { num: "-Infinity" },
  { num: "-0" },
  { num: -1 },
  { num: 0 },
  { num: 1.5 },
  { num: -2.5 },
  { num: 2 ** 31 - 1 },
  { num: 2 ** 31 },
  { num: -(2 ** 31) },
  { num: 2 ** 32 },
  { num: 2 ** 53 },
  { num: 1e9 },
  { num: 1e300 },
  { num: -1e300 },
  { num: 1e-320 },
  { num: 4294967295 },
];

const HOSTILE_DIMS = [-1, 1.5, 2 ** 31 - 1, 2 ** 31, 1e6, 1e9, 65536, 100000];

const OPTION_KEYS = [
  "axis",
  "axes",
  "keepdims",
  "dtype",
  "key",
  "stride",
  "padding",
  "dilation",
  "groups",
  "k",
  "lhsIndices",
  "rhsIndices",
  "sortedIndices",
  "scale",
  "bits",
  "groupSize",
  "mode",
  "transpose",
  "endpoint",
  "shape",
  "num",
  "ord",
  "upper",
  "side",
  "fillValue",
  "mask",
  "traditional",
  "base",
  "offset",
  "dims",
  "eps",
  "weight",
  "bias",
  "decimals",
  "inverse",
  "reverse",
  "loc",
  "p",
  "lower",
  "count",
  "maskMode",
  "sinks",
  "freqs",
  "equalNan",
  "rtol",
  "atol",
  "start",
  "stop",
  "step",
  "globalScale",
];

const ELEMENT_VALUES = [0, 1, -1, 2, 3, -7, 0.5, 1e-3, 100, 65504, 1e38, -(2 ** 31), 2 ** 31 - 1];
const HOSTILE_ELEMENTS = [Number.NaN, Infinity, -Infinity, -0, 1e300, -1e300, 2 ** 63, -(2 ** 63)];

/** Makes the programs of one campaign position; the same (random, ops) always give the same one. */
export class MxGrammar {
  readonly #ops: string[];
  readonly #arity: OpTable;

  constructor(
    private readonly random: Random,
    ops: OpTable,
  ) {
    this.#arity = ops;
    this.#ops = Object.keys(ops).sort();
  }

  program(): MxProgram {
    const r = this.random;
    const dims = [r.pick([0, 1, 1, 2, 3, 4, 5]), r.pick([1, 2, 3, 4, 8, 12, 16]), r.pick([1, 2, 3, 4, 20, 28, 36, 60])];
    const steps: Step[] = [];
    const length = r.int(1, 5);
    for (let i = 0; i < length; i++) steps.push(this.#step(steps.length, dims));
    return { kind: "mx", steps };
  }

  #step(index: number, dims: number[]): Step {
    const r = this.random;
    const op = r.pick(this.#ops);
    const declared = this.#arity[op] ?? 1;
    const count = Math.max(0, declared + r.pick([0, 0, 0, 0, 1, -1, 2]));
    const args: Value[] = [];
    const transform = /^(grad|valueAndGrad|vjp|jvp|tidy|keep)$/.test(op);
    for (let i = 0; i < count; i++) {
      if (transform && i === 0) args.push(this.#function(dims));
      else if (op === "vjp" || op === "jvp") args.push({ list: [this.#array(dims), this.#array(dims)] });
      // Most functions take an array first: an array there most of the time lets calls get past the
      // first type check and into MLX.
      else if (i === 0 && r.chance(0.8)) args.push(this.#array(dims));
      else args.push(this.#value(index, dims, 0));
    }
    const read = r.weighted<Read>({ eval: 5, tolist: 3, toString: 1, none: 1 });
    return { op, args, read };
  }

  #function(dims: number[]): Value {
    const r = this.random;
    const op = r.pick(this.#ops.filter((o) => !/^(grad|valueAndGrad|vjp|jvp|tidy|keep|asyncEval)$/.test(o)));
    const extra = r.chance(0.5) ? [] : [this.#value(0, dims, 1)];
    return { fn: { op, extra } };
  }

  #value(index: number, dims: number[], depth: number): Value {
    const r = this.random;
    const kind = r.weighted({
      array: 50,
      ref: index > 0 ? 15 : 0,
      int: 10,
      shape: 7,
      options: depth === 0 ? 7 : 0,
      hostile: 4,
      dtype: 3,
      string: 1,
      bool: 1,
      missing: 1,
      bigint: 1,
    });
    switch (kind) {
      case "array":
        return this.#array(dims);
      case "ref":
        return { ref: r.int(0, index - 1) };
      case "int":
        return { num: r.pick([0, 1, 2, 3, -1, -2, 4, 8, ...dims]) };
      case "shape":
        return { list: this.#shape(dims).map((d) => ({ num: d })) };
      case "options": {
        const obj: Record<string, Value> = {};
        for (let i = r.int(1, 3); i > 0; i--) {
          const name = r.pick(OPTION_KEYS);
          obj[name] = r.chance(0.75) ? this.#option(name, dims) : this.#value(index, dims, 1);
        }
        return { obj };
      }
      case "hostile":
        return r.pick(HOSTILE_NUMBERS);
      case "dtype":
        return { str: r.pick(DTYPES) };
      case "string":
        return {
          str: r.pick([
            "ij,jk->ik",
            "i,i->",
            "",
            "fro",
            "nuc",
            "L",
            "U",
            "causal",
            "left",
            "right",
            "affine",
            "mxfp4",
            "gpu",
            "\u0000",
            "x".repeat(300),
          ]),
        };
      case "bool":
        return { bool: r.chance(0.5) };
      case "bigint":
        return {
          big: r.pick([
            "0",
            "-1",
            "18446744073709551615",
            "-9223372036854775808",
            "340282366920938463463374607431768211456",
          ]),
        };
      default:
        return { none: r.chance(0.5) ? "undefined" : "null" };
    }
  }

  /** A value of the kind an option of this name takes (usually right, sometimes hostile). */
  #option(name: string, dims: number[]): Value {
    const r = this.random;
    const hostile = r.chance(0.15);
    if (/^(axis|k|num|offset|groupSize|bits|stride|padding|dilation|groups|decimals|count|dims|kth)$/.test(name)) {
      return hostile ? r.pick(HOSTILE_NUMBERS) : { num: r.pick([0, 1, 2, 3, -1, -2, 4, 8, 16, 32, 64, ...dims]) };
    }
    if (name === "axes" || name === "shape") return { list: this.#shape(dims).map((d) => ({ num: d })) };
    if (name === "dtype") return { str: r.pick(DTYPES) };
    if (/^(keepdims|sortedIndices|transpose|endpoint|upper|traditional|inverse|reverse|equalNan)$/.test(name)) {
      return { bool: r.chance(0.5) };
    }
    if (name === "mode") return { str: r.pick(["affine", "mxfp4", "nvfp4", "mxfp8", "x"]) };
    if (name === "maskMode") return { str: r.pick(["causal", "", "array", "x"]) };
    if (name === "side") return { str: r.pick(["left", "right", "x"]) };
    if (name === "ord") return r.chance(0.5) ? { str: r.pick(["fro", "nuc", "x"]) } : r.pick(HOSTILE_NUMBERS);
    if (name === "key") return { key: r.int(0, 2 ** 31 - 1) };
    if (/^(lhsIndices|rhsIndices)$/.test(name)) {
      const shape = [r.pick(dims)];
      const values = Array.from({ length: Math.min(64, Math.max(0, shape[0] as number)) }, () =>
        hostile ? r.pick(ELEMENT_VALUES) : r.int(0, 4),
      );
      return { array: { shape: [values.length], dtype: r.pick(["uint32", "int32", "int64", "float32"]), values } };
    }
    if (/^(mask|weight|bias|freqs|sinks|globalScale|fillValue)$/.test(name)) return this.#array(dims);
    return hostile ? r.pick(HOSTILE_NUMBERS) : { num: r.pick([0, 0.5, 1, 1e-5, 2, 10000, -1]) };
  }

  #shape(dims: number[]): number[] {
    const r = this.random;
    const rank = r.weighted({ 0: 1, 1: 3, 2: 4, 3: 2, 4: 1 } as Record<string, number>);
    const shape: number[] = [];
    for (let i = 0; i < Number(rank); i++) shape.push(r.pick(dims));
    if (r.chance(0.04)) shape[r.int(0, Math.max(0, shape.length - 1))] = r.pick(HOSTILE_DIMS);
    return shape;
  }

  #array(dims: number[]): Value {
    const r = this.random;
    const shape = this.#shape(dims);
    const dtype = r.pick(DTYPES);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!(size >= 0 && size <= 64 && shape.every(Number.isInteger)))
      return { array: { shape, dtype, values: "random" } };
    const hostile = r.chance(0.2);
    const values: number[] = [];
    for (let i = 0; i < size; i++)
      values.push(hostile && r.chance(0.5) ? r.pick(HOSTILE_ELEMENTS) : r.pick(ELEMENT_VALUES));
    return { array: { shape, dtype, values } };
  }
}
