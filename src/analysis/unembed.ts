// Logits from residual-stream vectors, as the model makes them from its final stream: the final
// norm, the unembedding, then the model's fixed transform of the logits (soft-cap, scaling). All in
// float32 whatever the weights' dtype, so that layers and models compare on one footing.
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { checkOptions } from "./cache-source.ts";
import type { FinalNorm, ModelReadout } from "./readout.ts";

export interface UnembedOptions {
  /**
   * Normalize each vector with the final norm first, on its own statistics (default true: the
   * logit lens). false: x is taken as the final norm's output already.
   */
  applyFinalNorm?: boolean;
}

/**
 * Logits [..., vocab] (float32) of residual vectors x [..., d_model]: the model's final norm (each
 * vector on its own statistics), its unembedding (with the head's bias, if any), then its logit
 * soft-cap and scaling, in the order the model applies them. One matrix product for all of x.
 */
export function unembed(readout: ModelReadout, x: MxArray, options: UnembedOptions = {}): MxArray {
  const what = "unembed";
  checkOptions(options, ["applyFinalNorm"], what);
  if (!(x instanceof mx.Array) || x.ndim < 1 || !["float32", "float16", "bfloat16"].includes(x.dtype)) {
    throw new TypeError(`${what}: x must be a floating-point Array [..., d_model]`);
  }
  const { unembedding, finalNorm, identity } = readout;
  if (x.shape[x.ndim - 1] !== identity.dModel) {
    throw new Error(`${what}: x is [${x.shape}] but the model's residual stream is ${identity.dModel} wide`);
  }
  return mx.tidy(() => {
    const stream = mx.astype(x, "float32");
    const normalized = options.applyFinalNorm === false ? stream : applyFinalNorm(finalNorm, stream);
    let logits = unembedding.project(normalized, "float32");
    const cap = unembedding.finalLogitSoftcap;
    if (cap !== undefined) logits = mx.multiply(mx.tanh(mx.divide(logits, cap)), cap);
    if (unembedding.logitsScaling !== undefined) logits = mx.divide(logits, unembedding.logitsScaling);
    return logits;
  });
}

/**
 * The final norm of each float32 vector on its own statistics: centre?(x) / sqrt(stat(x) + eps) ·
 * weight + bias, the norm's own formula (its module may compute in the weights' dtype; this does not).
 */
export function applyFinalNorm(norm: FinalNorm, x: MxArray): MxArray {
  return mx.tidy(() => {
    const centred = norm.centres ? mx.subtract(x, mx.mean(x, { axis: -1, keepdims: true })) : x;
    const statistic = mx.mean(mx.square(centred), { axis: -1, keepdims: true });
    let out = mx.multiply(centred, mx.rsqrt(mx.add(statistic, norm.eps)));
    const weight = norm.weight();
    if (weight !== undefined) out = mx.multiply(out, mx.astype(weight, "float32"));
    const bias = norm.bias();
    if (bias !== undefined) out = mx.add(out, mx.astype(bias, "float32"));
    return out;
  });
}
