// What a HookedModel is, as its model declares it (ModelLayout), its checkpoint's config.json says
// (quantization) and its loader did (the compute dtype and why): hm.config, the one-line
// toString() and the multi-line describe(). Nothing here is guessed from weight shapes.
import type { ModelConfig } from "../load/config.ts";
import type { CausalLM } from "../models/causal-lm.ts";
import { type ComputePlan, storedDtype } from "../models/compute-dtype.ts";
import type { DType } from "../mx/dtype.ts";
import { QuantizedEmbedding } from "../nn/layers/embedding.ts";
import { type QuantizationMode, QuantizedLinear } from "../nn/layers/linear.ts";

export interface QuantizationConfig {
  bits: number;
  groupSize: number;
  mode: QuantizationMode;
}

export interface HookedModelConfig {
  /** The model_type as run ("llama", "gemma2", "gpt2" ...). */
  architecture: string;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Width of the residual stream. */
  dModel: number;
  /** Hidden width of the MLP. */
  dMlp: number;
  vocabSize: number;
  /** Soft-cap of the attention scores (Gemma 2), if any. */
  attentionSoftcap?: number;
  /** Soft-cap of the final logits (Gemma 2), if any. */
  finalLogitSoftcap?: number;
  /** The logits are divided by this (Granite), if anything. */
  logitsScaling?: number;
  /** Per layer: "attention" (every earlier position), a sliding window's size, or "convolution". */
  windowPattern: readonly ("attention" | "convolution" | number)[];
  /** The path of the block list; block i is `${layerPrefix}.${i}`. */
  layerPrefix: string;
  /** The floating-point dtype the weights compute in (of the scales, where they stay packed). */
  dtype: DType;
  /** How the checkpoint's weights are quantized (config.json "quantization"), if they are. */
  quantization?: QuantizationConfig;
  /** Whether layers stay quantized now (false where a quantized checkpoint was dequantized at load). */
  quantized: boolean;
  /** What the loader did with the weights' dtype, and why (for a model loaded by loadModel). */
  compute?: ComputePlan;
}

/** What the loader reports beside the model (LoadedModel's config and compute). */
export interface LoadedInfo {
  config: ModelConfig;
  compute: ComputePlan;
}

export function modelConfig(model: CausalLM, loaded?: LoadedInfo): HookedModelConfig {
  const { architecture, dims, blocks, logitSoftcap, logitsScaling, attentionSoftcap, mixing } = model.layout;
  const packed = model
    .namedModules()
    .map(([, m]) => m)
    .find((m) => m instanceof QuantizedLinear || m instanceof QuantizedEmbedding);
  const quantization =
    loaded === undefined
      ? packed && { ...(packed as QuantizedLinear)._spec }
      : declaredQuantization(loaded.config.quantization);
  return {
    architecture,
    layers: dims.layers,
    heads: dims.heads,
    kvHeads: dims.kvHeads,
    headDim: dims.headDim,
    dModel: dims.dModel,
    dMlp: dims.dMlp,
    vocabSize: dims.vocabSize,
    ...(attentionSoftcap === undefined ? {} : { attentionSoftcap }),
    ...(logitSoftcap === undefined ? {} : { finalLogitSoftcap: logitSoftcap }),
    ...(logitsScaling === undefined ? {} : { logitsScaling }),
    windowPattern: [...mixing],
    layerPrefix: blocks,
    dtype: loaded?.compute.dtype ?? storedDtype(model),
    ...(quantization ? { quantization } : {}),
    quantized: packed !== undefined,
    ...(loaded ? { compute: loaded.compute } : {}),
  };
}

// config.json's model-wide "quantization" entry (per-layer entries beside it are not summarised).
function declaredQuantization(entry: unknown): QuantizationConfig | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const { bits, group_size: groupSize, mode } = entry as Record<string, unknown>;
  if (typeof bits !== "number" || typeof groupSize !== "number") return undefined;
  return { bits, groupSize, mode: (typeof mode === "string" ? mode : "affine") as QuantizationMode };
}

/** One line: `HookedModel(gemma2, 26L/8H/256D, 4-bit/float16)` (layers, heads, head dim, weights). */
export function oneLine(config: HookedModelConfig): string {
  const { architecture, layers, heads, headDim, quantization, quantized, dtype } = config;
  let weights: string = dtype;
  if (quantization && quantized) weights = `${quantization.bits}-bit/${dtype}`;
  else if (quantization) weights = `${dtype} from ${quantization.bits}-bit`;
  return `HookedModel(${architecture}, ${layers}L/${heads}H/${headDim}D, ${weights})`;
}

/** Several lines: every field of the config in words, the compute dtype with its reason. */
export function describeConfig(config: HookedModelConfig, extra: { path?: string; tokenizer?: string } = {}): string {
  const c = config;
  const rows: [string, string][] = [];
  if (extra.path) rows.push(["checkpoint", extra.path]);
  rows.push(["architecture", c.architecture]);
  rows.push(["layers", `${c.layers} (${c.layerPrefix}.0 to ${c.layerPrefix}.${c.layers - 1})`]);
  rows.push([
    "attention",
    `${c.heads} heads, ${c.kvHeads} key/value heads, head dim ${c.headDim}` +
      (c.attentionSoftcap === undefined ? "" : `, scores soft-capped at ${c.attentionSoftcap}`),
  ]);
  rows.push(["mixing", windowText(c.windowPattern)]);
  rows.push(["widths", `residual ${c.dModel}, MLP ${c.dMlp}, vocabulary ${c.vocabSize}`]);
  const logits = [
    c.finalLogitSoftcap === undefined ? "" : `soft-capped at ${c.finalLogitSoftcap}`,
    c.logitsScaling === undefined ? "" : `divided by ${c.logitsScaling}`,
  ].filter(Boolean);
  if (logits.length) rows.push(["logits", logits.join(", then ")]);
  const q = c.quantization;
  rows.push([
    "weights",
    q === undefined
      ? `${c.dtype}, not quantized`
      : `${q.bits}-bit ${q.mode}, group size ${q.groupSize}, ${c.quantized ? `packed (scales in ${c.dtype})` : `dequantized to ${c.dtype} at load`}`,
  ]);
  rows.push(["computes in", c.compute ? `${c.dtype} (${c.compute.reason})` : c.dtype]);
  if (extra.tokenizer) rows.push(["tokenizer", extra.tokenizer]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [oneLine(c), ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join("\n");
}

// "full attention in every layer", or each kind of layer with its layers ("window 512: 0-4, 6-10; full: 5, 11").
function windowText(pattern: HookedModelConfig["windowPattern"]): string {
  const kinds = new Map<string, number[]>();
  pattern.forEach((kind, layer) => {
    const name = kind === "attention" ? "full attention" : kind === "convolution" ? "convolution" : `window ${kind}`;
    kinds.set(name, [...(kinds.get(name) ?? []), layer]);
  });
  if (kinds.size === 1) return `${[...kinds.keys()][0]} in every layer`;
  return [...kinds].map(([name, layers]) => `${name} in layers ${ranges(layers)}`).join("; ");
}

function ranges(layers: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < layers.length; ) {
    let j = i;
    while (j + 1 < layers.length && (layers[j + 1] as number) === (layers[j] as number) + 1) j++;
    out.push(j === i ? `${layers[i]}` : `${layers[i]}-${layers[j]}`);
    i = j + 1;
  }
  return out.join(", ");
}
