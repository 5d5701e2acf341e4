// GPT-NeoX (Pythia) as mlx-lm's gpt_neox: query_key_value fused per head ([q|k|v] of head 0, then
// head 1 ...), partial rotary (rotary_pct), LayerNorm, gelu_approx MLP of 4·hidden, parallel or
// sequential residual (use_parallel_residual), untied model.embed_out.
import type { ModelConfig } from "../load/config.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { geluApprox } from "../nn/layers/activations.ts";
import { Linear, type LinearLike } from "../nn/layers/linear.ts";
import { LayerNorm } from "../nn/layers/normalization.ts";
import { RoPE } from "../nn/layers/rope.ts";
import type { KVCache } from "./cache/kv-cache.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { DecoderLM } from "./shared/decoder.ts";
import { PlainMLP } from "./shared/mlp.ts";
import { type AttentionMask, MultiHeadAttention } from "./shared/multihead.ts";
import { ResidualBlock } from "./shared/residual-block.ts";

interface GPTNeoXSpec {
  vocabSize: number;
  hiddenSize: number;
  heads: number;
  layers: number;
  eps: number;
  rotaryBase: number;
  rotaryPct: number;
  parallelResidual: boolean;
}

export class GPTNeoXAttention extends MultiHeadAttention {
  query_key_value: LinearLike;
  dense: LinearLike;
  rope: RoPE;
  readonly _heads: number;
  readonly _headDim: number;
  readonly _scale: number;

  constructor(spec: GPTNeoXSpec) {
    super();
    if (spec.hiddenSize % spec.heads !== 0) {
      throw new Error("gpt_neox: hidden_size must be divisible by num_attention_heads");
    }
    this._heads = spec.heads;
    this._headDim = spec.hiddenSize / spec.heads;
    this._scale = this._headDim ** -0.5;
    this.rope = new RoPE(Math.trunc(this._headDim * spec.rotaryPct), { traditional: false, base: spec.rotaryBase });
    this.query_key_value = new Linear(spec.hiddenSize, 3 * spec.hiddenSize, { bias: true });
    this.dense = new Linear(spec.hiddenSize, spec.hiddenSize, { bias: true });
  }

  override forward(x: MxArray, mask: AttentionMask, cache?: KVCache): MxArray {
    return mx.tidy(() => {
      const [batch, length] = x.shape as [number, number];
      const qkv = mx.reshape(this.query_key_value.call(x), [batch, length, this._heads, 3 * this._headDim]);
      const [q, k, v] = mx.split(qkv, 3, -1).map((a) => mx.transpose(a, [0, 2, 1, 3])) as [MxArray, MxArray, MxArray];
      const out = this.attend(q, k, v, { scale: this._scale, mask, cache, rope: this.rope });
      return this.project(out, this.dense);
    });
  }
}

export function buildGPTNeoX(config: ModelConfig): DecoderLM {
  const c = new ConfigReader(config);
  const spec: GPTNeoXSpec = {
    vocabSize: c.number("vocab_size"),
    hiddenSize: c.number("hidden_size"),
    heads: c.number("num_attention_heads"),
    layers: c.number("num_hidden_layers"),
    eps: c.number("layer_norm_eps"),
    rotaryBase: c.number("rotary_emb_base"),
    rotaryPct: c.number("rotary_pct"),
    parallelResidual: c.boolean("use_parallel_residual", true),
  };
  const { hiddenSize, heads, layers, vocabSize, eps } = spec;
  const layerNorm = () => new LayerNorm(hiddenSize, { eps });
  const names = { up: "dense_h_to_4h", down: "dense_4h_to_h" };
  return new DecoderLM({
    architecture: config.model_type,
    dims: {
      layers,
      dModel: hiddenSize,
      heads,
      kvHeads: heads,
      headDim: hiddenSize / heads,
      vocabSize,
      dMlp: 4 * hiddenSize,
    },
    // The head lives inside the model here (model.embed_out), as in mlx-lm.
    names: { tokenEmbedding: "embed_in", headInStack: "embed_out", blocks: "h", finalNorm: "final_layer_norm" },
    block: () =>
      new ResidualBlock({
        mixer: ["attention", new GPTNeoXAttention(spec)],
        mlp: ["mlp", new PlainMLP(hiddenSize, 4 * hiddenSize, { bias: true, activation: geluApprox, names })],
        norms: { beforeMixer: ["input_layernorm", layerNorm()], beforeMlp: ["post_attention_layernorm", layerNorm()] },
        parallel: spec.parallelResidual,
      }),
    finalNorm: layerNorm,
    tieWordEmbeddings: false,
    sanitize: sanitizeGPTNeoX,
  });
}

/** Drops the PyTorch buffers, prefixes "model.", maps gpt_neox.layers. → h. and gpt_neox. → "". */
function sanitizeGPTNeoX(weights: Map<string, MxArray>): Map<string, MxArray> {
  const out = new Map<string, MxArray>();
  const buffers = [".attention.bias", ".attention.masked_bias", ".attention.rotary_emb.inv_freq"];
  for (const [name, value] of weights) {
    if (buffers.some((suffix) => name.endsWith(suffix))) continue;
    const prefixed = name.startsWith("model.") ? name : `model.${name}`;
    out.set(prefixed.replaceAll(".gpt_neox.layers.", ".h.").replaceAll(".gpt_neox.", "."), value);
  }
  return out;
}
