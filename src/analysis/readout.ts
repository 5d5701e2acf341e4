// What the cache's utilities need of the model beyond its activations: the final norm (to scale
// residual components as the model's last norm would) and the unembedding (a token's direction in
// the residual stream), with any fixed transform of the logits after it, all where the model's
// layout says they are, each applied by its own layer.
import type { CausalLM } from "../models/causal-lm.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { Embedding, QuantizedEmbedding } from "../nn/layers/embedding.ts";
import { Linear, QuantizedLinear } from "../nn/layers/linear.ts";
import { isFeatureNorm } from "../nn/layers/normalization.ts";
import type { Module } from "../nn/module.ts";

/**
 * The final norm as y = centre?(x) / sqrt(stat(x) + eps) · weight + bias, where stat is the mean
 * square (RMSNorm) or the variance (LayerNorm, which also centres).
 */
export interface FinalNorm {
  /** The path of the norm module, as the model's layout gives it. */
  path: string;
  /** LayerNorm subtracts the mean before scaling; RMSNorm does not. */
  centres: boolean;
  eps: number;
  /** The multiplier of each feature, as the norm applies it (1 + weight where the norm adds one), if any. */
  weight(): MxArray | undefined;
  /** The added constant of each feature (LayerNorm's bias), if any. */
  bias(): MxArray | undefined;
  /** The norm module's own forward pass on x (its fused kernel). */
  apply(x: MxArray): MxArray;
}

/** How the model turns the final norm's output into logits. */
export interface Unembedding {
  /** The path of the projection (a linear head, or the tied token embedding), as the model's layout gives it. */
  path: string;
  /** The rows of the unembedding matrix for these token ids: ids.shape + [d_model], dequantized to `dtype`. */
  directions(ids: MxArray, dtype: mx.DType): MxArray;
  /**
   * x [..., d_model] projected onto every token: [..., vocab], with the head's bias where it has one,
   * computed in `dtype` (the weights dequantized or cast to it), before any soft-cap or scaling.
   */
  project(x: MxArray, dtype: mx.DType): MxArray;
  /** Logits are divided by this after the projection (and the soft-cap). */
  logitsScaling?: number;
  /** Logits are soft-capped as tanh(x / cap) · cap after the projection. */
  finalLogitSoftcap?: number;
}

/** The model's final norm and unembedding, found once from its module tree. */
export interface ModelReadout {
  finalNorm: FinalNorm;
  unembedding: Unembedding;
  /** A short identity of the model the cache came from (its architecture, width, vocabulary, layers). */
  identity: ModelIdentity;
}

export interface ModelIdentity {
  architecture: string;
  layers: number;
  dModel: number;
  vocabSize: number;
}

/**
 * The final norm and the unembedding of a model, read from its layout when first asked for (a
 * model whose norm or head the utilities cannot use still runs and caches; only the utilities
 * that need them fail, saying why).
 */
export function modelReadout(model: CausalLM): ModelReadout {
  let found: ModelReadout | undefined;
  const resolve = () => {
    found ??= findReadout(model);
    return found;
  };
  return {
    get finalNorm() {
      return resolve().finalNorm;
    },
    get unembedding() {
      return resolve().unembedding;
    },
    get identity() {
      return resolve().identity;
    },
  };
}

function findReadout(model: CausalLM): ModelReadout {
  const { layout } = model;
  const norm = model.getModule(layout.finalNorm);
  if (!isFeatureNorm(norm)) {
    throw new Error(
      `the final norm at "${layout.finalNorm}" is a ${norm.constructor.name}, which does not describe its scale and shift (FeatureNorm)`,
    );
  }
  const finalNorm: FinalNorm = {
    path: layout.finalNorm,
    centres: norm.centres,
    eps: norm.eps,
    weight: () => norm.scale(),
    bias: () => norm.shift(),
    apply: (x) => norm.forward(x) as MxArray,
  };
  const unembedding: Unembedding = {
    ...describeProjection(layout.unembedding, model.getModule(layout.unembedding)),
    ...(layout.logitsScaling === undefined ? {} : { logitsScaling: layout.logitsScaling }),
    ...(layout.logitSoftcap === undefined ? {} : { finalLogitSoftcap: layout.logitSoftcap }),
  };
  const { layers, dModel, vocabSize } = layout.dims;
  return { finalNorm, unembedding, identity: { architecture: layout.architecture, layers, dModel, vocabSize } };
}

function describeProjection(path: string, module: Module): Omit<Unembedding, "logitsScaling" | "finalLogitSoftcap"> {
  const projectWith = (matrix: (dtype: mx.DType) => MxArray) => (x: MxArray, dtype: mx.DType) =>
    mx.tidy(() => {
      const bias = module instanceof Linear || module instanceof QuantizedLinear ? module.bias : undefined;
      const logits = mx.matmul(mx.astype(x, dtype), mx.transpose(matrix(dtype)));
      return bias === undefined ? logits : mx.add(logits, mx.astype(bias, dtype));
    });
  if (module instanceof Linear || module instanceof Embedding) {
    return {
      path,
      directions: (ids, dtype) => mx.tidy(() => mx.astype(mx.take(module.weight, ids, 0), dtype)),
      project: projectWith((dtype) => mx.astype(module.weight, dtype)),
    };
  }
  if (module instanceof QuantizedEmbedding || module instanceof QuantizedLinear) {
    const spec = module._spec;
    const dequantizeRows = (ids: MxArray | undefined, dtype: mx.DType) => {
      const rows = (a: MxArray) => (ids === undefined ? a : mx.take(a, ids, 0));
      const biases = module.biases ? rows(module.biases) : null;
      return mx.dequantize(rows(module.weight), rows(module.scales), biases, { ...spec, dtype });
    };
    return {
      path,
      // Only the asked rows are dequantized, never the whole vocabulary. dequantize needs a matrix,
      // so the ids go in flat (a scalar id is one row) and the rows take the ids' shape after.
      directions: (ids, dtype) =>
        mx.tidy(() => {
          const flat = dequantizeRows(mx.reshape(ids, [-1]), dtype);
          return mx.reshape(flat, [...ids.shape, flat.shape[1] as number]);
        }),
      project: projectWith((dtype) => dequantizeRows(undefined, dtype)),
    };
  }
  throw new Error(`the unembedding at "${path}" is a ${module.constructor.name}, not a linear layer or embedding`);
}
