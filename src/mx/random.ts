// Random sampling with MLX's counter-based PRNG (threefry, as JAX). Functions take an optional
// explicit `key` (from key() or split()); without one they draw from a global key sequence that
// seed() resets. With the same key, results are bit-identical to Python MLX's.
import { MxArray, wrap } from "./array.ts";
import { type DType, dtypeCode } from "./dtype.ts";
import { nativeFunctions } from "./native.ts";
import { describe, type Operand, operand } from "./operand.ts";

const n = nativeFunctions(
  "randomBernoulli",
  "randomCategorical",
  "randomGumbel",
  "randomKey",
  "randomLaplace",
  "randomMultivariateNormal",
  "randomNormal",
  "randomPermutation",
  "randomRandint",
  "randomSeed",
  "randomSplit",
  "randomTruncatedNormal",
  "randomUniform",
);

/** A PRNG key: a uint32 array of shape [2]. */
export type Key = MxArray;

/** Options every sampler takes. */
export interface KeyOption {
  /** The PRNG key; default: the next key of the global sequence. */
  key?: Key;
}

function keyHandle(options: KeyOption): unknown {
  const key = options.key;
  if (key === undefined || key === null) return undefined;
  if (!(key instanceof MxArray)) throw new TypeError(`key must be an Array from mx.random.key(), got ${describe(key)}`);
  return key.handle;
}

function shapeArg(shape: readonly number[] | number, what = "shape"): readonly number[] {
  if (typeof shape === "number") return [shape];
  if (!Array.isArray(shape)) throw new TypeError(`${what} must be a list of integers, got ${describe(shape)}`);
  return shape;
}

/** A PRNG key from a seed (a non-negative integer, or a bigint up to 2^64 - 1). */
export function key(seed: number | bigint): Key {
  return wrap(n.randomKey(seed));
}

/** Seeds the global key sequence that samplers use when given no key. */
export function seed(seed: number | bigint): void {
  n.randomSeed(seed);
}

/** Splits a key into `num` (default 2) new keys, stacked along the first axis: shape [num, 2]. */
export function split(key: Key, num = 2): MxArray {
  return wrap(n.randomSplit(operand(key), num));
}

/** Uniform samples in [low, high) (bounds broadcast to `shape`). dtype: float32 by default. */
export function uniform(
  low: Operand = 0,
  high: Operand = 1,
  shape: readonly number[] = [],
  options: { dtype?: DType } & KeyOption = {},
): MxArray {
  return wrap(
    n.randomUniform(
      operand(low),
      operand(high),
      shapeArg(shape),
      dtypeCode(options.dtype ?? "float32"),
      keyHandle(options),
    ),
  );
}

/**
 * Normal samples with mean `loc` (default 0) and standard deviation `scale` (default 1); numbers
 * or Arrays broadcast to `shape`. dtype: float32 by default (complex64 allowed).
 */
export function normal(
  shape: readonly number[] = [],
  options: { dtype?: DType; loc?: Operand; scale?: Operand } & KeyOption = {},
): MxArray {
  const loc = options.loc === undefined ? undefined : operand(options.loc);
  const scale = options.scale === undefined ? undefined : operand(options.scale);
  return wrap(n.randomNormal(shapeArg(shape), dtypeCode(options.dtype ?? "float32"), loc, scale, keyHandle(options)));
}

/** Integers drawn uniformly from [low, high) (bounds broadcast to `shape`). dtype: int32 by default. */
export function randint(
  low: Operand,
  high: Operand,
  shape: readonly number[] = [],
  options: { dtype?: DType } & KeyOption = {},
): MxArray {
  return wrap(
    n.randomRandint(
      operand(low),
      operand(high),
      shapeArg(shape),
      dtypeCode(options.dtype ?? "int32"),
      keyHandle(options),
    ),
  );
}

/** Booleans that are true with probability `p` (default 0.5); shape: p's shape by default. */
export function bernoulli(p: Operand = 0.5, shape?: readonly number[], options: KeyOption = {}): MxArray {
  return wrap(n.randomBernoulli(operand(p), shape === undefined ? undefined : shapeArg(shape), keyHandle(options)));
}

/**
 * Normal samples truncated to the open interval (lower, upper); shape: that of the broadcast bounds
 * by default. dtype: float32 by default.
 */
export function truncatedNormal(
  lower: Operand,
  upper: Operand,
  shape?: readonly number[],
  options: { dtype?: DType } & KeyOption = {},
): MxArray {
  return wrap(
    n.randomTruncatedNormal(
      operand(lower),
      operand(upper),
      shape === undefined ? undefined : shapeArg(shape),
      dtypeCode(options.dtype ?? "float32"),
      keyHandle(options),
    ),
  );
}

/** Samples of the standard Gumbel distribution (CDF exp(-exp(-x))). dtype: float32 by default. */
export function gumbel(shape: readonly number[] = [], options: { dtype?: DType } & KeyOption = {}): MxArray {
  return wrap(n.randomGumbel(shapeArg(shape), dtypeCode(options.dtype ?? "float32"), keyHandle(options)));
}

/** Laplace samples with location `loc` (default 0) and scale `scale` (default 1). */
export function laplace(
  shape: readonly number[] = [],
  options: { dtype?: DType; loc?: number; scale?: number } & KeyOption = {},
): MxArray {
  return wrap(
    n.randomLaplace(
      shapeArg(shape),
      dtypeCode(options.dtype ?? "float32"),
      options.loc ?? 0,
      options.scale ?? 1,
      keyHandle(options),
    ),
  );
}

/**
 * Indices sampled from the categorical distributions given by unnormalized `logits` along `axis`
 * (default -1). The output has logits' shape without `axis`, or `shape` (broadcast-compatible
 * with that), or `numSamples` samples per distribution in a new last axis; at most one of the two.
 */
export function categorical(
  logits: MxArray,
  options: { axis?: number; shape?: readonly number[]; numSamples?: number } & KeyOption = {},
): MxArray {
  return wrap(
    n.randomCategorical(
      operand(logits),
      options.axis ?? -1,
      options.shape === undefined ? undefined : shapeArg(options.shape),
      options.numSamples,
      keyHandle(options),
    ),
  );
}

/**
 * Samples of the multivariate normal with `mean` (shape [..., n]) and covariance `cov` ([..., n, n],
 * positive semi-definite). dtype: float32 (the only one MLX supports here).
 */
export function multivariateNormal(
  mean: MxArray,
  cov: MxArray,
  shape: readonly number[] = [],
  options: { dtype?: DType } & KeyOption = {},
): MxArray {
  return wrap(
    n.randomMultivariateNormal(
      operand(mean),
      operand(cov),
      shapeArg(shape),
      dtypeCode(options.dtype ?? "float32"),
      keyHandle(options),
    ),
  );
}

/**
 * A random permutation of arange(x) for an integer x, or the entries of the Array x shuffled along
 * `axis` (default 0).
 */
export function permutation(x: number | MxArray, options: { axis?: number } & KeyOption = {}): MxArray {
  if (typeof x !== "number" && !(x instanceof MxArray)) {
    throw new TypeError(`permutation takes an integer or an Array, got ${describe(x)}`);
  }
  return wrap(n.randomPermutation(operand(x), options.axis ?? 0, keyHandle(options)));
}

/** mx.random: the samplers above as one namespace, as mlx.core.random. */
export const random = {
  key,
  seed,
  split,
  uniform,
  normal,
  randint,
  bernoulli,
  truncatedNormal,
  gumbel,
  laplace,
  categorical,
  multivariateNormal,
  permutation,
} as const;
