// `mlux generate --seed` samples what `mlx_lm.generate --seed` samples only if it draws as many keys
// from MLX's global generator as mlx-lm's model build did. Counted here for the tiny checkpoint of
// every architecture, float and 4-bit, against the count Python observes when mlx_lm.load runs.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "mlux";
import { keysDrawnByMlxLmBuild } from "../../src/cli/mlx-lm-seed.ts";
import { askOracle, repoRoot } from "../oracle/python.ts";

const checkpointsDir = join(repoRoot, ".checkpoints");
const manifestFile = join(checkpointsDir, "manifest.json");
if (!existsSync(manifestFile)) {
  throw new Error(`no test checkpoints in ${checkpointsDir}; make them with node test/checkpoints/setup.mjs`);
}
const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as {
  checkpoints: Record<string, { variants: Record<string, { path: string }> }>;
};

const cases = Object.entries(manifest.checkpoints).flatMap(([name, { variants }]) =>
  ["fp32", "q4"]
    .filter((variant) => variants[variant] !== undefined)
    .map((variant) => ({ label: `${name}/${variant}`, dir: join(checkpointsDir, variants[variant]?.path as string) })),
);

test("keys drawn while building each model: mlux's count equals what mlx_lm.load draws", async () => {
  const drawn = await askOracle<number>(
    "generation",
    cases.map(({ dir }) => ({ op: "keys_drawn_by_load", dir })),
  );
  const differences: string[] = [];
  for (const [i, { label, dir }] of cases.entries()) {
    const { model, config } = await loadModel(dir, { dtype: "native" });
    const ours = keysDrawnByMlxLmBuild(model, config.model_type);
    model.dispose();
    if (ours !== drawn[i]) differences.push(`${label}: mlux ${ours}, mlx-lm ${drawn[i]}`);
  }
  assert.ok(cases.length >= 30, `only ${cases.length} checkpoints`);
  assert.deepEqual(differences, []);
});
