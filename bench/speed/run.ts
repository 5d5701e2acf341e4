// The Linux CPU speed benchmark (issue 10): prefill and decode tokens/s and peak memory of one
// generation, per checkpoint, for mlux computing in "auto" (float32 on the CPU) and "native" (as
// stored), and mlx-lm as a Linux user installs it (the mlx-cpu wheel's reference BLAS) and with our
// GEMM shim preloaded. The sides run interleaved, one process each, ROUNDS times; medians.
// Runs that would take minutes (half-precision and 4-bit kernels) use fewer tokens, as the table
// says. The shaped checkpoints come from bench/speed/make_checkpoints.py.
// `--only PREFIX` runs only the sides whose label starts with it ("mlux": mlux's rows alone, e.g.
// to measure them under another OPENBLAS_NUM_THREADS).
// Usage: node --conditions=mlux-source --import tsx bench/speed/run.ts ROUNDS [--only PREFIX] [DIR ...]
import { loadavg } from "node:os";
import { commit, type Result, runMlux, runPython, today } from "../peers.ts";

interface Side {
  label: string;
  run: (dir: string, prefill: number, decode: number) => Result;
  /** Whether this side runs MLX's half-precision or quantized kernels (slow: fewer tokens). */
  slow: boolean;
}

interface Plan {
  dir: string;
  full: [prefill: number, decode: number];
  reduced: [prefill: number, decode: number];
  /** Rounds of the slow sides (each can take minutes). */
  slowRounds?: number;
  /** Sides left out, with the reason the table gives. */
  skip?: Record<string, string>;
}

const PLANS: Plan[] = [
  { dir: "fixtures/tiny-lm-f16", full: [512, 128], reduced: [512, 128] },
  { dir: "fixtures/tiny-lm-4bit", full: [512, 128], reduced: [32, 8] },
  // 4-bit with float16 scales takes about 40 s a token in MLX's CPU kernels here.
  {
    dir: ".bench-models/qwen3-0.6b-4bit",
    full: [512, 32],
    reduced: [2, 1],
    slowRounds: 1,
    skip: { "mlx-lm + shim": "its quantized products do not go through BLAS: as installed" },
  },
  { dir: ".bench-models/llama-3.2-1b-bf16", full: [512, 32], reduced: [32, 8], slowRounds: 1 },
];

const mlux = (dtype: string) => (dir: string, p: number, d: number) =>
  runMlux("bench/speed/mlux_speed.ts", [dir, dtype, String(p), String(d)]);
const ALL_SIDES: Side[] = [
  { label: "mlux auto", run: mlux("auto"), slow: false },
  { label: "mlux native", run: mlux("native"), slow: true },
  {
    label: "mlx-lm as installed",
    run: (dir, p, d) => runPython("bench/speed/mlx_lm_speed.py", [dir, String(p), String(d)], { gemmShim: false }),
    slow: true,
  },
  {
    label: "mlx-lm + shim",
    run: (dir, p, d) => runPython("bench/speed/mlx_lm_speed.py", [dir, String(p), String(d)]),
    slow: true,
  },
];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const [roundsArg, ...rest] = process.argv.slice(2);
const rounds = Number(roundsArg);
const onlyAt = rest.indexOf("--only");
const only = onlyAt >= 0 ? rest[onlyAt + 1] : "";
const dirs = onlyAt >= 0 ? rest.filter((_, i) => i !== onlyAt && i !== onlyAt + 1) : rest;
if (!Number.isInteger(rounds) || rounds < 1 || only === undefined) {
  throw new Error("usage: run.ts ROUNDS [--only PREFIX] [DIR ...]");
}
const plans = dirs.length ? PLANS.filter((p) => dirs.includes(p.dir)) : PLANS;
const SIDES = ALL_SIDES.filter((s) => s.label.startsWith(only));
if (SIDES.length === 0) throw new Error(`--only ${only}: no side's label starts with it`);

const lines = [
  `### Linux CPU speed, ${rounds} interleaved rounds, OPENBLAS_NUM_THREADS=${process.env.OPENBLAS_NUM_THREADS ?? "unset"} (commit ${commit}, ${today})`,
  "",
  "| checkpoint | side | tokens (prefill / decode) | prefill tok/s | decode tok/s | MLX peak MiB | max RSS MiB | rounds | load avg (1 min) |",
  "|---|---|---|---|---|---|---|---|---|",
];
for (const plan of plans) {
  const results = new Map<string, Result[]>(SIDES.map((s) => [s.label, []]));
  const loads: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const side of SIDES) {
      if (plan.skip?.[side.label] !== undefined) continue;
      if (side.slow && round >= (plan.slowRounds ?? rounds)) continue;
      const [p, d] = side.slow ? plan.reduced : plan.full;
      loads.push(loadavg()[0] as number);
      try {
        const result = side.run(plan.dir, p, d);
        console.error(`${plan.dir} ${side.label} round ${round}: ${JSON.stringify(result)}`);
        results.get(side.label)?.push(result);
      } catch (error) {
        console.error(`${plan.dir} ${side.label} round ${round} failed: ${(error as Error).message.slice(0, 300)}`);
      }
    }
  }
  for (const side of SIDES) {
    const skipped = plan.skip?.[side.label];
    if (skipped !== undefined) {
      lines.push(`| ${plan.dir} | ${side.label} | not run: ${skipped} | | | | | | |`);
      continue;
    }
    const rs = results.get(side.label) as Result[];
    const [p, d] = side.slow ? plan.reduced : plan.full;
    // Three significant digits below 1 (the slow sides' tok/s), else `digits` decimals.
    const m = (key: string, digits = 1) => {
      const value = median(rs.map((r) => r[key] as number));
      return value < 1 && digits > 0 ? value.toPrecision(3) : value.toFixed(digits);
    };
    lines.push(
      `| ${plan.dir} | ${side.label} | ${p} / ${d} | ${m("prefillTokensPerSecond")} | ${m("decodeTokensPerSecond")} | ${m("peakMiB", 0)} | ${m("maxRssMiB", 0)} | ${rs.length} | ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} |`,
    );
  }
}
console.log(lines.join("\n"));
