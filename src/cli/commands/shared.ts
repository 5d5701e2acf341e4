// What the commands share: the default model, the --model and --dtype options, opening the model,
// and the error for a bad argument that only a loaded model can reveal (exit code 2, like
// commander's own).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidArgumentError, Option } from "commander";
import { HookedModel } from "../../hooks/hooked-model.ts";
import { COMPUTE_DTYPES, type ComputeDtype } from "../../models/compute-dtype.ts";
import { loadModel } from "../../models/load.ts";
import { downloadBar } from "../output/progress.ts";

const packageRoot = fileURLToPath(new URL("../../..", import.meta.url));

/** The model a command runs without --model: the tiny KJV model the package ships. */
export const DEFAULT_MODEL = join(packageRoot, "fixtures", "tiny-lm-f16");

export function modelOption(): Option {
  return new Option("--model <path>", "a checkpoint folder or a Hugging Face Hub id (OWNER/NAME)").default(
    DEFAULT_MODEL,
    "the bundled tiny-lm-f16",
  );
}

export function dtypeOption(): Option {
  return new Option(
    "--dtype <dtype>",
    "what the weights compute in: native (as stored, as mlx-lm), auto (float32 on the CPU, dequantized where it fits), or a float dtype",
  )
    .choices(COMPUTE_DTYPES)
    .default("auto");
}

/** A bad argument found after parsing (e.g. against the model's vocabulary). */
export class UsageError extends Error {}

export interface ModelOptions {
  model: string;
  dtype: ComputeDtype;
}

/**
 * The HookedModel of --model and --dtype; what it computes in, and why, goes to stderr first (as
 * generate says it).
 */
export async function openModel(options: ModelOptions): Promise<HookedModel> {
  if (options.model === DEFAULT_MODEL && !existsSync(DEFAULT_MODEL)) {
    throw new Error(`the default model is missing from ${DEFAULT_MODEL}; name one with --model`);
  }
  const bar = downloadBar(options.model);
  const loaded = await loadModel(options.model, { dtype: options.dtype, onProgress: bar.onProgress }).finally(bar.stop);
  process.stderr.write(`[${loaded.compute.reason}]\n`);
  return HookedModel.fromLoaded(loaded);
}

/** A parser (commander's argParser) that takes one of `choices`. */
export function choice<T extends string>(choices: readonly T[]): (text: string) => T {
  return (text) => {
    if (!(choices as readonly string[]).includes(text)) {
      throw new InvalidArgumentError(`Allowed choices are ${choices.join(", ")}.`);
    }
    return text as T;
  };
}

/** --k against the model's vocabulary. */
export function checkK(hm: HookedModel, k: number): void {
  const vocab = hm.model.layout.dims.vocabSize;
  if (k > vocab) {
    throw new UsageError(
      `option '--k <n>' argument '${k}' is invalid. This model has ${vocab} tokens: --k takes 1 to ${vocab}.`,
    );
  }
}

/** --layers against the model's layers. */
export function checkLayers(hm: HookedModel, layers: readonly number[]): void {
  const bad = layers.find((l) => l >= hm.layers);
  if (bad !== undefined) {
    throw new UsageError(
      `option '--layers <list>' argument has layer ${bad}. This model has layers 0 to ${hm.layers - 1}.`,
    );
  }
}
