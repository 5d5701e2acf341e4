// The config readings of the Gemma line, Granite and SmolLM3: module trees as mlx-lm's, and the
// config values mlx-lm would not run (or would run differently from the checkpoint's intent)
// rejected with an error naming the field. Numerics are in parity.test.ts, float16 here.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { mx } from "mlux";
import type { ModelConfig } from "../../src/load/config.ts";
import { loadModel } from "../../src/models/load.ts";
import { buildModel } from "../../src/models/registry.ts";
import type { Attention } from "../../src/models/shared/attention.ts";
import type { DecoderLM } from "../../src/models/shared/decoder.ts";
import { NoPE } from "../../src/models/smollm3.ts";
import { RMSNorm } from "../../src/nn/layers/normalization.ts";
import { closeOracle, expectSameAsPython } from "../oracle/oracle.ts";

const checkpoints = join(fileURLToPath(new URL("../..", import.meta.url)), ".checkpoints");

const base = {
  hidden_size: 16,
  num_hidden_layers: 4,
  intermediate_size: 32,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  head_dim: 8,
  rms_norm_eps: 1e-6,
  vocab_size: 32,
};

// These families are all built on the shared decoder.
const build = (config: Record<string, unknown>) => buildModel(config as ModelConfig) as DecoderLM;
const attention = (model: DecoderLM, layer: number) => model.layers[layer]?.mixing as Attention;
// Gemma's RMSNorm: scaling by (1 + weight).
const plusOneNorm = (model: DecoderLM, path: string) => {
  const norm = model.getModule(path);
  return norm instanceof RMSNorm && norm._weightPlusOne;
};
const hasModule = (model: DecoderLM, path: string) => model.namedModules().some(([p]) => p === path);

