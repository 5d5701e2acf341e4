// StarCoder2 as mlx-lm's starcoder2: biases everywhere, LayerNorm (norm_epsilon), exact-gelu
// c_fc / c_proj MLP, GQA attention with plain RoPE (the shared attention, with biases); lm_head
// unless tied. sliding_window is not read by mlx-lm, so every layer attends to every position.
// mlx-lm's starcoder2 has no sanitize: the weights load as they are.
import type { ModelConfig } from "../load/config.ts";
import { gelu } from "../nn/layers/activations.ts";
import { LayerNorm } from "../nn/layers/normalization.ts";
import { RoPE } from "../nn/layers/rope.ts";
import { LLAMA_NAMES } from "./llama-like.ts";
import { Attention } from "./shared/attention.ts";
import { ConfigReader } from "./shared/config-reader.ts";
import { DecoderLM } from "./shared/decoder.ts";
import { PlainMLP } from "./shared/mlp.ts";
import { ResidualBlock } from "./shared/residual-block.ts";

export function buildStarcoder2(config: ModelConfig): DecoderLM {
  const c = new ConfigReader(config);
  const hiddenSize = c.number("hidden_size");
  const heads = c.number("num_attention_heads");
  const headDim = Math.floor(hiddenSize / heads);
  const theta = c.number("rope_theta", 100000);
  const vocabSize = c.number("vocab_size", 49152);
  const dMlp = c.number("intermediate_size");
  const layers = c.number("num_hidden_layers");
  const eps = c.number("norm_epsilon", 1e-5);
  const tieWordEmbeddings = c.boolean("tie_word_embeddings", true);
  const kvHeads = c.number("num_key_value_heads");
  const layerNorm = () => new LayerNorm(hiddenSize, { eps });
  const names = { up: "c_fc", down: "c_proj" };
  return new DecoderLM({
    architecture: config.model_type,
    dims: { layers, dModel: hiddenSize, heads, kvHeads, headDim, vocabSize, dMlp },
    names: LLAMA_NAMES,
    block: () =>
      new ResidualBlock({
        mixer: [
          "self_attn",
          new Attention({
            hiddenSize,
            heads,
            kvHeads,
            headDim,
            qkvBias: true,
            outputBias: true,
            rope: new RoPE(headDim, { traditional: false, base: theta }),
          }),
        ],
        mlp: ["mlp", new PlainMLP(hiddenSize, dMlp, { bias: true, activation: gelu, names })],
        norms: { beforeMixer: ["input_layernorm", layerNorm()], beforeMlp: ["post_attention_layernorm", layerNorm()] },
      }),
    finalNorm: layerNorm,
    tieWordEmbeddings,
  });
}
