// Causal attention in query blocks (src/models/shared/query-blocks.ts) and the gated MLP's own silu
// kernel: where they run (the dtype mlux chose on the CPU, long prompts, no hook on the scores or the
// pattern for the blocks), and that they compute
// what the whole call computes, up to summation order: against mx.fast's causal attention, against
// mlx-lm in float32 on a 512-token prompt, and in greedy generation of the fixtures.
//
// Tolerances. On the CPU in float32 each block is a product of the queries with the keys up to the
// block's end, mlux's own causal softmax (mx.cpuKernels: an exponential within 1.22 ulp of exact,
// not libmlx's) and a product with the values: float32 rounding (2^-24 relative per operation) in
// another order and another exponential. Attention alone (unit test): outputs are averages of
// unit-normal values, measured max difference 7-9e-7 at tiny-lm's shape and 1.6e-6 at Qwen3-0.6B's
// (16 heads, 8 kv, 128 dims, 512 positions); tolerance 1e-5. Logits through the tiny fixtures' 4
// layers (|logits| up to about 20), with the gated MLP's own silu kernel too: measured max
// difference 2.1e-5 (tiny-lm-f16) at 512 tokens; tolerance 1e-4.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { HookedModel, mx } from "mlux";
import { generateTokens } from "../../src/generate/generate.ts";
import { queryBlocksFor } from "../../src/models/compute-dtype.ts";
import { loadModel } from "../../src/models/load.ts";
import { GatedMLP } from "../../src/models/shared/mlp.ts";
import { MultiHeadAttention } from "../../src/models/shared/multihead.ts";
import { BLOCKED_FROM, causalAttentionInQueryBlocks, QUERY_BLOCK } from "../../src/models/shared/query-blocks.ts";
import type { Module } from "../../src/nn/module.ts";
import { gemmShim } from "../hooks/checkpoints.ts";
import { assertClose } from "../oracle/oracle.ts";
import { askOracleSync, repoRoot as root } from "../oracle/python.ts";

const ATTENTION_TOLERANCE = 1e-5;
const LOGIT_TOLERANCE = 1e-4;