describe("gemma family configs", () => {
  test("gemma: (1 + w) norms, tied, no sanitize", () => {
    const model = build({ ...base, model_type: "gemma" });
    assert.ok(plusOneNorm(model, "model.layers.0.input_layernorm"));
    assert.ok(plusOneNorm(model, "model.norm"));
    assert.equal(model.lm_head, undefined);
    assert.ok(!hasModule(model, "model.layers.0.pre_feedforward_layernorm"));
    const weights = new Map([["lm_head.weight", mx.zeros([32, 16])]]);
    assert.ok(model.sanitize(weights).has("lm_head.weight"), "mlx-lm's gemma drops nothing");
    model.dispose();
  });

  test("RMSNorm with weightPlusOne scales by 1 + weight", () => {
    const norm = new RMSNorm(4, 1e-6, { weightPlusOne: true });
    const x = mx.array([[1, 2, 3, 4]], "float32");
    const expected = mx.fast.rmsNorm(x, mx.full([4], 2), 1e-6);
    norm.weight = mx.ones([4]);
    assert.deepEqual(norm.call(x).tolist(), expected.tolist());
  });

  test("gemma2: sandwich norms; null soft-caps are errors", () => {
    const model = build({ ...base, model_type: "gemma2" });
    const paths = [...model.parameters().keys()];
    assert.ok(paths.includes("model.layers.0.pre_feedforward_layernorm.weight"));
    assert.ok(paths.includes("model.layers.0.post_feedforward_layernorm.weight"));
    model.dispose();
    assert.throws(
      () => build({ ...base, model_type: "gemma2", attn_logit_softcapping: null }),
      /"attn_logit_softcapping" is null/,
    );
  });

  test("gemma3_text: q/k norms, pattern, lm_head only when the checkpoint has one", () => {
    const config = { ...base, model_type: "gemma3_text", sliding_window: 4, sliding_window_pattern: 2 };
    const model = build(config);
    assert.ok(plusOneNorm(model, "model.layers.0.self_attn.q_norm"));
    assert.deepEqual(
      model.model._mixing.map((m) => (m.kind === "attention" ? m.window : m.kind)),
      [4, undefined, 4, undefined],
    );
    assert.ok(model.lm_head);
    model.sanitize(new Map());
    assert.equal(model.lm_head, undefined);
    assert.ok(![...model.parameters().keys()].some((p) => p.startsWith("lm_head")));
    model.dispose();
    const withHead = build(config);
    withHead.sanitize(new Map([["lm_head.weight", mx.zeros([32, 16])]]));
    assert.ok(withHead.lm_head);
    withHead.dispose();
  });

  test("gemma3_text: what mlx-lm would ignore or cannot run is an error", () => {
    const config = { ...base, model_type: "gemma3_text", sliding_window_pattern: 2 };
    assert.throws(
      () => build({ ...config, layer_types: ["full_attention", "full_attention", "full_attention", "full_attention"] }),
      /"layer_types" .* disagree with sliding_window_pattern 2/,
    );
    assert.throws(() => build({ ...config, final_logit_softcapping: 30 }), /"final_logit_softcapping" is set/);
    assert.throws(
      () => build({ ...config, sliding_window_pattern: 6 }),
      /sliding_window_pattern 6 > num_hidden_layers 4/,
    );
    assert.throws(() => build({ ...config, use_bidirectional_attention: true }), /"use_bidirectional_attention"/);
    assert.throws(() => build({ ...base, model_type: "gemma2", attention_bias: true }), /"attention_bias": true/);
    build({
      ...config,
      attention_bias: false,
      use_bidirectional_attention: false,
      attn_logit_softcapping: null,
      layer_types: ["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
    }).dispose();
  });
});

describe("granite and smollm3 configs", () => {
  const llamaFields = { ...base, rope_theta: 10000, max_position_embeddings: 128 };

  test("granite: multipliers read, required", () => {
    const config = {
      ...llamaFields,
      model_type: "granite",
      attention_bias: false,
      mlp_bias: false,
      embedding_multiplier: 12,
      residual_multiplier: 0.22,
      attention_multiplier: 0.0625,
      logits_scaling: 8,
    };
    const model = build(config);
    assert.equal(attention(model, 0)._scale, 0.0625);
    assert.equal(model.layers[0]?._residualMultiplier, 0.22);
    assert.equal(model.layout.logitsScaling, 8);
    model.dispose();
    const { logits_scaling: _, ...missing } = config;
    assert.throws(() => build(missing), /"logits_scaling" must be a number/);
  });

  test("smollm3: NoPE where no_rope_layers is 0, default every 4th layer", () => {
    const model = build({ ...llamaFields, model_type: "smollm3", no_rope_layers: [1, 0, 1, 1] });
    assert.deepEqual(
      model.layers.map((_, i) => attention(model, i).rope instanceof NoPE),
      [false, true, false, false],
    );
    model.dispose();
    const byInterval = build({ ...llamaFields, model_type: "smollm3" });
    assert.deepEqual(
      byInterval.layers.map((_, i) => attention(byInterval, i).rope instanceof NoPE),
      [false, false, false, true],
    );
    byInterval.dispose();
    assert.throws(
      () => build({ ...llamaFields, model_type: "smollm3", no_rope_layers: [1, 1] }),
      /"no_rope_layers" has 2 entries for 4 layers/,
    );
  });
});

// float16 (no checkpoint is stored so): the bf16 checkpoints cast with set_dtype, against mlx-lm
// doing the same. Covers Gemma 3's float16 residual path and each family's scalar roundings.
describe("float16 forward matches mlx-lm", () => {
  after(closeOracle);
  const tokens = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % 8192);
  for (const name of ["gemma", "gemma2", "gemma3_text", "granite", "smollm3"]) {
    test(name, async () => {
      const path = join(checkpoints, name, "bf16");
      const { model } = await loadModel(path, { dtype: "native" });
      model.setDtype("float16");
      const ours = model.call(mx.array([tokens]));
      const code = `from pathlib import Path
from mlx_lm.utils import load_model
model, _ = load_model(Path(${JSON.stringify(path)}))
model.set_dtype(mx.float16)
result = model(mx.array([${JSON.stringify(tokens)}]))`;
      await expectSameAsPython(ours, code);
      model.dispose();
    });
  }
});
