// The hooks benchmark: the cost of caching every layer's residual output, in mlux and in Python
// mlx-lm with wrapped layers (the Python mlux's way), in one run; and what the cache holds.
// Usage: npm run bench:hooks [-- DIR ...]. Python uses the same GEMM (our shim preloaded).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const python = join(process.env.MLUX_ORACLE_VENV ?? join(root, ".venv-oracle"), "bin", "python");
const shim = join(process.env.MLUX_CACHE_DIR ?? join(root, ".mlx"), "mlx-cpu-0.32.4", "mlux_gemm", "libmlux_gemm.so");
const dirs = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ["fixtures/tiny-lm-f16", ".checkpoints/qwen3/fp32", ".checkpoints/llama-fullvocab/q4"];
const [tokens, repeats] = ["256", "9"];

type Result = Record<string, number>;
const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Result =>
  JSON.parse(execFileSync(cmd, args, { cwd: root, env, encoding: "utf8" }).trim().split("\n").pop() as string);

const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
const lines = [
  `### Hooks (commit ${commit}, ${new Date().toISOString().slice(0, 10)}; ${tokens} tokens, median of ${repeats})`,
  "",
  "| checkpoint | mlux plain / cached ms = overhead | Python wrapped: plain / cached ms = overhead | cached ms, mlux / Python | cache bytes = asked? | MLX memory held by the cache |",
  "|---|---|---|---|---|---|",
];
for (const dir of dirs) {
  const ours = run(process.execPath, [
    "--conditions=mlux-source",
    "--import",
    "tsx",
    "bench/hooks/mlux_hooks.ts",
    dir,
    tokens,
    repeats,
  ]);
  const theirs = run(python, ["bench/hooks/python_hooks.py", dir, tokens, repeats], {
    ...process.env,
    LD_PRELOAD: shim,
  });
  const f = (x: number | undefined, d = 1) => (x ?? Number.NaN).toFixed(d);
  const overhead = (r: Result) =>
    `${f((100 * ((r.cachedMs as number) - (r.plainMs as number))) / (r.plainMs as number))}%`;
  lines.push(
    `| ${dir} | ${f(ours.plainMs)} / ${f(ours.cachedMs)} = **${overhead(ours)}** | ${f(theirs.plainMs)} / ${f(theirs.cachedMs)} = ${overhead(theirs)} | ${f((ours.cachedMs as number) / (theirs.cachedMs as number), 2)} | ${ours.cacheBytes} = ${ours.askedBytes} ${ours.cacheBytes === ours.askedBytes ? "yes" : "NO"} | ${ours.heldBytes} |`,
  );
}
console.log(lines.join("\n"));