const scratch = mkdtempSync(join(tmpdir(), "mlux-blocks-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const F16 = join(root, "fixtures/tiny-lm-f16");
const Q4 = join(root, "fixtures/tiny-lm-4bit");
const LONG = Array.from({ length: 512 }, (_, i) => ((i * 7919) % 4000) + 10); // ids below the fixtures' 4096

// The long-prompt path: attention in query blocks and the gated MLP's own silu kernel, on or off together.
function setQueryBlocks(model: Module, on: boolean): void {
  for (const [, m] of model.namedModules()) {
    if (m instanceof MultiHeadAttention) m._queryBlocks = on;
    if (m instanceof GatedMLP) m._ownKernels = on;
  }
}

function blocksOn(model: Module): boolean[] {
  return model.namedModules().flatMap(([, m]) => (m instanceof MultiHeadAttention ? [m._queryBlocks] : []));
}

function maxDiff(a: mx.Array, b: mx.Array): number {
  return mx.tidy(() => mx.max(mx.abs(mx.subtract(a, b))).item() as number);
}

describe("causalAttentionInQueryBlocks", () => {
  test("equals mx.fast's causal attention: grouped heads, a batch, a cache offset, a ragged last block", () => {
    mx.random.seed(3);
    for (const [queries, keys] of [
      [200, 200],
      [200, 264], // 64 keys already cached: the causal mask is lower-right aligned
      [QUERY_BLOCK, QUERY_BLOCK],
    ] as const) {
      mx.tidy(() => {
        const q = mx.random.normal([2, 8, queries, 32]);
        const k = mx.random.normal([2, 2, keys, 32]);
        const v = mx.random.normal([2, 2, keys, 32]);
        const whole = mx.fast.scaledDotProductAttention(q, k, v, { scale: 32 ** -0.5, mask: "causal" });
        const blocked = causalAttentionInQueryBlocks(q, k, v, 32 ** -0.5);
        assertClose(blocked, whole, { atol: ATTENTION_TOLERANCE }, `${queries} queries, ${keys} keys`);
        const oneBlock = causalAttentionInQueryBlocks(q, k, v, 32 ** -0.5, queries);
        assertClose(oneBlock, whole, { atol: ATTENTION_TOLERANCE }, "one block");
      });
    }
  });

  test("fewer keys than queries is refused", () => {
    mx.tidy(() => {
      const q = mx.zeros([1, 2, 8, 4]);
      const k = mx.zeros([1, 2, 4, 4]);
      assert.throws(() => causalAttentionInQueryBlocks(q, k, k, 1), /at least as many keys \(4\) as queries \(8\)/);
    });
  });
});

describe("where query blocks run", () => {
  test("only where mlux chose float32 on the CPU: auto, or float32 over another stored dtype", () => {
    const plain = (dtype: "float32" | "float16" | "bfloat16") => ({ dtype, packed: false });
    assert.equal(queryBlocksFor({ requested: "auto", dtype: "float32" }, plain("float16"), "cpu"), true);
    assert.equal(queryBlocksFor({ requested: "auto", dtype: "float32" }, plain("float32"), "cpu"), true);
    assert.equal(queryBlocksFor({ requested: "float32", dtype: "float32" }, plain("bfloat16"), "cpu"), true);
    assert.equal(
      queryBlocksFor({ requested: "float32", dtype: "float32" }, { dtype: "float32", packed: true }, "cpu"),
      true,
      "a packed checkpoint computed in float32",
    );
    assert.equal(queryBlocksFor({ requested: "float32", dtype: "float32" }, plain("float32"), "cpu"), false);
    assert.equal(queryBlocksFor({ requested: "native", dtype: "float16" }, plain("float16"), "cpu"), false);
    assert.equal(queryBlocksFor({ requested: "native", dtype: "float32" }, plain("float32"), "cpu"), false);
    assert.equal(queryBlocksFor({ requested: "float16", dtype: "float16" }, plain("bfloat16"), "cpu"), false);
    assert.equal(queryBlocksFor({ requested: "auto", dtype: "float32" }, plain("float16"), "gpu"), false);
  });

  test("loadModel turns them on in every attention layer and MLP under auto, off under native", async () => {
    const auto = await loadModel(F16, { dtype: "auto" });
    const native = await loadModel(F16, { dtype: "native" });
    assert.equal(auto.compute.queryBlocks, true);
    assert.deepEqual(blocksOn(auto.model), [true, true, true, true]);
    assert.equal(native.compute.queryBlocks, false);
    assert.deepEqual(blocksOn(native.model), [false, false, false, false]);
    const ownSilu = (model: Module) =>
      model.namedModules().flatMap(([, m]) => (m instanceof GatedMLP ? [m._ownKernels] : []));
    assert.deepEqual(ownSilu(auto.model), [true, true, true, true]);
    assert.deepEqual(ownSilu(native.model), [false, false, false, false]);
    auto.model.dispose();
    native.model.dispose();
  });
});

describe("a long prompt under auto", () => {
  test(`${LONG.length} tokens (blocks from ${BLOCKED_FROM}): close to mlx-lm in float32 and to mlux's whole attention`, async () => {
    const out = join(scratch, "cast.safetensors");
    const shim = gemmShim();
    const env = shim ? { ...process.env, LD_PRELOAD: shim } : process.env;
    askOracleSync("compute_dtype", [{ op: "logits", model: F16, mode: "cast", tokens: LONG, out }], env);
    const mlxLm = mx.loadSafetensors(out).arrays.logits as mx.Array;

    const { model } = await loadModel(F16, { dtype: "auto" });
    const ids = mx.array([LONG], "int32");
    const blocked = model.call(ids);
    assertClose(blocked, mlxLm, { atol: LOGIT_TOLERANCE }, "blocked against mlx-lm float32");
    setQueryBlocks(model, false);
    const whole = model.call(ids);
    // Unblocked, auto is mlx-lm's float32 computation exactly (compute-dtype.test.ts at 10 tokens).
    assertClose(whole, mlxLm, { atol: 0 }, "whole attention against mlx-lm float32");
    assertClose(blocked, whole, { atol: LOGIT_TOLERANCE }, "blocked against whole");
    // The blocks did run: at 512 tokens their summation order shows in the last bits.
    assert.ok(maxDiff(blocked, whole) > 0, "blocked and whole attention gave identical logits");
    model.dispose();
  });

  test("hooks on the pattern see the model's whole causal pattern", async () => {
    const hm = await HookedModel.fromPretrained(F16, { dtype: "auto" });
    const seen: number[][] = [];
    const logits = hm.runWithHooks([LONG], {
      hooks: [
        [
          "pattern.*",
          (pattern: mx.Array) => {
            seen.push(pattern.shape as number[]);
            return pattern;
          },
        ],
      ],
    });
    assert.deepEqual(seen, Array(4).fill([1, 8, LONG.length, LONG.length]));
    // Hooks that only read leave the output the unhooked run's: in query blocks.
    assertClose(logits, hm.forward([LONG]), { atol: 0 }, "hooked pass against the unhooked one");
    // A hook that hands back another array gets attention written out whole, as MLX's own causal
    // attention computes it (the gated MLP's own kernel runs in both passes).
    const changed = hm.runWithHooks([LONG], {
      hooks: [["pattern.*", (pattern: mx.Array) => mx.multiply(pattern, mx.array(1, pattern.dtype))]],
    });
    for (const [, m] of hm.model.namedModules()) if (m instanceof MultiHeadAttention) m._queryBlocks = false;
    assertClose(changed, hm.forward([LONG]), { atol: 0 }, "changed-pattern pass against unblocked");
    hm.model.dispose();
  });

  for (const [label, dir] of [
    ["tiny-lm-f16", F16],
    ["tiny-lm-4bit", Q4],
  ] as const) {
    test(`${label}: greedy generation after ${LONG.length} prompt tokens is the same blocked and whole`, async () => {
      const { model } = await loadModel(dir, { dtype: "auto" });
      const blocked = generateTokens(model, LONG, { maxTokens: 24 });
      setQueryBlocks(model, false);
      assert.deepEqual(blocked, generateTokens(model, LONG, { maxTokens: 24 }));
      model.dispose();
    });
  }
});
