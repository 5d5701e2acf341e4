// mlux: look inside language models and intervene in them, on MLX.
export { type GeneratedToken, type GenerateStepOptions, generateStep, generateTokens } from "./generate/generate.ts";
export { makeSampler, repetitionPenalty, type Sampler, type SamplingOptions } from "./generate/sampling.ts";
export { type ResolveOptions, resolveModelPath } from "./load/resolve.ts";
export { type LoadedModel, loadModel } from "./models/load.ts";
export { SUPPORTED_MODEL_TYPES } from "./models/registry.ts";
export * as mx from "./mx/index.ts";
