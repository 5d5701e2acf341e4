// The model benchmark: mlux beside Python mlx-lm on the same checkpoints, in one run, with ratios.
// Usage: npm run bench:models [-- DIR ...]. Both sides use the same GEMM (mlx-lm with our shim
// preloaded), so the comparison is of everything but the BLAS.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const python = join(process.env.MLUX_ORACLE_VENV ?? join(root, ".venv-oracle"), "bin", "python");
const shim = join(process.env.MLUX_CACHE_DIR ?? join(root, ".mlx"), "mlx-cpu-0.32.4", "mlux_gemm", "libmlux_gemm.so");
const dirs = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ["fixtures/tiny-lm-f16", "fixtures/tiny-lm-4bit", ".checkpoints/llama-fullvocab/q4"];

type Result = Record<string, number>;
const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Result =>
  JSON.parse(execFileSync(cmd, args, { cwd: root, env, encoding: "utf8" }).trim().split("\n").pop() as string);

const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
const lines = [
  `### Models (commit ${commit}, ${new Date().toISOString().slice(0, 10)})`,
  "",
  "| checkpoint | load s (mlux / mlx-lm) | prefill 256 tok/s (mlux / mlx-lm = ratio) | decode 64 tok/s (mlux / mlx-lm = ratio) | peak MiB (mlux / mlx-lm) |",
  "|---|---|---|---|---|",
];
for (const dir of dirs) {
  const ours = run(process.execPath, [
    "--conditions=mlux-source",
    "--import",
    "tsx",
    "bench/models/mlux_models.ts",
    dir,
  ]);
  const theirs = run(python, ["bench/models/mlx_lm_models.py", dir], { ...process.env, LD_PRELOAD: shim });
  const f = (x: number | undefined, d = 1) => (x ?? Number.NaN).toFixed(d);
  const ratio = (key: string) => f((ours[key] as number) / (theirs[key] as number), 2);
  lines.push(
    `| ${dir} | ${f(ours.loadSeconds, 2)} / ${f(theirs.loadSeconds, 2)} | ${f(ours.prefillTokensPerSecond)} / ${f(theirs.prefillTokensPerSecond)} = **${ratio("prefillTokensPerSecond")}** | ${f(ours.decodeTokensPerSecond)} / ${f(theirs.decodeTokensPerSecond)} = **${ratio("decodeTokensPerSecond")}** | ${f(ours.peakMiB)} / ${f(theirs.peakMiB)} |`,
  );
}
console.log(lines.join("\n"));
