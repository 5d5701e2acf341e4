// The pieces of the gpt2, gpt_neox, phi3, olmo2/olmo3 and starcoder2 files that the checkpoint
// parity test does not reach: sanitize rules on Hugging Face layouts, the rotating cache of
// sliding layers across its branches, and the config switches that are refused.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { RotatingKVCache } from "../../src/models/cache/rotating-kv-cache.ts";
import { buildModel } from "../../src/models/registry.ts";
import { closeOracle, expectSameAsPython, randomArray } from "../oracle/oracle.ts";

after(closeOracle);

const MASK_NONE = -2;
const MASK_CAUSAL = -1;

function maskCode(mask: mx.Array | "causal" | null): mx.Array {
  if (mask === null) return mx.array([MASK_NONE], "int32");
  if (mask === "causal") return mx.array([MASK_CAUSAL], "int32");
  return mx.reshape(mx.astype(mask, "int32"), [-1]);
}

describe("RotatingKVCache matches mlx-lm's", () => {
  // Chunks and single tokens, past the window, with and without kept positions, and a mask
  // window smaller than the cache (the rolled single-token mask).
  const steps = [5, 1, 1, 1, 1, 1, 1, 4, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 1];
  for (const [maxSize, keep, window] of [
    [8, 0, 8],
    [8, 2, 8],
    [8, 0, 6],
  ] as const) {
    test(`max_size ${maxSize}, keep ${keep}, mask window ${window}`, async () => {
      const cache = new RotatingKVCache(maxSize, keep);
      const inputs: Record<string, mx.Array> = {};
      const ours: mx.Array[] = [];
      steps.forEach((length, i) => {
        const mask = cache.makeMask(length, window);
        ours.push(maskCode(mask));
        const keys = randomArray([1, 2, length, 4], 10 + i);
        const values = randomArray([1, 2, length, 3], 100 + i);
        inputs[`k${i}`] = keys;
        inputs[`v${i}`] = values;
        const [k, v] = cache.updateAndFetch(keys, values);
        // The cache releases what it replaces: hold our own handles on what it returned.
        ours.push(mx.array(k), mx.array(v), mx.array([cache.offset], "int32"));
      });
      const code = `
from mlx_lm.models.cache import RotatingKVCache
def code(m):
    if m is None: return mx.array([${MASK_NONE}], dtype=mx.int32)
    if isinstance(m, str): return mx.array([${MASK_CAUSAL}], dtype=mx.int32)
    return m.astype(mx.int32).reshape(-1)
c = RotatingKVCache(max_size=${maxSize}, keep=${keep})
result = []
for i, n in enumerate(${JSON.stringify(steps)}):
    result.append(code(c.make_mask(n, window_size=${window})))
    k, v = c.update_and_fetch(globals()[f"k{i}"], globals()[f"v{i}"])
    # (copies: later in-place writes to the cache would show through the returned arrays)
    result += [mx.array(k), mx.array(v), mx.array([c.offset], dtype=mx.int32)]
`;
      await expectSameAsPython(ours, code, inputs);
      cache.dispose();
    });
  }
});

describe("sanitize as mlx-lm's", () => {
  test("gpt2: Hugging Face Conv1D weights transposed, attn.bias dropped, model. prefix", async () => {
    const config = { model_type: "gpt2", n_ctx: 16, n_embd: 8, n_head: 2, n_layer: 1, n_positions: 16 };
    const model = buildModel({ ...config, layer_norm_epsilon: 1e-5, vocab_size: 32 });
    const hf: Record<string, mx.Array> = {
      "wte.weight": randomArray([32, 8], 1),
      "wpe.weight": randomArray([16, 8], 2),
      "h.0.attn.bias": mx.ones([1, 1, 16, 16]),
      "h.0.attn.c_attn.weight": randomArray([8, 24], 3),
      "h.0.attn.c_attn.bias": randomArray([24], 4),
      "h.0.attn.c_proj.weight": randomArray([8, 8], 5),
      "h.0.mlp.c_fc.weight": randomArray([8, 32], 6),
      "h.0.mlp.c_proj.weight": randomArray([32, 8], 7),
      "h.0.ln_1.weight": randomArray([8], 8),
    };
    const out = model.sanitize(new Map(Object.entries(hf)));
    const names = [...out.keys()].sort();
    assert.ok(!names.includes("model.h.0.attn.bias"));
    assert.deepEqual(out.get("model.h.0.attn.c_attn.weight")?.shape, [24, 8]);
    const inputs = Object.fromEntries(Object.values(hf).map((v, i) => [`w${i}`, v]));
    const keys = Object.keys(hf);
    const code = `
from mlx_lm.models.gpt2 import Model, ModelArgs
m = Model(ModelArgs(model_type="gpt2", n_ctx=16, n_embd=8, n_head=2, n_layer=1, n_positions=16, layer_norm_epsilon=1e-5, vocab_size=32))
names = ${JSON.stringify(keys)}
out = m.sanitize({n: globals()[f"w{i}"] for i, n in enumerate(names)})
assert sorted(out) == ${JSON.stringify(names)}, sorted(out)
result = [out[k] for k in sorted(out)]
`;
    await expectSameAsPython(
      names.map((n) => out.get(n) as mx.Array),
      code,
      inputs,
    );
    model.dispose();
  });

  test("gpt_neox: buffers dropped, gpt_neox.layers. → h., model. prefix", () => {
    const model = buildModel({
      model_type: "gpt_neox",
      max_position_embeddings: 16,
      hidden_size: 8,
      num_attention_heads: 2,
      num_hidden_layers: 1,
      layer_norm_eps: 1e-5,
      vocab_size: 32,
      rotary_emb_base: 10000,
      rotary_pct: 0.25,
    });
    const w = () => mx.zeros([1]);
    const out = model.sanitize(
      new Map([
        ["gpt_neox.embed_in.weight", w()],
        ["gpt_neox.layers.0.attention.bias", w()],
        ["gpt_neox.layers.0.attention.masked_bias", w()],
        ["gpt_neox.layers.0.attention.rotary_emb.inv_freq", w()],
        ["gpt_neox.layers.0.attention.dense.weight", w()],
        ["gpt_neox.final_layer_norm.weight", w()],
        ["embed_out.weight", w()],
      ]),
    );
    assert.deepEqual([...out.keys()].sort(), [
      "model.embed_in.weight",
      "model.embed_out.weight",
      "model.final_layer_norm.weight",
      "model.h.0.attention.dense.weight",
    ]);
    model.dispose();
  });
});

