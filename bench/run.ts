// The engine benchmark: mlux beside Python MLX (the same libmlx release), in one run, with ratios.
// Usage: npm run bench. Prints a Markdown section for BENCHMARKS.md.
//
// GEMM is measured with each BLAS on each side: mlux by default serves libmlx's fp32 GEMMs with
// OpenBLAS (native/blas/gemm_shim.c); LD_PRELOAD of the wheel's reference BLAS undoes that, and
// LD_PRELOAD of our shim gives Python MLX the same OpenBLAS.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mx } from "mlux";

const root = fileURLToPath(new URL("..", import.meta.url));
const python = join(process.env.MLUX_ORACLE_VENV ?? join(root, ".venv-oracle"), "bin", "python");
const cache = process.env.MLUX_CACHE_DIR ?? join(root, ".mlx");
const wheelDir = join(cache, `mlx-cpu-${mx.runtimeInfo.mlxVersion}`);

type Result = Record<string, number | string>;

function runJson(command: string, args: string[], env: Record<string, string> = {}): Result {
  const out = execFileSync(command, args, { cwd: root, env: { ...process.env, ...env }, encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop() as string) as Result;
}

const mluxArgs = ["--conditions=mlux-source", "--import", "tsx", "bench/engine/mlux_engine.ts"];
const peerScript = "bench/engine/python_engine.py";

const onLinux = process.platform === "linux";
const referenceBlas = onLinux
  ? join(
      wheelDir,
      "mlx_cpu.libs",
      readdirSync(join(wheelDir, "mlx_cpu.libs")).find((f) => f.startsWith("libblas")) ?? "",
    )
  : "";
const gemmShim = join(wheelDir, "mlux_gemm", "libmlux_gemm.so");

const ours = runJson(process.execPath, mluxArgs);
const theirs = runJson(python, [peerScript]);
const oursReference = onLinux ? runJson(process.execPath, mluxArgs, { LD_PRELOAD: referenceBlas }) : undefined;
const theirsOpenblas = onLinux ? runJson(python, [peerScript], { LD_PRELOAD: gemmShim }) : undefined;
const numpy = runJson(python, [peerScript, "numpy"]);

const num = (r: Result | undefined, key: string) => (r ? (r[key] as number) : Number.NaN);
const fmt = (x: number, digits = 2) => (Number.isNaN(x) ? "–" : x.toFixed(digits));
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();

const lines = [
  `### Engine (commit ${commit}, ${new Date().toISOString().slice(0, 10)})`,
  "",
  `Machine: ${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${process.platform}; MLX ${mx.runtimeInfo.mlxVersion}.`,
  `mlux GEMM backend: ${ours.gemmBackend}.`,
  "",
  "| tiny op (1-element add) | mlux µs | Python MLX µs | ratio (mlux / Python) |",
  "|---|---|---|---|",
  `| build the op (graph only; mlux disposes each result) | ${fmt(num(ours, "addGraphUs"))} | ${fmt(num(theirs, "addGraphUs"))} | ${fmt(num(ours, "addGraphUs") / num(theirs, "addGraphUs"))} |`,
  `| build the op, no dispose (left to GC) | ${fmt(num(ours, "addGraphNoDisposeUs"))} | ${fmt(num(theirs, "addGraphUs"))} | ${fmt(num(ours, "addGraphNoDisposeUs") / num(theirs, "addGraphUs"))} |`,
  `| op + eval | ${fmt(num(ours, "addEvalUs"))} | ${fmt(num(theirs, "addEvalUs"))} | ${fmt(num(ours, "addEvalUs") / num(theirs, "addEvalUs"))} |`,
  "",
  "| fp32 GEMM GFLOP/s | 1024×1024×1024 | 16×2048×8192 |",
  "|---|---|---|",
  `| mlux (default: OpenBLAS via the GEMM shim) | ${fmt(num(ours, "gemm1024"), 1)} | ${fmt(num(ours, "gemm16x2048x8192"), 1)} |`,
  `| Python MLX with the same shim (LD_PRELOAD) | ${fmt(num(theirsOpenblas, "gemm1024"), 1)} | ${fmt(num(theirsOpenblas, "gemm16x2048x8192"), 1)} |`,
  `| **ratio mlux / Python MLX, same BLAS** | **${fmt(num(ours, "gemm1024") / num(theirsOpenblas, "gemm1024"))}** | **${fmt(num(ours, "gemm16x2048x8192") / num(theirsOpenblas, "gemm16x2048x8192"))}** |`,
  `| mlux on the wheel's reference BLAS (LD_PRELOAD) | ${fmt(num(oursReference, "gemm1024"), 1)} | ${fmt(num(oursReference, "gemm16x2048x8192"), 1)} |`,
  `| Python MLX as installed (wheel's reference BLAS) | ${fmt(num(theirs, "gemm1024"), 1)} | ${fmt(num(theirs, "gemm16x2048x8192"), 1)} |`,
  `| **ratio mlux / Python MLX, each as installed** | **${fmt(num(ours, "gemm1024") / num(theirs, "gemm1024"))}** | **${fmt(num(ours, "gemm16x2048x8192") / num(theirs, "gemm16x2048x8192"))}** |`,
  `| NumPy + its OpenBLAS | ${fmt(num(numpy, "gemm1024"), 1)} | ${fmt(num(numpy, "gemm16x2048x8192"), 1)} |`,
];
console.log(lines.join("\n"));
