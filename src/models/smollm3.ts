// SmolLM3 as mlx-lm runs it: the llama decoder, with RoPE switched off in the layers that
// no_rope_layers marks 0 (by default every no_rope_layer_interval-th layer).
import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import { RotaryEmbedding } from "../nn/layers/rope.ts";
import { buildLlamaLike } from "./llama-like.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import type { DecoderLM } from "./shared/decoder.ts";

/** The rope of a layer without position embedding: queries and keys pass unchanged. */
export class NoPE extends RotaryEmbedding {
  override forward(x: MxArray): MxArray {
    return x;
  }
}

export function buildSmolLM3(config: ModelConfig): DecoderLM {
  const c = new ConfigReader(config);
  const layers = c.number("num_hidden_layers");
  const interval = c.number("no_rope_layer_interval", 4);
  const raw = config.no_rope_layers;
  let useRope: boolean[];
  if (raw === undefined || raw === null) {
    useRope = Array.from({ length: layers }, (_, i) => (i + 1) % interval !== 0);
  } else {
    if (!Array.isArray(raw) || raw.some((v) => typeof v !== "number" && typeof v !== "boolean")) {
      throw new Error('config.json: "no_rope_layers" must be a list of 0/1 flags');
    }
    if (raw.length !== layers) {
      throw new Error(`config.json: "no_rope_layers" has ${raw.length} entries for ${layers} layers`);
    }
    useRope = raw.map((v) => Boolean(v));
  }
  return buildLlamaLike(
    { ...config, model_type: "llama" },
    { architecture: config.model_type, rope: (layer, made) => (useRope[layer] ? made : new NoPE()) },
  );
}