describe("lfm2 pieces", () => {
  test("mx.conv1d (plain, strided, grouped) matches mlx.core", async () => {
    const x = randomArray([2, 9, 6], 1);
    const w = randomArray([6, 3, 1], 2);
    const w2 = randomArray([4, 2, 6], 3);
    await expectSameAsPython(
      [mx.conv1d(x, w, { groups: 6 }), mx.conv1d(x, w2, { stride: 2, padding: 1, dilation: 2 })],
      "result = [mx.conv1d(x, w, groups=6), mx.conv1d(x, w2, stride=2, padding=1, dilation=2)]",
      { x, w, w2 },
      { atol: 1e-6 },
    );
  });

  test("sanitize puts PyTorch-layout conv weights channels last", () => {
    const model = buildModel({
      model_type: "lfm2",
      vocab_size: 32,
      hidden_size: 8,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      max_position_embeddings: 64,
      norm_eps: 1e-5,
      conv_bias: false,
      conv_L_cache: 3,
      block_dim: 8,
      block_ff_dim: 24,
      block_multiple_of: 8,
      block_ffn_dim_multiplier: 1.0,
      block_auto_adjust_ff_dim: true,
      full_attn_idxs: [1],
    });
    const out = model.sanitize(new Map([["model.layers.0.conv.conv.weight", mx.zeros([8, 1, 3])]]));
    assert.deepEqual(out.get("model.layers.0.conv.conv.weight")?.shape, [8, 3, 1]);
    const paths = new Set(model.namedModules().map(([p]) => p));
    for (const p of ["model.layers.0.conv.conv", "model.layers.1.self_attn.q_layernorm", "model.embedding_norm"]) {
      assert.ok(paths.has(p), p);
    }
    model.dispose();
  });
});

describe("module paths and config switches", () => {
  test("module paths are mlx-lm's attribute paths", () => {
    const paths = (config: Record<string, unknown>) =>
      new Set(
        buildModel(config as { model_type: string })
          .namedModules()
          .map(([p]) => p),
      );
    const gpt2 = paths({
      model_type: "gpt2",
      n_ctx: 16,
      n_embd: 8,
      n_head: 2,
      n_layer: 1,
      n_positions: 16,
      layer_norm_epsilon: 1e-5,
      vocab_size: 32,
    });
    for (const p of ["model.wte", "model.wpe", "model.h.0.attn.c_attn", "model.h.0.mlp.c_fc", "model.ln_f"]) {
      assert.ok(gpt2.has(p), p);
    }
  });

  const phi3 = {
    model_type: "phi3",
    hidden_size: 16,
    num_hidden_layers: 1,
    intermediate_size: 32,
    num_attention_heads: 2,
    rms_norm_eps: 1e-5,
    vocab_size: 32,
  };

  test("phi3: a rope_scaling type mlx-lm would silently drop is refused", () => {
    assert.throws(
      () => buildModel({ ...phi3, rope_scaling: { type: "yarn", long_factor: [1, 1, 1, 1] } }),
      /rope_scaling type "yarn" is not supported/,
    );
    assert.throws(() => buildModel({ ...phi3, rope_scaling: { factor: 2 } }), /must contain "long_factor" and "type"/);
  });

  test("olmo3: an unknown layer type is refused", () => {
    assert.throws(
      () =>
        buildModel({
          model_type: "olmo3",
          hidden_size: 16,
          num_hidden_layers: 1,
          intermediate_size: 32,
          num_attention_heads: 2,
          rms_norm_eps: 1e-5,
          vocab_size: 32,
          max_position_embeddings: 64,
          sliding_window: 4,
          rope_theta: 10000,
          layer_types: ["chunked_attention"],
        }),
      /layer type "chunked_attention" is not supported/,
    );
  });
});
