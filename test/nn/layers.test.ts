import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import * as act from "../../src/nn/layers/activations.ts";
import { Embedding } from "../../src/nn/layers/embedding.ts";
import { Linear } from "../../src/nn/layers/linear.ts";
import { LayerNorm, RMSNorm } from "../../src/nn/layers/normalization.ts";
import { initializeRope } from "../../src/nn/layers/rope.ts";
import { Module } from "../../src/nn/module.ts";
import { quantizeModel } from "../../src/nn/quantize.ts";
import { closeOracle, expectSameAsPython, randomArray, randomInts } from "../oracle/oracle.ts";

after(closeOracle);

// fp32 products run on OpenBLAS here and on the wheel's reference BLAS in the Python oracle:
// the same sums in another order, ~1e-7 relative apart.
const BLAS = { atol: 1e-5, rtol: 1e-5 };

describe("layers match mlx.nn", () => {
  const x = randomArray([2, 3, 64], 1);

  test("Linear with and without bias, fp32 and bf16", async () => {
    for (const bias of [true, false]) {
      const layer = new Linear(64, 32, { bias });
      layer.loadWeights({ weight: randomArray([32, 64], 2), ...(bias ? { bias: randomArray([32], 3) } : {}) });
      const inputs = { x, w: layer.weight, ...(bias ? { b: layer.bias as mx.Array } : {}) };
      const code = `l = nn.Linear(64, 32, bias=${bias ? "True" : "False"}); l.weight = w\n${bias ? "l.bias = b\n" : ""}result = l(x)`;
      await expectSameAsPython(layer.call(x), `import mlx.nn as nn\n${code}`, inputs, BLAS);
      layer.setDtype("bfloat16");
      const xb = mx.astype(x, "bfloat16");
      const inputsB = { x: xb, w: layer.weight, ...(bias ? { b: layer.bias as mx.Array } : {}) };
      await expectSameAsPython(layer.call(xb), `import mlx.nn as nn\n${code}`, inputsB);
    }
  });

  test("QuantizedLinear and QuantizedEmbedding, as mlx-lm loads them", async () => {
    class Tiny extends Module {
      embed_tokens = new Embedding(100, 64);
      proj = new Linear(64, 32, { bias: true });
      head = new Linear(64, 100, { bias: false });
    }
    const model = new Tiny();
    const dense = {
      "embed_tokens.weight": randomArray([100, 64], 4),
      "proj.weight": randomArray([32, 64], 5),
      "proj.bias": randomArray([32], 6),
      "head.weight": randomArray([100, 64], 7),
    };
    const weights = new Map<string, mx.Array>([["proj.bias", dense["proj.bias"]]]);
    const q4 = mx.quantize(dense["embed_tokens.weight"], { groupSize: 32, bits: 4 });
    const q8 = mx.quantize(dense["proj.weight"], { groupSize: 64, bits: 8 });
    const fp4 = mx.quantize(dense["head.weight"], { groupSize: 32, bits: 4, mode: "mxfp4" });
    for (const [name, q] of [
      ["embed_tokens", q4],
      ["proj", q8],
      ["head", fp4],
    ] as const) {
      weights.set(`${name}.weight`, q.wq);
      weights.set(`${name}.scales`, q.scales);
      if (q.biases) weights.set(`${name}.biases`, q.biases);
    }
    quantizeModel(model, { group_size: 64, bits: 4 }, weights);
    model.loadWeights(weights);
    const tokens = randomInts([2, 5], 8, 0, 100);
    const setup = `import mlx.nn as nn
e = nn.Embedding(100, 64); e.weight = ew
p = nn.Linear(64, 32); p.weight = pw; p.bias = pb
h = nn.Linear(64, 100, bias=False); h.weight = hw
qe = nn.QuantizedEmbedding.from_embedding(e, group_size=32, bits=4)
qp = nn.QuantizedLinear.from_linear(p, group_size=64, bits=8)
qh = nn.QuantizedLinear.from_linear(h, group_size=32, bits=4, mode="mxfp4")
`;
    const inputs = {
      ew: dense["embed_tokens.weight"],
      pw: dense["proj.weight"],
      pb: dense["proj.bias"],
      hw: dense["head.weight"],
      t: tokens,
      x,
    };
    const embedded = model.embed_tokens.call(tokens);
    await expectSameAsPython(embedded, `${setup}result = qe(t)`, inputs);
    await expectSameAsPython(model.proj.call(x), `${setup}result = qp(x)`, inputs);
    await expectSameAsPython(model.head.call(x), `${setup}result = qh(x)`, inputs);
    await expectSameAsPython(
      (model.embed_tokens as unknown as Embedding).asLinear(x),
      `${setup}result = qe.as_linear(x)`,
      inputs,
    );
  });

  test("Embedding lookup and tied unembedding", async () => {
    const e = new Embedding(50, 64);
    e.loadWeights({ weight: randomArray([50, 64], 9) });
    const tokens = randomInts([3, 4], 10, 0, 50);
    const setup = "import mlx.nn as nn\ne = nn.Embedding(50, 64); e.weight = w\n";
    await expectSameAsPython(e.call(tokens), `${setup}result = e(t)`, { w: e.weight, t: tokens });
    await expectSameAsPython(e.asLinear(x), `${setup}result = e.as_linear(x)`, { w: e.weight, x }, BLAS);
  });

  test("RMSNorm and LayerNorm", async () => {
    const rms = new RMSNorm(64, 1e-6);
    rms.loadWeights({ weight: randomArray([64], 11) });
    await expectSameAsPython(
      rms.call(x),
      "import mlx.nn as nn\nn_ = nn.RMSNorm(64, eps=1e-6); n_.weight = w\nresult = n_(x)",
      { x, w: rms.weight },
    );
    const ln = new LayerNorm(64);
    ln.loadWeights({ weight: randomArray([64], 12), bias: randomArray([64], 13) });
    await expectSameAsPython(
      ln.call(x),
      "import mlx.nn as nn\nn_ = nn.LayerNorm(64); n_.weight = w; n_.bias = b\nresult = n_(x)",
      { x, w: ln.weight as mx.Array, b: ln.bias as mx.Array },
    );
    const plain = new LayerNorm(64, { affine: false, eps: 1e-6 });
    assert.equal(plain.parameters().size, 0);
    await expectSameAsPython(
      plain.call(x),
      "import mlx.nn as nn\nresult = nn.LayerNorm(64, eps=1e-6, affine=False)(x)",
      { x },
    );
  });

  test("activations: mlx.nn's values exactly, in float32 and in bfloat16", async () => {
    const half = mx.astype(x, "bfloat16");
    for (const [ours, python] of [
      [act.silu, "silu"],
      [act.gelu, "gelu"],
      [act.geluApprox, "gelu_approx"],
      [act.geluFastApprox, "gelu_fast_approx"],
      [act.relu, "relu"],
      [act.relu2, "relu2"],
      [act.softplus, "softplus"],
    ] as const) {
      for (const input of [x, half]) {
        await expectSameAsPython(ours(input), `import mlx.nn as nn\nresult = nn.${python}(x)`, { x: input });
      }
    }
    const up = randomArray([2, 3, 64], 4);
    for (const [gate, other] of [
      [x, up],
      [half, mx.astype(up, "bfloat16")],
    ] as const) {
      await expectSameAsPython(
        act.siluGate(gate, other),
        "from mlx_lm.models.activations import swiglu\nresult = swiglu(gate, up)",
        { gate, up: other },
      );
    }
    half.dispose();
  });
});

