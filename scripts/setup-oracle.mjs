// Creates the project-local Python venv that holds the test oracle (Python MLX and mlx-lm at the
// pinned versions), when it is missing or out of date. Used by `npm test` and `npm run bench`.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./mlx-setup.mjs";

export const oracleVenv = process.env.MLUX_ORACLE_VENV ?? join(repoRoot, ".venv-oracle");
export const oraclePython = join(oracleVenv, "bin", "python");

const requirements = join(repoRoot, "tools/oracle/requirements.txt");
const lock = join(repoRoot, "tools/oracle/requirements.lock");

export function setupOracle() {
  const wanted = readFileSync(requirements, "utf8") + readFileSync(lock, "utf8");
  const stamp = join(oracleVenv, ".mlux-requirements");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === wanted) return oraclePython;
  console.log(`mlux: creating the oracle venv at ${oracleVenv}`);
  rmSync(oracleVenv, { recursive: true, force: true });
  const python = process.env.PYTHON ?? "python3";
  execFileSync(python, ["-m", "venv", oracleVenv], { stdio: "inherit" });
  execFileSync(oraclePython, ["-m", "pip", "install", "--quiet", "-r", requirements, "-c", lock], {
    stdio: "inherit",
  });
  writeFileSync(stamp, wanted);
  return oraclePython;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  setupOracle();
}
