// Each model's declared layout against its loaded module tree and its config, on the fp32 test
// checkpoint of every architecture: every path names a module of the right kind and size, the
// unembedding is the checkpoint's head where it has one, and the sizes are the config's.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadModel } from "../../src/models/load.ts";
import type { MxArray } from "../../src/mx/array.ts";
import { isFeatureNorm } from "../../src/nn/layers/normalization.ts";

const checkpoints = join(fileURLToPath(new URL("../..", import.meta.url)), ".checkpoints");
if (!existsSync(join(checkpoints, "manifest.json"))) {
  throw new Error(`no test checkpoints in ${checkpoints}; make them with tools/checkpoints (npm test does)`);
}
const manifest = JSON.parse(readFileSync(join(checkpoints, "manifest.json"), "utf8")) as {
  checkpoints: Record<string, { model_type: string; variants: Record<string, { path: string }> }>;
};

// mlx-lm's attribute paths of the embeddings and final norm, per family (the llama ones otherwise).
interface Paths {
  tokens: string;
  positions?: string;
  norm: string;
  blocks: string;
  /** An untied head inside the stack. */
  head?: string;
}
const PATHS: Record<string, Paths> = {
  gpt2: { tokens: "model.wte", positions: "model.wpe", norm: "model.ln_f", blocks: "model.h" },
  gpt_neox: { tokens: "model.embed_in", norm: "model.final_layer_norm", blocks: "model.h", head: "model.embed_out" },
  lfm2: { tokens: "model.embed_tokens", norm: "model.embedding_norm", blocks: "model.layers" },
};
const LLAMA_PATHS: Paths = { tokens: "model.embed_tokens", norm: "model.norm", blocks: "model.layers" };

const weightOf = (module: unknown) => (module as { weight: MxArray }).weight;

describe("every model declares where its embeddings, final norm and head are", () => {
  for (const [name, entry] of Object.entries(manifest.checkpoints)) {
    const variant = entry.variants.fp32;
    if (variant === undefined) continue;
    test(name, async () => {
      const path = join(checkpoints, variant.path);
      const config = JSON.parse(readFileSync(join(path, "config.json"), "utf8")) as Record<string, number>;
      const { model } = await loadModel(path);
      try {
        const { layout } = model;
        const expected = PATHS[entry.model_type] ?? LLAMA_PATHS;
        assert.equal(layout.tokenEmbedding, expected.tokens);
        assert.equal(layout.positionEmbedding, expected.positions);
        assert.equal(layout.finalNorm, expected.norm);
        assert.equal(layout.blocks, expected.blocks);
        const parameters = model.parameters();
        const ownHead = expected.head ?? (parameters.has("lm_head.weight") ? "lm_head" : undefined);
        assert.equal(layout.unembedding, ownHead ?? expected.tokens, "the head, or the tied embedding");

        const { dims } = layout;
        assert.equal(dims.vocabSize, config.vocab_size);
        assert.equal(dims.layers, config.num_hidden_layers ?? config.n_layer);
        assert.equal(dims.dModel, config.hidden_size ?? config.n_embd);
        assert.equal(model.layers.length, dims.layers);
        model.layers.forEach((block, i) => {
          assert.equal(model.getModule(`${layout.blocks}.${i}`), block);
        });
        assert.deepEqual(weightOf(model.getModule(layout.tokenEmbedding)).shape, [dims.vocabSize, dims.dModel]);
        if (layout.positionEmbedding !== undefined) {
          assert.equal(weightOf(model.getModule(layout.positionEmbedding)).shape[1], dims.dModel);
        }
        assert.deepEqual(weightOf(model.getModule(layout.unembedding)).shape, [dims.vocabSize, dims.dModel]);
        const norm = model.getModule(layout.finalNorm);
        assert.ok(isFeatureNorm(norm), `${layout.finalNorm} describes its scale (a FeatureNorm)`);
        assert.deepEqual(norm.scale()?.shape, [dims.dModel]);
        assert.ok(dims.heads % dims.kvHeads === 0, `${dims.heads} heads share ${dims.kvHeads} key/value heads`);

        assert.equal(layout.logitSoftcap, entry.model_type === "gemma2" ? config.final_logit_softcapping : undefined);
        assert.equal(layout.logitsScaling, entry.model_type === "granite" ? config.logits_scaling : undefined);
      } finally {
        model.dispose();
      }
    });
  }
});
