// Loading a checkpoint as mlx-lm's load_model does: config, weights, sanitize, quantize, strict load.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type ModelConfig, readModelConfig } from "../load/config.ts";
import { type ResolveOptions, resolveModelPath } from "../load/resolve.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { quantizeModel } from "../nn/quantize.ts";
import type { CausalLM } from "./causal-lm.ts";
import { applyComputeDtype, type ComputeOptions, type ComputePlan, checkComputeDtype } from "./compute-dtype.ts";
import { checkRunnableConfig } from "./model-types.ts";
import { buildModel } from "./registry.ts";

export interface LoadedModel {
  model: CausalLM;
  config: ModelConfig;
  /** The folder the checkpoint was read from. */
  path: string;
  /** The dtype the weights compute in, and why (see ComputeOptions). */
  compute: ComputePlan;
}

/** How to find and compute a model; the architecture check of a download is loadModel's own. */
export interface LoadOptions extends Omit<ResolveOptions, "checkConfig">, ComputeOptions {}

function readWeights(dir: string): Map<string, MxArray> {
  const files = readdirSync(dir)
    .filter((f) => /^model.*\.safetensors$/.test(f))
    .sort();
  if (files.length === 0) throw new Error(`no model*.safetensors files in ${dir}`);
  const weights = new Map<string, MxArray>();
  for (const file of files) {
    for (const [name, array] of Object.entries(mx.loadSafetensors(join(dir, file)).arrays)) weights.set(name, array);
  }
  return weights;
}

/**
 * Loads a model from a folder or a Hub id (see resolveModelPath), with its weights evaluated.
 * Missing, unexpected or misshapen weights fail with the names of all of them. `dtype` chooses
 * what the weights compute in (default "auto": float32 on the CPU, where MLX's half-precision and
 * quantized products are slow; "native" computes as stored, as mlx-lm does; see ComputeDtype).
 */
export async function loadModel(pathOrRepoId: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const computeOptions: ComputeOptions = { ...options, dtype: checkComputeDtype(options.dtype) };
  const checkConfig = (config: unknown) => checkRunnableConfig(config, pathOrRepoId);
  const path = await resolveModelPath(pathOrRepoId, { ...options, checkConfig });
  const config = readModelConfig(path);
  checkRunnableConfig(config, path);
  const model = buildModel(config);
  const read = readWeights(path);
  const weights = model.sanitize(read);
  const quantization = config.quantization;
  if (quantization !== undefined) {
    if (typeof quantization !== "object" || quantization === null) {
      throw new Error(`${path}: config.json "quantization" must be an object with group_size and bits`);
    }
    quantizeModel(model, quantization as Record<string, unknown>, weights);
  }
  // The arrays the model was built with, and the checkpoint's tensors sanitize dropped, are freed
  // here rather than left to the collector: nothing else holds them.
  const replaced = new Set([...model.parameters().values(), ...read.values()]);
  try {
    model.loadWeights(weights);
  } catch (error) {
    for (const w of replaced) w.dispose();
    for (const w of weights.values()) w.dispose();
    throw new Error(`${path}: ${(error as Error).message}`);
  }
  for (const kept of model.parameters().values()) replaced.delete(kept);
  for (const unused of replaced) unused.dispose();
  const compute = applyComputeDtype(model, computeOptions);
  mx.eval([...model.parameters().values()]);
  return { model, config, path, compute };
}
