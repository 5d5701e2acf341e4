// Builds the tiny random checkpoints of every mlx-lm architecture and their oracle dumps
// (Python mlx-lm's logits and greedy tokens) when they are missing or out of date.
// Both steps are stamped and skip what is already built: a warm run takes a few seconds.
//
//   node test/checkpoints/setup.mjs            checkpoints + oracle dumps
//   node test/checkpoints/setup.mjs --no-oracle
//
// Output: $MLUX_CHECKPOINTS_DIR or <repo>/.checkpoints (see tools/checkpoints/README.md).

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, setupMlx } from "../../scripts/mlx-setup.mjs";
import { setupOracle } from "../../scripts/setup-oracle.mjs";

export const checkpointsDir = process.env.MLUX_CHECKPOINTS_DIR ?? join(repoRoot, ".checkpoints");

/** Builds what is missing and returns the manifest (checkpoints, variants, switches). */
export function ensureCheckpoints({ oracle = true } = {}) {
  const python = setupOracle();
  const env = { ...process.env, MLUX_CHECKPOINTS_DIR: checkpointsDir };
  const tools = join(repoRoot, "tools", "checkpoints");
  execFileSync(python, [join(tools, "make_checkpoints.py")], { stdio: "inherit", env });
  // The references come from mlx-lm on the same GEMM as mlux (OpenBLAS through our shim, where
  // mlux uses it), so fp32 logits can be compared bit for bit rather than to BLAS rounding.
  const { gemmShim } = setupMlx();
  const oracleEnv = gemmShim ? { ...env, LD_PRELOAD: gemmShim } : env;
  if (oracle) execFileSync(python, [join(tools, "smoke.py")], { stdio: "inherit", env: oracleEnv });
  return JSON.parse(readFileSync(join(checkpointsDir, "manifest.json"), "utf8"));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  ensureCheckpoints({ oracle: !process.argv.includes("--no-oracle") });
}
