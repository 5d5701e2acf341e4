// The hooks benchmark: the cost of caching every layer's residual output, in mlux and in Python
// mlx-lm with wrapped layers (the Python mlux's way), in one run; and what the cache holds.
// Usage: npm run bench:hooks [-- DIR ...]. Python uses the same GEMM (our shim preloaded).
import { commit, type Result, runMlux, runPython, today } from "../peers.ts";

const dirs = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ["fixtures/tiny-lm-f16", ".checkpoints/qwen3/fp32", ".checkpoints/gemma3_text/q4"];
const [tokens, repeats] = ["256", "7"];

const lines = [
  `### Hooks (commit ${commit}, ${today}; ${tokens} tokens, median of ${repeats})`,
  "",
  "| checkpoint | mlux plain / cached ms = overhead | Python wrapped: plain / cached ms = overhead | cached ms, mlux / Python | cache bytes = asked? | MLX memory held by the cache |",
  "|---|---|---|---|---|---|",
];
for (const dir of dirs) {
  const ours = runMlux("bench/hooks/mlux_hooks.ts", [dir, tokens, repeats]);
  const theirs = runPython("bench/hooks/python_hooks.py", [dir, tokens, repeats]);
  const f = (x: number | undefined, d = 1) => (x ?? Number.NaN).toFixed(d);
  const overhead = (r: Result) =>
    `${f((100 * ((r.cachedMs as number) - (r.plainMs as number))) / (r.plainMs as number))}%`;
  lines.push(
    `| ${dir} | ${f(ours.plainMs)} / ${f(ours.cachedMs)} = **${overhead(ours)}** | ${f(theirs.plainMs)} / ${f(theirs.cachedMs)} = ${overhead(theirs)} | ${f((ours.cachedMs as number) / (theirs.cachedMs as number), 2)} | ${ours.cacheBytes} = ${ours.askedBytes} ${ours.cacheBytes === ours.askedBytes ? "yes" : "NO"} | ${ours.heldBytes} |`,
  );
}
console.log(lines.join("\n"));
