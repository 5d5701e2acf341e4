// What the cache's utilities need of the model beyond its activations: the final norm (to scale
// residual components as the model's last norm would) and the unembedding (a token's direction in
// the residual stream), with any fixed transform of the logits after it.
import type { CausalLM } from "../models/causal-lm.ts";
import { GemmaRMSNorm } from "../models/gemma.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { Embedding, QuantizedEmbedding } from "../nn/layers/embedding.ts";
import { Linear, QuantizedLinear } from "../nn/layers/linear.ts";
import { LayerNorm, RMSNorm } from "../nn/layers/normalization.ts";
import type { Module } from "../nn/module.ts";
import type { CacheLayout } from "./cache-layout.ts";

/**
 * The final norm as y = centre?(x) / sqrt(stat(x) + eps) · weight + bias, where stat is the mean
 * square (RMSNorm) or the variance (LayerNorm, which also centres).
 */
export interface FinalNorm {
  /** The path of the norm module (`model.norm`). */
  path: string;
  /** LayerNorm subtracts the mean before scaling; RMSNorm does not. */
  centres: boolean;
  eps: number;
  /** The multiplier of each feature, as the norm applies it ((1 + weight) for Gemma), if any. */
  weight(): MxArray | undefined;
  /** The added constant of each feature (LayerNorm's bias), if any. */
  bias(): MxArray | undefined;
  /** The norm module's own forward pass on x (its fused kernel). */
  apply(x: MxArray): MxArray;
}

/** How the model turns the final norm's output into logits. */
export interface Unembedding {
  /** The path of the projection (`lm_head`, or the tied embedding `model.embed_tokens`). */
  path: string;
  /** The rows of the unembedding matrix for these token ids: ids.shape + [d_model], dequantized to `dtype`. */
  directions(ids: MxArray, dtype: mx.DType): MxArray;
  /** Logits are divided by this after the projection (Granite's logits_scaling). */
  logitsScaling?: number;
  /** Logits are soft-capped as tanh(x / cap) · cap after the projection (Gemma 2). */
  finalLogitSoftcap?: number;
}

/** The model's final norm and unembedding, found once from its module tree. */
export interface ModelReadout {
  finalNorm: FinalNorm;
  unembedding: Unembedding;
  /** A short identity of the model the cache came from (its class, width, vocabulary, layers). */
  identity: ModelIdentity;
}

export interface ModelIdentity {
  architecture: string;
  layers: number;
  dModel: number;
  vocabSize: number;
}

// Where each family keeps its output projection; tied models read the token embeddings instead.
const PROJECTIONS = ["lm_head", "model.embed_out"];
const TIED_EMBEDDINGS = ["model.embed_tokens", "model.wte", "model.embed_in"];

/**
 * The final norm and the unembedding of a model laid out as `layout` says, found when first
 * asked for (a model whose norm or head the cache does not know still runs and caches; only the
 * utilities that need them fail, saying why).
 */
export function modelReadout(model: CausalLM, layout: CacheLayout): ModelReadout {
  let found: ModelReadout | undefined;
  const resolve = () => {
    found ??= findReadout(model, layout);
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

function findReadout(model: CausalLM, layout: CacheLayout): ModelReadout {
  const modules = new Map(model.namedModules());
  const normPath = layout.target("ln_final")?.path;
  if (normPath === undefined) throw new Error("the model has no final norm at a known path (ln_final)");
  const finalNorm = describeNorm(normPath, modules.get(normPath) as Module);
  const projectionPath = [...PROJECTIONS, ...TIED_EMBEDDINGS].find((p) => modules.has(p));
  if (projectionPath === undefined) {
    throw new Error(`the model has no unembedding at ${[...PROJECTIONS, ...TIED_EMBEDDINGS].join(" or ")}`);
  }
  const spec = (model as { _spec?: { logitsScaling?: number; finalLogitSoftcap?: number } })._spec;
  const unembedding: Unembedding = {
    ...describeProjection(projectionPath, modules.get(projectionPath) as Module),
    ...(spec?.logitsScaling === undefined ? {} : { logitsScaling: spec.logitsScaling }),
    ...(spec?.finalLogitSoftcap === undefined ? {} : { finalLogitSoftcap: spec.finalLogitSoftcap }),
  };
  const table = (modules.get(projectionPath) as unknown as { weight: MxArray }).weight;
  const identity: ModelIdentity = {
    architecture: model.constructor.name,
    layers: layout.layers,
    dModel: normWidth(modules.get(normPath) as Module),
    vocabSize: table.shape[0] as number,
  };
  return { finalNorm, unembedding, identity };
}

function describeNorm(path: string, norm: Module): FinalNorm {
  const apply = (x: MxArray) => norm.forward(x) as MxArray;
  if (norm instanceof GemmaRMSNorm) {
    // The 1 is added in the weight's dtype, as the norm does.
    return { path, centres: false, eps: norm._eps, weight: () => mx.add(1, norm.weight), bias: () => undefined, apply };
  }
  if (norm instanceof RMSNorm) {
    return { path, centres: false, eps: norm._eps, weight: () => norm.weight, bias: () => undefined, apply };
  }
  if (norm instanceof LayerNorm) {
    return { path, centres: true, eps: norm._eps, weight: () => norm.weight, bias: () => norm.bias, apply };
  }
  throw new Error(`the final norm at "${path}" is a ${norm.constructor.name}; the cache knows RMSNorm and LayerNorm`);
}

function normWidth(norm: Module): number {
  const weight = (norm as { weight?: MxArray }).weight;
  return weight === undefined ? 0 : (weight.shape[0] as number);
}

function describeProjection(path: string, module: Module): Unembedding {
  if (module instanceof Linear || module instanceof Embedding) {
    return { path, directions: (ids, dtype) => mx.tidy(() => mx.astype(mx.take(module.weight, ids, 0), dtype)) };
  }
  if (module instanceof QuantizedEmbedding) {
    // Its forward pass dequantizes exactly the rows asked for.
    return { path, directions: (ids, dtype) => mx.tidy(() => mx.astype(module.forward(ids), dtype)) };
  }
  if (module instanceof QuantizedLinear) {
    // Only the asked rows are dequantized, never the whole vocabulary.
    return {
      path,
      directions: (ids, dtype) =>
        mx.tidy(() => {
          const rows = (a: MxArray) => mx.take(a, ids, 0);
          const biases = module.biases ? rows(module.biases) : null;
          return mx.dequantize(rows(module.weight), rows(module.scales), biases, { ...module._spec, dtype });
        }),
    };
  }
  throw new Error(`the unembedding at "${path}" is a ${module.constructor.name}, not a linear layer or embedding`);
}
