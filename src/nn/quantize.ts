// Turning a model's layers into their quantized forms, as mlx-lm does when a checkpoint's
// config.json has a "quantization" entry: per-layer overrides by path, else every layer that can
// be quantized and whose "<path>.scales" is among the weights, packed as the weights say.
import type { MxArray } from "../mx/array.ts";
import type { DType } from "../mx/dtype.ts";
import { evaluate } from "../mx/runtime.ts";
import { Embedding, QuantizedEmbedding } from "./layers/embedding.ts";
import { Linear, type QuantizationMode, type QuantizationSpec, QuantizedLinear } from "./layers/linear.ts";
import type { Module } from "./module.ts";

const MODES: QuantizationMode[] = ["affine", "mxfp4", "nvfp4", "mxfp8"];

// What mlx.nn's to_quantized() fills in when a per-layer entry leaves group_size or bits out.
const MODE_DEFAULTS: Record<QuantizationMode, QuantizationSpec> = {
  affine: { groupSize: 64, bits: 4, mode: "affine" },
  mxfp4: { groupSize: 32, bits: 4, mode: "mxfp4" },
  nvfp4: { groupSize: 16, bits: 4, mode: "nvfp4" },
  mxfp8: { groupSize: 32, bits: 8, mode: "mxfp8" },
};

function spec(raw: Record<string, unknown>, where: string, fallback?: QuantizationSpec): QuantizationSpec {
  const groupSize = raw.group_size ?? fallback?.groupSize;
  const bits = raw.bits ?? fallback?.bits;
  const mode = raw.mode ?? fallback?.mode ?? "affine";
  if (typeof groupSize !== "number" || typeof bits !== "number" || !MODES.includes(mode as QuantizationMode)) {
    throw new Error(
      `${where} must give group_size and bits (numbers) and a mode among ${MODES.join(", ")}; got ${JSON.stringify(raw)}`,
    );
  }
  return { groupSize, bits, mode: mode as QuantizationMode };
}

// The packing of a saved weight, read from its shapes (mlx-lm's infer_quant_config).
function inferredSpec(path: string, layer: Linear | Embedding, weights: Map<string, MxArray>): QuantizationSpec {
  const scales = weights.get(`${path}.scales`) as MxArray;
  const packed = weights.get(`${path}.weight`);
  const inDims = layer.weight.shape.at(-1) as number;
  const groupSize = Math.floor(inDims / (scales.shape.at(-1) as number));
  const bits = Math.floor(((packed?.shape.at(-1) ?? 0) * 32) / inDims);
  if (scales.dtype !== "uint8") return { groupSize, bits, mode: "affine" };
  const key = `${bits}/${groupSize}`;
  const mode = ({ "4/16": "nvfp4", "4/32": "mxfp4", "8/32": "mxfp8" } as Record<string, QuantizationMode>)[key];
  if (!mode) throw new Error(`cannot tell the quantization mode of ${path}: ${bits} bits with group size ${groupSize}`);
  return { groupSize, bits, mode };
}

/**
 * Replaces Linear and Embedding layers by their quantized forms, following the checkpoint's
 * `quantization` config entry and which `.scales` tensors the weights hold.
 */
export function quantizeModel(
  model: Module,
  quantization: Record<string, unknown>,
  weights: Map<string, MxArray>,
): void {
  const defaults = spec(quantization, 'config.json "quantization"');
  const replaced = new Set<Module>();
  for (const [path, module] of model.namedModules()) {
    if (!(module instanceof Linear || module instanceof Embedding)) continue;
    const override = quantization[path];
    let layerSpec: QuantizationSpec | undefined;
    if (override === false) continue;
    if (override !== undefined && typeof override === "object" && override !== null) {
      const raw = override as Record<string, unknown>;
      const mode = (raw.mode ?? "affine") as QuantizationMode;
      layerSpec = spec(raw, `quantization["${path}"]`, MODE_DEFAULTS[mode]);
    } else if (override === true || weights.has(`${path}.scales`)) {
      layerSpec = weights.has(`${path}.scales`) ? inferredSpec(path, module, weights) : defaults;
    }
    if (layerSpec) {
      replaceModule(model, path, module.toQuantized(layerSpec));
      replaced.add(module);
    }
  }
  // The plain layers' placeholder weights, freed once every path is replaced (a module may sit at two).
  for (const module of replaced) module.dispose();
}

/**
 * Replaces every quantized layer by its plain form holding the weights dequantized to `dtype`, one
 * layer at a time: each dense weight is computed and the packed one freed before the next, so the
 * model never holds both forms of all its weights. Returns how many layers were dequantized.
 */
export function dequantizeModel(model: Module, dtype: DType): number {
  let count = 0;
  for (const [path, module] of model.namedModules()) {
    if (!(module instanceof QuantizedLinear || module instanceof QuantizedEmbedding)) continue;
    const dense = module.toDense(dtype);
    evaluate([...dense.parameters().values()]);
    replaceModule(model, path, dense);
    module.dispose();
    count++;
  }
  return count;
}

function replaceModule(root: Module, path: string, replacement: Module): void {
  const parts = path.split(".");
  const name = parts.pop() as string;
  let owner: unknown = root;
  for (const part of parts) owner = (owner as Record<string, unknown>)[part];
  (owner as Record<string, unknown>)[name] = replacement;
}
