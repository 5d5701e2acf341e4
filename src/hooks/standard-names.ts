// Standard activation names (TransformerLens's vocabulary) mapped onto each model's own paths, so
// analysis code asks for `resid_post.3` or `pattern.0` and never branches on the architecture.
//
// Per layer i (key `name.i`):
//   resid_pre    the stream entering block i (the block's input)
//   attn_out     the attention branch as added to the stream (block.hook_attn_out)
//   resid_mid    the stream after attention (block.hook_resid_mid; not in parallel-residual blocks)
//   mlp_out      the MLP branch as added to the stream (block.hook_mlp_out)
//   resid_post   the stream leaving block i (the block's output)
//   q k v scores pattern z result   the attention hook points (attention layers only)
// Model-wide: embed (token embeddings as they enter the stream, scaled where the family scales
// them), pos_embed (learned positions, where the model adds them), ln_final (the final norm's output).
import type { HookTarget } from "../analysis/cache-layout.ts";
import type { CausalLM } from "../models/causal-lm.ts";
import { MultiHeadAttention } from "../models/shared/multihead.ts";
import type { Module } from "../nn/module.ts";
import { TargetLayout } from "./cache-layout.ts";

export const LAYER_NAMES = [
  "resid_pre",
  "attn_out",
  "resid_mid",
  "mlp_out",
  "resid_post",
  "q",
  "k",
  "v",
  "scores",
  "pattern",
  "z",
  "result",
] as const;
export const MODEL_NAMES = ["embed", "pos_embed", "ln_final"] as const;

export type LayerName = (typeof LAYER_NAMES)[number];
export type ModelName = (typeof MODEL_NAMES)[number];
export type StandardName = LayerName | ModelName;

const ATTENTION_POINTS: Partial<Record<LayerName, string>> = {
  q: "hook_q",
  k: "hook_k",
  v: "hook_v",
  scores: "hook_scores",
  pattern: "hook_pattern",
  z: "hook_z",
  result: "hook_result",
};

/** The layout of one model: its blocks' paths and every standard name it has. */
export class StandardNames extends TargetLayout {
  constructor(model: CausalLM) {
    const { layerPaths, attentionPaths, targets } = layoutOf(model);
    super(layerPaths, attentionPaths, targets);
  }

  /** The standard key of a target, if it has one. */
  keyOf(target: HookTarget): string | undefined {
    for (const [key, t] of this.targets) {
      if (t.path === target.path && t.input === target.input && key !== "embed") return key;
    }
    return this.targets.get("embed")?.path === target.path ? "embed" : undefined;
  }
}

function layoutOf(model: CausalLM): {
  layerPaths: string[];
  attentionPaths: (string | undefined)[];
  targets: Map<string, HookTarget>;
} {
  const paths = new Map<Module, string>();
  for (const [path, module] of model.namedModules()) paths.set(module, path);
  const { layers: blocks } = model;
  const layerPaths = blocks.map((layer, i) => {
    const path = paths.get(layer);
    if (path === undefined) throw new Error(`block ${i} of the model is not in its module tree`);
    return path;
  });
  const attentionPaths = blocks.map((layer, i) => {
    const found = layer.children().find(([, child]) => child instanceof MultiHeadAttention);
    return found ? `${layerPaths[i]}.${found[0]}` : undefined;
  });
  const targets = new Map<string, HookTarget>();
  layerPaths.forEach((layerPath, i) => {
    const layer = blocks[i] as Module & Record<string, unknown>;
    targets.set(`resid_pre.${i}`, { path: layerPath, input: true });
    targets.set(`resid_post.${i}`, { path: layerPath, input: false });
    for (const [name, point] of [
      ["attn_out", "hook_attn_out"],
      ["resid_mid", "hook_resid_mid"],
      ["mlp_out", "hook_mlp_out"],
    ] as const) {
      if (layer[point] !== undefined) targets.set(`${name}.${i}`, { path: `${layerPath}.${point}`, input: false });
    }
    const attention = attentionPaths[i];
    if (attention === undefined) return;
    for (const [name, point] of Object.entries(ATTENTION_POINTS)) {
      targets.set(`${name}.${i}`, { path: `${attention}.${point}`, input: false });
    }
  });
  const { layout } = model;
  if (layout.positionEmbedding !== undefined) {
    // Token and position embeddings enter the stream as separate terms.
    targets.set("embed", { path: layout.tokenEmbedding, input: false });
    targets.set("pos_embed", { path: layout.positionEmbedding, input: false });
  } else if (layerPaths.length > 0) {
    targets.set("embed", { path: layerPaths[0] as string, input: true });
  }
  targets.set("ln_final", { path: layout.finalNorm, input: false });
  return { layerPaths, attentionPaths, targets };
}
