// Every architecture against Python mlx-lm on the tiny checkpoints of tools/checkpoints: logits of
// several prompts and 32 greedy tokens. References come from tools/oracle/dump.py.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { mx } from "mlux";
import { generateStep } from "../../src/generate/generate.ts";
import { loadModel } from "../../src/models/load.ts";
import { SUPPORTED_MODEL_TYPES } from "../../src/models/registry.ts";
import { assertClose } from "../oracle/oracle.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const checkpoints = join(root, ".checkpoints");

interface Manifest {
  checkpoints: Record<string, { model_type: string; variants: Record<string, { path: string }> }>;
}

if (!existsSync(join(checkpoints, "manifest.json"))) {
  throw new Error(`no test checkpoints in ${checkpoints}; make them with tools/checkpoints (npm test does)`);
}
const manifest = JSON.parse(readFileSync(join(checkpoints, "manifest.json"), "utf8")) as Manifest;

// Exact equality: the references come from mlx-lm running the same libmlx on the same GEMM
// (test/checkpoints/setup.mjs preloads our OpenBLAS shim into it), so every variant, fp32
// included, must agree bit for bit. Any difference is a difference in the computation.
const EXACT = { atol: 0 };

for (const [name, entry] of Object.entries(manifest.checkpoints)) {
  if (!SUPPORTED_MODEL_TYPES.includes(entry.model_type)) continue;
  describe(`${name} matches mlx-lm`, () => {
    for (const [variant, { path }] of Object.entries(entry.variants)) {
      test(variant, async () => {
        const { model } = await loadModel(join(checkpoints, path), { dtype: "native" });
        const referenceFile = join(checkpoints, "oracle", `${name}-${variant}`);
        const reference = mx.loadSafetensors(`${referenceFile}.safetensors`).arrays;
        const prompts = (JSON.parse(readFileSync(`${referenceFile}.json`, "utf8")) as { prompts: unknown[] }).prompts;
        for (let i = 0; i < prompts.length; i++) {
          const ref = (key: string) => reference[`p${i}.${key}`] as mx.Array;
          mx.tidy(() => {
            const logits = mx.astype(mx.index(model.call(mx.expandDims(ref("tokens"), 0)), 0), "float32");
            assertClose(mx.take(logits, ref("sample_ids"), 1), ref("logits_sample"), EXACT, `prompt ${i} logits`);
            assertClose(mx.logsumexp(logits, { axis: -1 }), ref("logsumexp"), EXACT, `prompt ${i} logsumexp`);
            assertClose(mx.index(logits, -1), ref("logits_last"), EXACT, `prompt ${i} last row`);
          });
          const prompt = ref("tokens").tolist() as number[];
          // Arrays dropped earlier (by loading) are freed before the count: the garbage collector
          // frees dropped arrays whenever it runs, also in the middle of the generation below.
          await new Promise((resolve) => setImmediate(resolve));
          globalThis.gc?.();
          const liveBefore = mx.liveArrays();
          const expected = ref("generated").tolist() as number[];
          const generated: number[] = [];
          for (const { token, logprobs } of generateStep(model, prompt, { maxTokens: expected.length })) {
            const step = generated.length;
            generated.push(token);
            // The log-probabilities each step chose from (through the KV cache), at mlx-lm's top 8.
            mx.tidy(() =>
              assertClose(
                mx.take(mx.astype(logprobs, "float32"), mx.index(ref("gen_top_ids"), step), 0),
                mx.index(ref("gen_top_logprobs"), step),
                EXACT,
                `prompt ${i} step ${step} log-probabilities`,
              ),
            );
            logprobs.dispose();
          }
          assert.deepEqual(generated, expected, `prompt ${i} greedy tokens`);
          assert.equal(mx.liveArrays(), liveBefore, "generation leaves no arrays behind");
        }
        model.dispose();
      });
    }
  });
}
