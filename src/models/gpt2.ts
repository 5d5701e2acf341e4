// GPT-2 as mlx-lm's gpt2: learned positions (wpe), fused c_attn [q | k | v] with bias, LayerNorm,
// gelu_approx MLP of 4·n_embd, head tied to wte. Module paths: model.h.N.{ln_1, attn.c_attn, ...}.
import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { geluApprox } from "../nn/layers/activations.ts";
import { Linear, type LinearLike } from "../nn/layers/linear.ts";
import { LayerNorm } from "../nn/layers/normalization.ts";
import type { KVCache } from "./cache/kv-cache.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { DecoderLM } from "./shared/decoder.ts";
import { PlainMLP } from "./shared/mlp.ts";
import { type AttentionMask, MultiHeadAttention, splitHeads } from "./shared/multihead.ts";
import { ResidualBlock } from "./shared/residual-block.ts";

interface GPT2Spec {
  vocabSize: number;
  dims: number;
  heads: number;
  layers: number;
  positions: number;
  eps: number;
}

export class GPT2Attention extends MultiHeadAttention {
  c_attn: LinearLike;
  c_proj: LinearLike;
  readonly _heads: number;
  readonly _scale: number;

  constructor(spec: GPT2Spec) {
    super();
    if (spec.dims % spec.heads !== 0) throw new Error("gpt2: n_embd must be divisible by n_head");
    this._heads = spec.heads;
    this._scale = (spec.dims / spec.heads) ** -0.5;
    this.c_attn = new Linear(spec.dims, 3 * spec.dims, { bias: true });
    this.c_proj = new Linear(spec.dims, spec.dims, { bias: true });
  }

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const [q, k, v] = mx.split(this.c_attn.call(x), 3, -1) as [MxArray, MxArray, MxArray];
      const heads = (a: MxArray) => splitHeads(a, this._heads);
      const out = this.attend(heads(q), heads(k), heads(v), { scale: this._scale, mask, cache });
      return this.project(out, this.c_proj);
    });
  }
}

export function buildGPT2(config: ModelConfig): DecoderLM {
  const c = new ConfigReader(config);
  const spec: GPT2Spec = {
    vocabSize: c.number("vocab_size"),
    dims: c.number("n_embd"),
    heads: c.number("n_head"),
    layers: c.number("n_layer"),
    positions: c.number("n_positions"),
    eps: c.number("layer_norm_epsilon"),
  };
  const { dims, heads, layers, vocabSize, eps } = spec;
  const layerNorm = () => new LayerNorm(dims, { eps });
  const names = { up: "c_fc", down: "c_proj" };
  return new DecoderLM({
    architecture: config.model_type,
    dims: { layers, dModel: dims, heads, kvHeads: heads, headDim: dims / heads, vocabSize, dMlp: 4 * dims },
    names: { tokenEmbedding: "wte", positionEmbedding: "wpe", blocks: "h", finalNorm: "ln_f" },
    positions: spec.positions,
    block: () =>
      new ResidualBlock({
        mixer: ["attn", new GPT2Attention(spec)],
        mlp: ["mlp", new PlainMLP(dims, 4 * dims, { bias: true, activation: geluApprox, names })],
        norms: { beforeMixer: ["ln_1", layerNorm()], beforeMlp: ["ln_2", layerNorm()] },
      }),
    finalNorm: layerNorm,
    tieWordEmbeddings: true,
    sanitize: sanitizeGPT2,
  });
}

/**
 * Hugging Face GPT-2 checkpoints (names without "model.") store Conv1D weights [in, out]:
 * c_attn, c_proj and c_fc are transposed, attn.bias (the causal-mask buffer) dropped, and every
 * name gets the "model." prefix. mlx-lm's rules name h.0 ... h.(n_layer-1) only.
 */
function sanitizeGPT2(weights: Map<string, MxArray>, model: DecoderLM): Map<string, MxArray> {
  const isLayer = (name: string) => Number(name.split(".")[1]) < model.layers.length;
  const out = new Map<string, MxArray>();
  const conv1d = /^h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
  for (const [name, value] of weights) {
    if (/^h\.\d+\.attn\.bias$/.test(name) && isLayer(name)) continue;
    const array = conv1d.test(name) && isLayer(name) ? mx.transpose(value, [1, 0]) : value;
    out.set(name.startsWith("model.") ? name : `model.${name}`, array);
  }
  return out;
}
