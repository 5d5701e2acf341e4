// mlux's own float32 CPU kernels (mx.cpuKernels: exp, silu(gate) · up, a row softmax) against the
// MLX ops they replace, as Python MLX runs them (bench/speed/cpu_kernels.py) and as mlux runs them
// (bench/speed/cpu_kernels_mlux.ts), over 2M float32 elements: sides interleaved, one process each,
// ROUNDS times; medians of the per-process medians, and Python's time over the own kernel's.
// Usage: node --conditions=mlux-source --import tsx bench/speed/cpu_kernels.ts [ROUNDS, default 3]
import { loadavg } from "node:os";
import { commit, type Result, runMlux, runPython } from "../peers.ts";

const rounds = Number(process.argv[2] ?? 3);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("usage: cpu_kernels.ts [ROUNDS]");

const mluxRuns: Result[] = [];
const pythonRuns: Result[] = [];
const loads: number[] = [];
for (let round = 0; round < rounds; round++) {
  loads.push(loadavg()[0] as number);
  pythonRuns.push(runPython("bench/speed/cpu_kernels.py", []));
  mluxRuns.push(runMlux("bench/speed/cpu_kernels_mlux.ts", []));
  console.log(`round ${round}: python ${JSON.stringify(pythonRuns.at(-1))} mlux ${JSON.stringify(mluxRuns.at(-1))}`);
}

const median = (runs: Result[], key: string) =>
  runs.map((r) => r[key] as number).sort((a, b) => a - b)[Math.floor(runs.length / 2)] as number;
const ms = (x: number) => x.toFixed(2);
console.log(`\n### mlux's own CPU kernels, ${rounds} interleaved rounds (commit ${commit})\n`);
console.log("| op | Python MLX ms | mlux, MLX's op ms | mlux's own kernel ms | Python / own |");
console.log("|---|---|---|---|---|");
console.log(`| add (one pass over memory) | ${ms(median(pythonRuns, "add"))} | ${ms(median(mluxRuns, "add"))} | | |`);
for (const [label, python, mlx, own] of [
  ["exp", "exp", "mlxExp", "ownExp"],
  ["silu(gate) · up", "siluGate", "mlxSiluGate", "ownSiluGate"],
  ["softmax of rows of 1024", "softmax", "mlxSoftmax", "ownSoftmax"],
] as const) {
  const p = median(pythonRuns, python);
  const o = median(mluxRuns, own);
  console.log(`| ${label} | ${ms(p)} | ${ms(median(mluxRuns, mlx))} | ${ms(o)} | ${(p / o).toFixed(1)}x |`);
}
console.log(`\nload average (1 min) ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`);
