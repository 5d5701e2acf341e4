// `--seed` as mlx_lm.generate has it. mlx-lm's command seeds MLX's global generator and then
// loads the model, and building the model draws a key from that generator for every randomly
// initialized array of mlx.nn (the weights are replaced by the checkpoint's afterwards): one per
// Linear weight and Linear bias, Embedding weight and Conv1d weight, and one more for each layer
// nn.quantize rebuilds as QuantizedLinear or QuantizedEmbedding. mlux builds its models without
// drawing, so to sample the same tokens it seeds and then draws as many keys as mlx-lm's build did.
// mlux's module tree mirrors mlx-lm's (the hook tests check the paths), so counting its layers
// counts mlx-lm's draws, but for a module mlx-lm builds and then drops: gemma3_text always builds
// an lm_head and pops it in sanitize when the checkpoint ties it to the embedding.
import * as mx from "../mx/index.ts";
import { Conv1d } from "../nn/layers/conv.ts";
import { Embedding, QuantizedEmbedding } from "../nn/layers/embedding.ts";
import { Linear, QuantizedLinear } from "../nn/layers/linear.ts";
import type { Module } from "../nn/module.ts";

/** How many keys mlx-lm draws from the global generator while it builds (and quantizes) this model. */
export function keysDrawnByMlxLmBuild(model: Module, modelType: string): number {
  const modules = model.namedModules();
  let keys = 0;
  if (modelType === "gemma3_text" && !modules.some(([path]) => path === "lm_head")) keys += 1;
  for (const [, module] of modules) {
    if (module instanceof Linear) keys += 1 + (module.bias ? 1 : 0);
    else if (module instanceof QuantizedLinear) keys += 2 + (module.bias ? 1 : 0);
    else if (module instanceof Embedding || module instanceof Conv1d) keys += 1;
    else if (module instanceof QuantizedEmbedding) keys += 2;
  }
  return keys;
}

/** Leaves MLX's global generator where `mlx_lm.generate --seed SEED` has it when generation starts. */
export function seedAsMlxLmGenerate(seed: number, model: Module, modelType: string): void {
  mx.random.seed(seed);
  const keys = keysDrawnByMlxLmBuild(model, modelType);
  mx.tidy(() => {
    for (let i = 0; i < keys; i++) mx.random.uniform(0, 1, []);
  });
}
