// mlux: look inside language models and intervene in them, on MLX.

export type { CacheLayout } from "./analysis/cache-layout.ts";
export type { PositionSelector } from "./analysis/cache-source.ts";
export {
  detectionPattern,
  HEAD_KINDS,
  type HeadKind,
  type HeadScoreOptions,
  headScores,
} from "./analysis/head-scores.ts";
export {
  klDivergence,
  logitDifference,
  normalizedRecovery,
  tokenProbability,
} from "./analysis/metrics.ts";
export type { ApplyLnOptions, TokenIds } from "./analysis/norm-stack.ts";
export type { FinalNorm, ModelIdentity, ModelReadout, Unembedding } from "./analysis/readout.ts";
export type {
  AccumulatedResidOptions,
  DecomposeResidOptions,
  Labeled,
  StackOptions,
} from "./analysis/residual-stream.ts";
export { logProbs, type TokenLoss, tokenLoss } from "./analysis/token-loss.ts";
export { type TopToken, topTokens } from "./analysis/top-tokens.ts";
export { applyFinalNorm, type UnembedOptions, unembed } from "./analysis/unembed.ts";
export { type AblationKind, type AblationOptions, AblationResult, ablation } from "./experiments/ablation.ts";
export { AbortError } from "./experiments/abort.ts";
export {
  type CausalModelFit,
  type CausalModelParams,
  causalModelDistribution,
  jensenShannonDivergence,
} from "./experiments/binding/causal-model.ts";
export {
  type BindingLayer,
  type BindingOptions,
  type BindingPairResult,
  BindingResult,
  bindingMechanisms,
} from "./experiments/binding/mechanisms.ts";
export type { Outcome as BindingOutcome } from "./experiments/binding/outcomes.ts";
export { type BindingSchema, BOX_SCHEMA } from "./experiments/binding/schema.ts";
export {
  detectHeads,
  type HeadDetectorOptions,
  HeadDetectorResult,
  repeatedRandomTokens,
  type ScoredHead,
} from "./experiments/head-detectors.ts";
export {
  LENS_PROBES,
  type LensGrid,
  type LensProbe,
  type LensToken,
  type LogitLensOptions,
  LogitLensResult,
  logitLens,
} from "./experiments/logit-lens.ts";
export type { Metric, TokenRef } from "./experiments/metric.ts";
export {
  activationPatching,
  type LayerSweepOptions,
  LayerSweepResult,
  type NamedToken,
  type PatchDirection,
  type PatchingOptions,
  PatchingResult,
  patchAcrossLayers,
} from "./experiments/patching.ts";
export type { Site } from "./experiments/sites.ts";
export {
  type CompareSteeringOptions,
  compareSteering,
  type SteeredRun,
  type SteeredText,
  SteeringComparison,
  type SteeringPositions,
  type SteeringSite,
  SteeringVector,
  type SteeringVectorOptions,
  type SteerOptions,
  steer,
  steeredGenerations,
  steeringHooks,
  steeringVector,
} from "./experiments/steering.ts";
export { type AnswerToken, type TestPromptOptions, TestPromptResult, testPrompt } from "./experiments/test-prompt.ts";
export { type GeneratedToken, type GenerateStepOptions, generateStep, generateTokens } from "./generate/generate.ts";
export { makeSampler, repetitionPenalty, type Sampler, type SamplingOptions } from "./generate/sampling.ts";
export { ActivationCache, type CacheModel } from "./hooks/activation-cache.ts";
export {
  type FinishReason,
  type GenerateTextOptions,
  TextCompletion,
  TextGeneration,
  type TextPrompt,
} from "./hooks/generate-text.ts";
export { type Hook, type HookContext, HookError, type PreHook } from "./hooks/hook-types.ts";
export {
  type CacheOptions,
  type HookedGenerateOptions,
  HookedModel,
  type HookedToken,
  type HookOptions,
  type ModelInput,
  type TokenOptions,
} from "./hooks/hooked-model.ts";
export type { HookedModelConfig, QuantizationConfig } from "./hooks/model-config.ts";
export { PaddedBatch } from "./hooks/padded-batch.ts";
export type { LossOptions, NamedTopToken } from "./hooks/readout-calls.ts";
export type { HookHandle } from "./hooks/registry.ts";
export type { HookSelector } from "./hooks/select.ts";
export { LAYER_NAMES, MODEL_NAMES, type StandardName, StandardNames } from "./hooks/standard-names.ts";
export {
  DownloadError,
  type DownloadOptions,
  type DownloadProgress,
  downloadModel,
} from "./load/download.ts";
export { type ResolveOptions, resolveModelPath } from "./load/resolve.ts";
export { Padding } from "./models/cache/masks.ts";
export type { ModelDims, ModelLayout } from "./models/layout.ts";
export { type LoadedModel, loadModel } from "./models/load.ts";
export { SUPPORTED_MODEL_TYPES } from "./models/registry.ts";
export * as mx from "./mx/index.ts";
