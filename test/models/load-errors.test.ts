// A broken checkpoint fails to load with an error that names what is wrong, and the process goes on.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadModel, mx } from "mlux";
import { Tokenizer } from "../../src/load/tokenizer.ts";

const fixture = fileURLToPath(new URL("../../fixtures/attn-only-2l", import.meta.url));

/** A copy of the fixture checkpoint, changed by `breakIt`. */
function brokenCopy(breakIt: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), "mlux-broken-"));
  cpSync(fixture, dir, { recursive: true });
  breakIt(dir);
  return dir;
}

function editConfig(dir: string, edit: (config: Record<string, unknown>) => void): void {
  const path = join(dir, "config.json");
  const config = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  edit(config);
  writeFileSync(path, JSON.stringify(config));
}

function rewriteWeights(dir: string, edit: (weights: Record<string, mx.Array>) => void): void {
  const path = join(dir, "model.safetensors");
  const { arrays, metadata } = mx.loadSafetensors(path);
  edit(arrays);
  const written = mx.saveSafetensors(join(dir, "rewritten.safetensors"), arrays, metadata); // evaluates first
  renameSync(written, path);
}

describe("broken checkpoints", () => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    [
      "a missing tensor",
      (dir) => rewriteWeights(dir, (w) => delete w["model.layers.1.self_attn.k_proj.weight"]),
      /1 missing: model\.layers\.1\.self_attn\.k_proj\.weight/,
    ],
    [
      "a tensor of the wrong shape",
      (dir) =>
        rewriteWeights(dir, (w) => {
          w["model.norm.weight"] = mx.ones([7]);
        }),
      /model\.norm\.weight has shape \[7\], the model expects \[128\]/,
    ],
    [
      "an unknown model_type",
      (dir) =>
        editConfig(dir, (c) => {
          c.model_type = "transmogrifier";
        }),
      /model_type "transmogrifier" is not supported; supported: gemma, gemma2/,
    ],
    [
      "malformed config.json",
      (dir) => writeFileSync(join(dir, "config.json"), "{ not json"),
      /config\.json is not valid JSON/,
    ],
    [
      "a config field of the wrong type",
      (dir) =>
        editConfig(dir, (c) => {
          c.hidden_size = "big";
        }),
      /"hidden_size" must be (a number|an integer)/,
    ],
    [
      "an unsupported RoPE scaling",
      (dir) =>
        editConfig(dir, (c) => {
          c.rope_scaling = { rope_type: "mystery", factor: 2 };
        }),
      /unsupported rope_scaling type "mystery"/,
    ],
    ["a truncated safetensors file", (dir) => truncateSync(join(dir, "model.safetensors"), 4096), /model\.safetensors/],
    ["no weights at all", (dir) => rmSync(join(dir, "model.safetensors")), /no model\*\.safetensors files in/],
  ];
  for (const [what, breakIt, message] of cases) {
    test(what, async () => {
      const dir = brokenCopy(breakIt);
      await assert.rejects(loadModel(dir), message);
      rmSync(dir, { recursive: true, force: true });
    });
  }

  test("a missing tokenizer", () => {
    const dir = brokenCopy((d) => rmSync(join(d, "tokenizer.json")));
    assert.throws(() => Tokenizer.fromFolder(dir), /tokenizer\.json/);
    rmSync(dir, { recursive: true, force: true });
  });

  test("after all that, the intact checkpoint still loads and runs", async () => {
    const { model } = await loadModel(fixture);
    const logits = model.call(mx.array([[1, 5, 9]]));
    assert.deepEqual(logits.shape, [1, 3, 512]);
    model.dispose();
  });
});
