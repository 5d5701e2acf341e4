// mx.fast: the fused kernels of a transformer forward pass (mlx.core.fast counterparts).
import { MxArray, wrap } from "./array.ts";
import { type Handle, nativeFunctions } from "./native.ts";
import { describe, operand } from "./operand.ts";

const n = nativeFunctions("layerNorm", "rmsNorm", "rope", "scaledDotProductAttention");

function optionalArray(a: MxArray | null | undefined, what: string): Handle | undefined {
  if (a === null || a === undefined) return undefined;
  if (!(a instanceof MxArray)) throw new TypeError(`${what} must be an mx Array or null, got ${describe(a)}`);
  return a.handle;
}

/** x / sqrt(mean(x^2, -1) + eps) * weight over the last axis; weight may be null (no scaling); eps default 1e-5. */
function rmsNorm(x: MxArray, weight: MxArray | null, eps = 1e-5): MxArray {
  return wrap(n.rmsNorm(operand(x), optionalArray(weight, "rmsNorm weight"), eps));
}

/** (x - mean) / sqrt(var + eps) * weight + bias over the last axis; weight, bias may be null; eps default 1e-5. */
function layerNorm(x: MxArray, weight: MxArray | null, bias: MxArray | null, eps = 1e-5): MxArray {
  return wrap(
    n.layerNorm(operand(x), optionalArray(weight, "layerNorm weight"), optionalArray(bias, "layerNorm bias"), eps),
  );
}

export interface RopeOptions {
  /** Rotate consecutive pairs (x0, x1), (x2, x3)... instead of the two halves (default false). */
  traditional?: boolean;
  /** Base of the angular frequencies (default 10000); must be null when `freqs` is given. */
  base?: number | null;
  /** Scale applied to the positions (default 1). */
  scale?: number;
  /** Position of the first token (default 0): a number, a scalar Array, or one offset per batch entry. */
  offset?: number | MxArray;
  /** Explicit frequencies, dims / 2 of them, instead of base ** (-2i / dims). */
  freqs?: MxArray;
}

/**
 * Rotary position embedding of the first `dims` features of x (shape [B, ..., T, D], dims even and
 * <= D); the remaining features pass unchanged.
 */
function rope(x: MxArray, dims: number, options: RopeOptions = {}): MxArray {
  const freqs = optionalArray(options.freqs, "rope freqs");
  const base = options.base === undefined ? (freqs === undefined ? 10000 : undefined) : options.base;
  const offset = options.offset ?? 0;
  if (typeof offset !== "number" && !(offset instanceof MxArray)) {
    throw new TypeError(`rope offset must be a number or an mx Array, got ${describe(offset)}`);
  }
  return wrap(
    n.rope(
      operand(x),
      dims,
      options.traditional ?? false,
      base ?? undefined,
      options.scale ?? 1,
      typeof offset === "number" ? offset : undefined,
      typeof offset === "number" ? undefined : offset.handle,
      freqs,
    ),
  );
}

export interface AttentionOptions {
  /** Multiplies q @ k^T; default 1 / sqrt(head dim). */
  scale?: number;
  /**
   * "causal" (lower-right aligned: the last query sees every key), a boolean Array (true =
   * attend), an additive Array (added to the scores), or none. Arrays broadcast to
   * [B, n_heads, T_q, T_kv].
   */
  mask?: "causal" | MxArray | null;
  /** Per-head attention-sink logits ([n_heads]) that join each softmax but carry no value. */
  sinks?: MxArray | null;
}

/**
 * softmax(q @ k^T * scale + mask) @ v, fused. q: [B, n_heads, T_q, D]; k, v: [B, n_kv_heads, T_kv,
 * D] with n_heads a multiple of n_kv_heads (grouped-query attention; do not repeat k and v).
 */
function scaledDotProductAttention(q: MxArray, k: MxArray, v: MxArray, options: AttentionOptions = {}): MxArray {
  const mask = options.mask;
  let mode: "" | "causal" | "array";
  if (mask === undefined || mask === null) mode = "";
  else if (mask === "causal") mode = "causal";
  else if (mask instanceof MxArray) mode = "array";
  else throw new TypeError(`attention mask must be "causal", an mx Array or null, got ${describe(mask)}`);
  const scale = options.scale ?? 1 / Math.sqrt(headDim(q));
  return wrap(
    n.scaledDotProductAttention(
      operand(q),
      operand(k),
      operand(v),
      scale,
      mode,
      mode === "array" ? (mask as MxArray).handle : undefined,
      optionalArray(options.sinks, "attention sinks"),
    ),
  );
}

function headDim(q: MxArray): number {
  if (!(q instanceof MxArray)) throw new TypeError(`attention queries must be an mx Array, got ${describe(q)}`);
  const d = q.shape.at(-1);
  if (d === undefined || d === 0)
    throw new Error(`attention queries need a non-empty last axis, got shape [${q.shape}]`);
  return d;
}

/** mx.fast: fused normalization, rotary embedding and attention kernels. */
export const fast = {
  rmsNorm,
  layerNorm,
  rope,
  scaledDotProductAttention,
} as const;
