// Computing in another dtype than the checkpoint stores (loadModel's `dtype`): float checkpoints cast
// to float32, quantized ones dequantized to float32 or kept packed with float32 scales, each against
// mlx-lm computing the same way on the same weights (tools/oracle/compute_dtype.py).
//
// Tolerance: exact. mlx-lm runs the same libmlx on the same GEMM (our OpenBLAS shim, preloaded), on
// weights converted the same way, so every product is the same computation.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { generateTokens } from "../../src/generate/generate.ts";
import { loadModel } from "../../src/models/load.ts";
import { QuantizedEmbedding } from "../../src/nn/layers/embedding.ts";
import { QuantizedLinear } from "../../src/nn/layers/linear.ts";
import { gemmShim } from "../hooks/checkpoints.ts";
import { assertClose } from "../oracle/oracle.ts";
import { askOracleSync, repoRoot as root } from "../oracle/python.ts";

const scratch = mkdtempSync(join(tmpdir(), "mlux-dtype-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const F16 = join(root, "fixtures/tiny-lm-f16");
const Q4 = join(root, "fixtures/tiny-lm-4bit");
const PROMPT = [1, 450, 3186, 2989, 322, 278, 365, 1955, 2928, 1497]; // ids below the fixtures' 4096

function mlxLmLogits(model: string, mode: "cast" | "dequantize"): mx.Array {
  const out = join(scratch, `${mode}-${model.split("/").pop()}.safetensors`);
  const shim = gemmShim();
  const env = shim ? { ...process.env, LD_PRELOAD: shim } : process.env;
  askOracleSync("compute_dtype", [{ op: "logits", model, mode, tokens: PROMPT, out }], env);
  return mx.loadSafetensors(out).arrays.logits as mx.Array;
}

function floatDtypes(model: { parameters(): Map<string, mx.Array> }): Set<string> {
  return new Set(
    [...model.parameters().values()].map((a) => a.dtype).filter((d) => d.startsWith("float") || d === "bfloat16"),
  );
}

describe("loadModel({ dtype })", () => {
  test("float32 on a float16 checkpoint equals mlx-lm with set_dtype(float32)", async () => {
    const { model, compute } = await loadModel(F16, { dtype: "float32" });
    assert.deepEqual(floatDtypes(model), new Set(["float32"]));
    assert.equal(compute.dtype, "float32");
    assert.match(compute.reason, /float16 weights computed in float32/);
    const logits = model.call(mx.array([PROMPT], "int32"));
    assert.equal(logits.dtype, "float32");
    assertClose(logits, mlxLmLogits(F16, "cast"), { atol: 0 }, "logits");
    model.dispose();
  });

  test("auto on the CPU dequantizes a 4-bit checkpoint to float32, as mlx-lm on the same dense weights", async () => {
    const { model, compute } = await loadModel(Q4, { dtype: "auto" });
    assert.ok(compute.dequantized && !compute.quantized, compute.reason);
    assert.match(compute.reason, /4-bit weights \(scales in float16\) dequantized to float32 .*within the/);
    const quantized = model
      .namedModules()
      .filter(([, m]) => m instanceof QuantizedLinear || m instanceof QuantizedEmbedding);
    assert.deepEqual(quantized, []);
    assert.deepEqual(floatDtypes(model), new Set(["float32"]));
    assertClose(model.call(mx.array([PROMPT], "int32")), mlxLmLogits(Q4, "dequantize"), { atol: 0 }, "logits");
    model.dispose();
  });

  test("auto over the memory budget keeps the layers packed, with float32 scales, as mlx-lm with set_dtype", async () => {
    const { model, compute } = await loadModel(Q4, { dtype: "auto", dequantizeBudget: 0 });
    assert.ok(compute.quantized && !compute.dequantized, compute.reason);
    assert.match(compute.reason, /kept packed .*over the 0\.00 GiB budget.*scales and activations in float32/);
    assert.ok(model.namedModules().some(([, m]) => m instanceof QuantizedLinear));
    assertClose(model.call(mx.array([PROMPT], "int32")), mlxLmLogits(Q4, "cast"), { atol: 0 }, "logits");
    model.dispose();
  });

  test("native keeps what the checkpoint stores; greedy text of the fixtures is the same in float32", async () => {
    const native = await loadModel(F16, { dtype: "native" });
    assert.deepEqual(floatDtypes(native.model), new Set(["float16"]));
    assert.match(native.compute.reason, /^native: float16 weights/);
    const wide = await loadModel(F16, { dtype: "auto" });
    assert.deepEqual(
      generateTokens(wide.model, PROMPT, { maxTokens: 24 }),
      generateTokens(native.model, PROMPT, { maxTokens: 24 }),
    );
    native.model.dispose();
    wide.model.dispose();
  });

  test("the cast never holds both copies of the weights at once", async () => {
    const stored = await loadModel(F16, { dtype: "native" });
    const halfBytes = [...stored.model.parameters().values()].reduce((sum, a) => sum + a.nbytes, 0);
    const largest = Math.max(...[...stored.model.parameters().values()].map((a) => a.nbytes));
    stored.model.dispose();
    mx.memory.clearCache();
    mx.memory.resetPeakMemory();
    const before = mx.memory.activeMemory();
    const { model } = await loadModel(F16, { dtype: "float32" });
    const peak = mx.memory.peakMemory() - before;
    // Float32 copies of all weights, plus at most the float16 source of the parameter being cast
    // (loaded from the file as it is cast), plus 64 KiB for the small arrays loading makes. Both
    // copies of everything would be 3 * halfBytes.
    const bound = 2 * halfBytes + largest + 65536;
    assert.ok(peak <= bound, `peak ${peak} bytes for ${halfBytes} bytes of float16 weights (bound ${bound})`);
    model.dispose();
  });

  test("a bad dtype or budget is refused before anything loads", async () => {
    await assert.rejects(loadModel(F16, { dtype: "fp32" as never }), /dtype must be one of native, auto, float32/);
    await assert.rejects(loadModel(Q4, { dtype: "auto", dequantizeBudget: -1 }), /dequantizeBudget must be/);
    const saved = process.env.MLUX_DEQUANTIZE_BUDGET;
    process.env.MLUX_DEQUANTIZE_BUDGET = "lots";
    try {
      await assert.rejects(loadModel(Q4, { dtype: "auto" }), /MLUX_DEQUANTIZE_BUDGET must be a number of bytes/);
    } finally {
      if (saved === undefined) delete process.env.MLUX_DEQUANTIZE_BUDGET;
      else process.env.MLUX_DEQUANTIZE_BUDGET = saved;
    }
  });
});
