// model_type -> architecture. Unknown types fail with the list of supported ones.
import type { ModelConfig } from "../load/config.ts";
import { buildGemma, GEMMA_TYPES } from "./gemma.ts";
import { buildGranite } from "./granite.ts";
import { buildLlamaLike, LLAMA_LIKE_TYPES } from "./llama-like.ts";
import type { DecoderLM } from "./shared/decoder.ts";
import { buildSmolLM3 } from "./smollm3.ts";

const BUILDERS: Record<string, (config: ModelConfig) => DecoderLM> = Object.fromEntries([
  ...LLAMA_LIKE_TYPES.map((type) => [type, buildLlamaLike] as const),
  ...GEMMA_TYPES.map((type) => [type, buildGemma] as const),
  ["granite", buildGranite],
  ["smollm3", buildSmolLM3],
]);

// Types mlx-lm runs with another type's code (its MODEL_REMAPPING), where we have that code.
const REMAPPED: Record<string, string> = { mistral: "llama", iquestcoder: "llama", xverse: "llama" };

export const SUPPORTED_MODEL_TYPES: readonly string[] = [
  ...Object.keys(BUILDERS),
  ...Object.keys(REMAPPED).filter((type) => BUILDERS[REMAPPED[type] as string]),
].sort();

export function buildModel(config: ModelConfig): DecoderLM {
  const type = REMAPPED[config.model_type] ?? config.model_type;
  const build = BUILDERS[type];
  if (!build) {
    throw new Error(
      `model_type "${config.model_type}" is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(", ")}`,
    );
  }
  return build({ ...config, model_type: type });
}
