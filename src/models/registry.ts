// model_type -> architecture. Unknown types fail with the list of supported ones.
import type { ModelConfig } from "../load/config.ts";
import type { CausalLM } from "./causal-lm.ts";
import { buildGemma, GEMMA_TYPES } from "./gemma.ts";
import { buildGPTNeoX } from "./gpt-neox.ts";
import { buildGPT2 } from "./gpt2.ts";
import { buildGranite } from "./granite.ts";
import { buildLfm2 } from "./lfm2.ts";
import { buildLlamaLike, LLAMA_LIKE_TYPES } from "./llama-like.ts";
import { checkModelType, SUPPORTED_MODEL_TYPES } from "./model-types.ts";
import { buildOlmo2, buildOlmo3 } from "./olmo.ts";
import { buildPhi3 } from "./phi3.ts";
import { buildSmolLM3 } from "./smollm3.ts";
import { buildStarcoder2 } from "./starcoder2.ts";

const BUILDERS: Record<string, (config: ModelConfig) => CausalLM> = {
  ...Object.fromEntries(LLAMA_LIKE_TYPES.map((type) => [type, buildLlamaLike])),
  ...Object.fromEntries(GEMMA_TYPES.map((type) => [type, buildGemma])),
  gpt2: buildGPT2,
  gpt_neox: buildGPTNeoX,
  granite: buildGranite,
  lfm2: buildLfm2,
  olmo2: buildOlmo2,
  olmo3: buildOlmo3,
  phi3: buildPhi3,
  smollm3: buildSmolLM3,
  starcoder2: buildStarcoder2,
};

// Types mlx-lm runs with another type's code (its MODEL_REMAPPING), where we have that code.
const REMAPPED: Record<string, string> = { mistral: "llama", iquestcoder: "llama", xverse: "llama" };

// model-types.ts lists the same types without importing any model code (see there).
const built = [
  ...Object.keys(BUILDERS),
  ...Object.keys(REMAPPED).filter((type) => BUILDERS[REMAPPED[type] as string]),
].sort();
if (built.join() !== SUPPORTED_MODEL_TYPES.join()) {
  throw new Error(`model-types.ts lists ${SUPPORTED_MODEL_TYPES.join(", ")} but the builders are ${built.join(", ")}`);
}

export { SUPPORTED_MODEL_TYPES };

export function buildModel(config: ModelConfig): CausalLM {
  checkModelType(config.model_type);
  const type = REMAPPED[config.model_type] ?? config.model_type;
  return (BUILDERS[type] as (config: ModelConfig) => CausalLM)({ ...config, model_type: type });
}
