// Random changes to checkpoints copied from the shipped fixtures: config fields set to hostile
// values or removed, tokenizer ids changed, safetensors headers rewritten, bytes overwritten,
// files cut short. The child applies them to a copy in a temporary folder (interpreter.ts).
import type { ModelProgram, Mutation, Value } from "./program.ts";
import type { Random } from "./random.ts";

const SOURCES = ["fixtures/attn-only-2l", "fixtures/tiny-lm-4bit", "fixtures/entity-binding"];

const FIELDS = [
  "num_hidden_layers",
  "hidden_size",
  "intermediate_size",
  "num_attention_heads",
  "num_key_value_heads",
  "head_dim",
  "vocab_size",
  "max_position_embeddings",
  "rope_theta",
  "rms_norm_eps",
  "layer_norm_eps",
  "norm_eps",
  "rope_scaling",
  "quantization",
  "tie_word_embeddings",
  "model_type",
  "sliding_window",
  "partial_rotary_factor",
  "attention_bias",
  "n_layer",
  "n_embd",
  "n_head",
  "hidden_act",
  "rope_traditional",
];

const VALUES: Value[] = [
  { num: 0 },
  { num: -1 },
  { num: 1 },
  { num: 2 },
  { num: 1.5 },
  { num: 2 ** 31 },
  { num: 1e9 },
  { num: "Infinity" },
  { num: "NaN" },
  { num: 1e-30 },
  { num: 64 },
  { num: 3 },
  { str: "llama" },
  { str: "gpt2" },
  { str: "gemma3_text" },
  { str: "phi3" },
  { str: "" },
  { str: "x" },
  { bool: true },
  { none: "null" },
  { list: [] },
  { list: [{ num: 1 }, { num: -1 }] },
  { obj: { group_size: { num: 0 }, bits: { num: 4 } } },
  { obj: { group_size: { num: 64 }, bits: { num: 99 } } },
  { obj: { group_size: { num: 32 }, bits: { num: 8 }, mode: { str: "mxfp4" } } },
  { obj: { rope_type: { str: "linear" }, factor: { num: 0 } } },
  { obj: { rope_type: { str: "llama3" }, factor: { num: 8 }, low_freq_factor: { num: -1 } } },
  { obj: { type: { str: "longrope" }, long_factor: { list: [{ num: 1 }] }, short_factor: { list: [] } } },
];

export class ModelGrammar {
  constructor(private readonly random: Random) {}

  program(): ModelProgram {
    const r = this.random;
    const mutations: Mutation[] = [];
    // Some unchanged checkpoints, so that hostile prompts and the forward pass get exercised too.
    for (let i = Number(r.weighted({ 0: 1, 1: 3, 2: 1 } as Record<string, number>)); i > 0; i--) {
      mutations.push(this.#mutation());
    }
    const prompt = Array.from({ length: r.int(1, 4) }, () =>
      r.chance(0.1) ? r.pick([-1, 1e9, 2.5, 4095, 4096]) : r.int(0, 40),
    );
    return { kind: "model", source: r.pick(SOURCES), mutations, prompt };
  }

  #mutation(): Mutation {
    const r = this.random;
    switch (r.weighted({ config: 6, tokenizer: 1, header: 2, bytes: 1, truncate: 1 })) {
      case "config":
        return { file: "config.json", field: r.pick(FIELDS), value: r.chance(0.15) ? "delete" : r.pick(VALUES) };
      case "tokenizer":
        return { file: "tokenizer.json", token: r.int(0, 10_000), id: r.pick([...VALUES.slice(0, 10), { num: 5 }]) };
      case "header":
        return {
          file: "model.safetensors",
          header: {
            tensor: r.int(0, 100),
            field: r.pick(["shape", "dtype", "data_offsets"] as const),
            value: r.pick([
              { list: [{ num: 1e9 }, { num: 1e9 }] },
              { list: [{ num: -1 }] },
              { list: [] },
              { list: [{ num: 0 }, { num: 2 ** 40 }] },
              { list: [{ num: 4 }, { num: 2 }] },
              { str: "F64" },
              { str: "I8" },
              { str: "BOOL" },
              { str: "Q4" },
              { num: 3 },
            ] as Value[]),
          },
        };
      case "bytes":
        return {
          file: "model.safetensors",
          at: r.int(0, 1200),
          bytes: Array.from({ length: r.int(1, 8) }, () => r.int(0, 255)),
        };
      default:
        return { file: "model.safetensors", truncate: r.int(0, 4000) };
    }
  }
}
