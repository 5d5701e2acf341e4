// The model benchmark: mlux beside Python mlx-lm on the same checkpoints, in one run, with ratios.
// Usage: npm run bench:models [-- DIR ...]. Both sides use the same GEMM (mlx-lm with our shim
// preloaded), so the comparison is of everything but the BLAS.
import { commit, runMlux, runPython, today } from "../peers.ts";

const dirs = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ["fixtures/tiny-lm-f16", "fixtures/tiny-lm-4bit", ".checkpoints/llama-fullvocab/q4"];

const lines = [
  `### Models (commit ${commit}, ${today})`,
  "",
  "| checkpoint | load s (mlux / mlx-lm) | prefill 256 tok/s (mlux / mlx-lm = ratio) | decode 64 tok/s (mlux / mlx-lm = ratio) | peak MiB (mlux / mlx-lm) |",
  "|---|---|---|---|---|",
];
for (const dir of dirs) {
  const ours = runMlux("bench/models/mlux_models.ts", [dir]);
  const theirs = runPython("bench/models/mlx_lm_models.py", [dir]);
  const f = (x: number | undefined, d = 1) => (x ?? Number.NaN).toFixed(d);
  const ratio = (key: string) => f((ours[key] as number) / (theirs[key] as number), 2);
  lines.push(
    `| ${dir} | ${f(ours.loadSeconds, 2)} / ${f(theirs.loadSeconds, 2)} | ${f(ours.prefillTokensPerSecond)} / ${f(theirs.prefillTokensPerSecond)} = **${ratio("prefillTokensPerSecond")}** | ${f(ours.decodeTokensPerSecond)} / ${f(theirs.decodeTokensPerSecond)} = **${ratio("decodeTokensPerSecond")}** | ${f(ours.peakMiB)} / ${f(theirs.peakMiB)} |`,
  );
}
console.log(lines.join("\n"));