describe("rotary embeddings match mlx-lm's initialize_rope", () => {
  const q = randomArray([1, 4, 7, 64], 20);
  const cases: [string, Record<string, unknown> | null, number][] = [
    ["default", null, 10000],
    ["linear", { type: "linear", factor: 4 }, 10000],
    ["dynamic", { type: "dynamic", factor: 2 }, 10000],
    [
      "llama3",
      {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
      500000,
    ],
    [
      "yarn",
      {
        rope_type: "yarn",
        factor: 4,
        original_max_position_embeddings: 4096,
        beta_fast: 32,
        beta_slow: 1,
        mscale: 1,
        mscale_all_dim: 0.5,
      },
      10000,
    ],
    [
      "longrope",
      {
        rope_type: "longrope",
        original_max_position_embeddings: 4096,
        short_factor: new Array(32).fill(1.1),
        long_factor: Array.from({ length: 32 }, (_, i) => 1 + i / 8),
      },
      10000,
    ],
  ];
  for (const [name, scaling, base] of cases) {
    test(name, async () => {
      const rope = initializeRope(64, base, false, scaling, 131072);
      const config = scaling === null ? "None" : JSON.stringify(scaling);
      const code = `from mlx_lm.models.rope_utils import initialize_rope\nrope = initialize_rope(64, ${base}, False, ${config}, 131072)\nresult = [rope(q, offset=5), rope(q)]`;
      await expectSameAsPython([rope.call(q, 5), rope.call(q)], code, { q }, { atol: 1e-6, rtol: 1e-6 });
    });
  }
  test("an unknown rope type names the supported ones", () => {
    assert.throws(
      () => initializeRope(64, 10000, false, { rope_type: "mystery" }),
      /unsupported rope_scaling type "mystery"; supported: default, linear/,
    );
  });
});
