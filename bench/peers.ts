// What the benchmarks that run mlux beside Python share: where Python and our GEMM shim are (the
// Python side preloads it, so both sides use the same BLAS), how a side is run (its last stdout
// line is a JSON object of results), and the commit being measured.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));
const python = join(process.env.MLUX_ORACLE_VENV ?? join(root, ".venv-oracle"), "bin", "python");
const shim = join(process.env.MLUX_CACHE_DIR ?? join(root, ".mlx"), "mlx-cpu-0.32.4", "mlux_gemm", "libmlux_gemm.so");

export type Result = Record<string, number>;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Result {
  return JSON.parse(execFileSync(cmd, args, { cwd: root, env, encoding: "utf8" }).trim().split("\n").pop() as string);
}

/** Runs a TypeScript script of ours on the sources. */
export function runMlux(script: string, args: string[]): Result {
  return run(process.execPath, ["--conditions=mlux-source", "--import", "tsx", script, ...args], process.env);
}

/** Runs a Python script in the oracle venv, on our GEMM unless `gemmShim: false` (MLX as installed). */
export function runPython(script: string, args: string[], options: { gemmShim?: boolean } = {}): Result {
  return run(
    python,
    [script, ...args],
    options.gemmShim === false ? process.env : { ...process.env, LD_PRELOAD: shim },
  );
}

// MLUX_BENCH_COMMIT names it where the checkout has no git history (a copy on another machine).
export const commit =
  process.env.MLUX_BENCH_COMMIT ??
  execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
export const today = new Date().toISOString().slice(0, 10);
