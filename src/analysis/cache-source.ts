// What the residual-stream utilities read from a cache, and the argument checks they share: the
// layer bound, the position selection, option names, and the activations a call needs.
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { checkOptionKeys } from "../nn/option-keys.ts";
import type { CacheLayout } from "./cache-layout.ts";
import type { ModelReadout } from "./readout.ts";

export interface CacheSource {
  readonly layout: CacheLayout;
  /** The model's final norm and unembedding; undefined for a cache loaded without its model. */
  readonly readout: ModelReadout | undefined;
  /** The activation under a standard key or path, or undefined when the cache lacks it. */
  find(key: string): MxArray | undefined;
}

/**
 * Which positions to keep: one position (the axis is removed, as TransformerLens's integer
 * slice), a list of positions, or a Python-style slice { start, stop, step }. Negative positions
 * count from the end.
 */
export type PositionSelector = number | readonly number[] | mx.Slice;

/** The layer bound of a utility: undefined or -1 is the whole model (n_layers). */
export function layerBound(layer: number | undefined, layers: number, what: string): number {
  if (layer === undefined || layer === -1) return layers;
  if (!Number.isInteger(layer) || layer < 0 || layer > layers) {
    throw new Error(
      `${what}: layer ${layer} is out of range; give 0 to ${layers} (${layers} or -1 or nothing: the whole model)`,
    );
  }
  return layer;
}

/** Rejects option names a utility does not read (a snake_case TransformerLens name, a typo). */
export function checkOptions(options: object, allowed: readonly string[], what: string): void {
  if (options === undefined) throw new TypeError(`${what}: options must be an object, got undefined`);
  checkOptionKeys(options, allowed, what);
}

/**
 * The activations under `keys`, all or an error naming every missing one and how to cache them
 * (`names` of runWithCache takes standard names such as "attn_out" for every layer).
 */
export function need(source: CacheSource, keys: readonly string[], what: string): MxArray[] {
  return needEach(
    source,
    keys.map((k) => [k]),
    what,
  );
}

/** For each list of equivalent keys, the first the cache holds; missing ones are named by their first key. */
export function needEach(source: CacheSource, alternatives: readonly (readonly string[])[], what: string): MxArray[] {
  const found = alternatives.map((keys) => keys.map((k) => source.find(k)).find((a) => a !== undefined));
  const missing = alternatives.filter((_, i) => found[i] === undefined).map((keys) => keys[0] as string);
  if (missing.length) {
    const names = [...new Set(missing.map((k) => k.replace(/\.\d+$/, "")))];
    throw new Error(
      `${what} needs ${missing.map((k) => `"${k}"`).join(", ")}, which the cache does not hold; ` +
        `cache them with runWithCache(input, { names: ${JSON.stringify(names)} }) (or the default names)`,
    );
  }
  return found as MxArray[];
}

/** The residual stream entering layer `l` (l = layers: the final stream), by whichever key holds it. */
export function streamKeys(layout: CacheLayout, l: number): string[] {
  // The stream entering block l is the one leaving block l - 1: either key holds it.
  if (l === layout.layers) return [`resid_post.${l - 1}`];
  return l === 0 ? ["resid_pre.0"] : [`resid_pre.${l}`, `resid_post.${l - 1}`];
}

/** Checks that `layer` has an MLP input of its own (resid_mid), for the mlpInput option. */
export function checkMlpInput(layout: CacheLayout, layer: number, what: string): void {
  if (layer === layout.layers) {
    throw new Error(`${what}: mlpInput needs a layer below ${layout.layers}; the final stream has no MLP`);
  }
  if (layout.target(`resid_mid.${layer}`) === undefined) {
    throw new Error(
      `${what}: layer ${layer} has no resid_mid (its attention and MLP read the same stream): mlpInput does not apply`,
    );
  }
}

/** The first of `keys` the cache holds, or the error `need` gives for the first. */
export function needOneOf(source: CacheSource, keys: readonly string[], what: string): MxArray {
  return needEach(source, [keys], what)[0] as MxArray;
}

/** x with `pos` applied to its positions axis (`axis`); the axis goes when pos is one position. */
export function selectPositions(x: MxArray, axis: number, pos: PositionSelector | undefined, what: string): MxArray {
  if (pos === undefined) return x;
  const length = x.shape[axis] as number;
  const before: mx.Index[] = new Array(axis).fill(":");
  const inRange = (p: unknown) => Number.isInteger(p) && (p as number) >= -length && (p as number) < length;
  if (typeof pos === "number") {
    if (!inRange(pos)) throw new Error(`${what}: position ${pos} is out of range for ${length} positions`);
    return mx.index(x, ...before, pos);
  }
  if (Array.isArray(pos)) {
    const bad = pos.find((p) => !inRange(p));
    if (bad !== undefined || pos.length === 0) {
      throw new Error(
        `${what}: positions [${pos.join(", ")}] must be a non-empty list of integers in ${-length} to ${length - 1}`,
      );
    }
    return mx.take(
      x,
      pos.map((p) => (p < 0 ? p + length : p)),
      axis,
    );
  }
  if (typeof pos === "object" && pos !== null) {
    const slice = pos as mx.Slice;
    for (const field of Object.keys(slice)) {
      const value = slice[field as keyof mx.Slice];
      if (!["start", "stop", "step"].includes(field) || !(value == null || Number.isInteger(value))) {
        throw new Error(`${what}: a position slice is { start, stop, step } of integers, got ${JSON.stringify(pos)}`);
      }
    }
    if (slice.step === 0) throw new Error(`${what}: a position slice's step must not be 0`);
    const out = mx.index(x, ...before, slice);
    if (out.shape[axis] === 0) throw new Error(`${what}: the slice ${JSON.stringify(pos)} keeps no positions`);
    return out;
  }
  throw new TypeError(`${what}: pos must be a position, a list of positions or a { start, stop, step } slice`);
}

export function checkStack(stack: unknown, what: string): MxArray {
  if (!(stack instanceof mx.Array) || stack.ndim < 2) {
    throw new TypeError(
      `${what}: the stack must be an mx Array [components, ..., d_model] (from decomposeResid and the like)`,
    );
  }
  if (!["float32", "float16", "bfloat16"].includes(stack.dtype)) {
    throw new TypeError(`${what}: the stack must be floating point, got ${stack.dtype}`);
  }
  return stack;
}

/** The model's readout, or an error saying the cache needs its model for `what`. */
export function needReadout(source: CacheSource, what: string) {
  if (source.readout === undefined) {
    throw new Error(
      `${what} needs the model's final norm and unembedding; this cache was loaded without its model: ` +
        "load it with ActivationCache.load(path, { model: hookedModel })",
    );
  }
  return source.readout;
}
