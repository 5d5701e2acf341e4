// The model benchmark repeated: mlux and mlx-lm alternately, ROUNDS times per checkpoint (each
// round one process per side, as in run.ts), then the median of each side's tokens/s. On a
// shared or virtual machine one run's ratio can move by a third; the medians of interleaved
// rounds are what to compare.
// Usage: node --conditions=mlux-source --import tsx bench/models/rounds.ts ROUNDS [DIR ...]
import { commit, type Result, runMlux, runPython, today } from "../peers.ts";

const [roundsArg, ...rest] = process.argv.slice(2);
const rounds = Number(roundsArg);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("usage: rounds.ts ROUNDS [DIR ...]");
const dirs = rest.length ? rest : ["fixtures/tiny-lm-f16", "fixtures/tiny-lm-4bit", ".checkpoints/llama-fullvocab/q4"];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const lines = [
  `### Models, ${rounds} interleaved rounds (commit ${commit}, ${today})`,
  "",
  "| checkpoint | prefill 256 tok/s, medians (mlux / mlx-lm = ratio) | decode 64 tok/s, medians (mlux / mlx-lm = ratio) | decode ratio of each round |",
  "|---|---|---|---|",
];
for (const dir of dirs) {
  const ours: Result[] = [];
  const theirs: Result[] = [];
  for (let i = 0; i < rounds; i++) {
    ours.push(runMlux("bench/models/mlux_models.ts", [dir]));
    theirs.push(runPython("bench/models/mlx_lm_models.py", [dir]));
  }
  const cell = (key: string) => {
    const a = median(ours.map((r) => r[key] as number));
    const b = median(theirs.map((r) => r[key] as number));
    return `${a.toFixed(1)} / ${b.toFixed(1)} = **${(a / b).toFixed(2)}**`;
  };
  const each = ours.map((r, i) =>
    ((r.decodeTokensPerSecond as number) / (theirs[i]?.decodeTokensPerSecond as number)).toFixed(2),
  );
  lines.push(`| ${dir} | ${cell("prefillTokensPerSecond")} | ${cell("decodeTokensPerSecond")} | ${each.join(", ")} |`);
}
console.log(lines.join("\n"));
