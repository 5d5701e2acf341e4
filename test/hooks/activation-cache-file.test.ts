// Saving an ActivationCache and loading it back: bit-exact activations in every dtype, the keys in
// order, path aliases, the utilities on a loaded cache (with and without its model), and clear
// errors for files that are not caches.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ActivationCache, HookedModel, mx } from "mlux";
import { assertSameBits, checkpoint, PROMPTS } from "./cache-helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "mlux-cache-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function everything(hooked: HookedModel): ActivationCache {
  // The default names, the per-head results and one module path without a standard name.
  const standard = hooked.standardKeys().filter((k) => !/^(q|k|v|scores|pattern|z)\./.test(k));
  const { logits, cache } = hooked.runWithCache(PROMPTS, { names: [...standard, "model.layers.0.mlp"] });
  logits.dispose();
  return cache;
}

function assertSameCache(loaded: ActivationCache, original: ActivationCache): void {
  assert.deepEqual(loaded.keys(), original.keys(), "keys in model order");
  for (const [key, array] of original.entries()) assertSameBits(loaded.get(key), array, key);
}

for (const variant of ["fp32", "bf16"]) {
  describe(`llama ${variant}: save and load`, () => {
    test("round trip is bit-exact; utilities that need no weights work without the model", async () => {
      const hooked = await HookedModel.fromPretrained(checkpoint("llama", variant), { dtype: "native" });
      const cache = everything(hooked);
      assert.equal(cache.get("resid_post", 2).dtype, variant === "fp32" ? "float32" : "bfloat16");
      const written = cache.save(join(dir, `llama-${variant}`));
      assert.equal(written, join(dir, `llama-${variant}.safetensors`));
      const loaded = ActivationCache.load(written);
      assertSameCache(loaded, cache);
      // Paths and standard keys resolve as in the original.
      assert.equal(loaded.get("model.layers.1.hook_mlp_out"), loaded.get("mlp_out", 1));
      assert.equal(loaded.get("resid_pre", 0), loaded.get("embed"));
      assert.ok(loaded.has("model.layers.0.mlp"));
      mx.tidy(() => {
        assertSameBits(loaded.decomposeResid(), cache.decomposeResid(), "decomposeResid");
        assertSameBits(
          loaded.accumulatedResid(undefined, { inclMid: true }),
          cache.accumulatedResid(undefined, { inclMid: true }),
          "accumulatedResid",
        );
        assertSameBits(loaded.stackHeadResults(), cache.stackHeadResults(), "stackHeadResults");
      });
      assert.throws(
        () => loaded.applyLnToStack(cache.decomposeResid()),
        /loaded without its model.*load\(path, \{ model: hookedModel \}\)/,
      );
      assert.throws(() => loaded.decomposeResid(undefined, { applyLn: true }), /loaded without its model/);
      assert.throws(() => loaded.logitAttrs(cache.decomposeResid(), 3), /loaded without its model/);
      // With the model, the weight-reading utilities give the original's numbers.
      const withModel = ActivationCache.load(written, { model: hooked });
      mx.tidy(() => {
        const parts = withModel.decomposeResid();
        assertSameBits(withModel.applyLnToStack(parts), cache.applyLnToStack(parts), "applyLnToStack");
        assertSameBits(withModel.logitAttrs(parts, [3, 4]), cache.logitAttrs(parts, [3, 4]), "logitAttrs");
      });
      for (const c of [cache, loaded, withModel]) c.dispose();
      hooked.model.dispose();
    });
  });
}

describe("loading what is not this model's cache", () => {
  test("another model's cache, a model's weights, a truncated file, inconsistent metadata", async () => {
    const llama = await HookedModel.fromPretrained(checkpoint("llama", "fp32"));
    const gemma = await HookedModel.fromPretrained(checkpoint("gemma", "fp32"));
    const cache = everything(llama);
    const path = cache.save(join(dir, "llama-for-errors.safetensors"));
    assert.throws(
      () => ActivationCache.load(path, { model: gemma }),
      /was not recorded from this model: the cache is of .*"layers":3.* the model is .*"layers":2/,
    );

    const live = mx.liveArrays();
    const weights = join(checkpoint("llama", "fp32"), "model.safetensors");
    assert.throws(
      () => ActivationCache.load(weights),
      /is not an mlux activation cache: its metadata has no "mlux\.activation_cache" entry \(it has: format=mlx\); is it a model's weights\?/,
    );

    const truncated = join(dir, "truncated.safetensors");
    copyFileSync(path, truncated);
    truncateSync(truncated, Math.floor(readFileSync(path).length / 2));
    assert.throws(() => ActivationCache.load(truncated), /truncated\.safetensors is not a valid safetensors file/);

    const header = {
      "mlux.activation_cache": "1",
      keys: JSON.stringify(["embed", "resid_post.0"]),
      aliases: "[]",
      layout: JSON.stringify({ layerPaths: ["model.layers.0"], attentionPaths: [null], targets: [] }),
    };
    const write = (name: string, metadata: Record<string, string>) =>
      mx.tidy(() => mx.saveSafetensors(join(dir, name), { embed: mx.zeros([1, 2, 4]) }, metadata));
    assert.throws(
      () => ActivationCache.load(write("keys.safetensors", header)),
      /arrays and its key list disagree \(missing: resid_post\.0/,
    );
    const oneKey = { ...header, keys: '["embed"]' };
    assert.throws(
      () => ActivationCache.load(write("json.safetensors", { ...oneKey, aliases: "[oops" })),
      /"aliases" metadata is not valid JSON/,
    );
    assert.throws(
      () => ActivationCache.load(write("layout.safetensors", { ...oneKey, layout: '{"layerPaths": [1]}' })),
      /the saved layout is malformed: layerPaths/,
    );
    assert.throws(
      () => ActivationCache.load(write("version.safetensors", { ...oneKey, "mlux.activation_cache": "9" })),
      /format version 9; this mlux reads version 1/,
    );
    // A well-formed minimal one loads.
    const minimal = ActivationCache.load(write("minimal.safetensors", oneKey));
    assert.deepEqual(minimal.keys(), ["embed"]);
    assert.equal(minimal.names.layers, 1);
    minimal.dispose();

    // Not a safetensors file at all.
    const text = join(dir, "text.safetensors");
    writeFileSync(text, "this is not a cache, just text");
    assert.throws(() => ActivationCache.load(text), /not a valid safetensors file/);
    assert.equal(mx.liveArrays(), live, "failed loads leave no arrays behind");
    cache.dispose();
    llama.model.dispose();
    gemma.model.dispose();
  });
});
