// The CUDA benchmark: mlux, Python mlx-lm (the same CUDA libmlx) and PyTorch + transformers on one
// random checkpoint shaped like Llama-3.2-1B in bfloat16, on the same GPU.
//   1. parity: the logits of one prompt and of the decode steps after it, from mlux and from mlx-lm,
//      compared element by element;
//   2. speed: ROUNDS interleaved rounds (one process per peer each round), medians per peer.
// MLUX_CUDA_WORKLOAD names another workload than workload.json (the sides read it too).
// Python: mlx-lm from $MLUX_ORACLE_VENV (default .venv-oracle); PyTorch from $MLUX_TORCH_PYTHON
// (default python3), skipped when it has no CUDA-enabled torch and transformers.
// MLUX_CUDA_CPUS (a taskset list such as "0-3") runs every peer's process on those CPUs only, so that
// each peer's host threads start from the same cores in every round.
// Usage: node --conditions=mlux-source --import tsx bench/cuda/run.ts [ROUNDS] [CHECKPOINT_DIR]
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mx } from "mlux";
import { commit, root, today } from "../peers.ts";

const rounds = Number(process.argv[2] ?? 3);
const dir = process.argv[3] ?? join(tmpdir(), "mlux-llama-1b-shaped-bf16");
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("usage: run.ts [ROUNDS] [CHECKPOINT_DIR]");
const mlxPython = join(process.env.MLUX_ORACLE_VENV ?? join(root, ".venv-oracle"), "bin", "python");
const torchPython = process.env.MLUX_TORCH_PYTHON ?? "python3";
const here = join(root, "bench", "cuda");
const work = JSON.parse(readFileSync(process.env.MLUX_CUDA_WORKLOAD ?? join(here, "workload.json"), "utf8"));

type Side = Record<string, number | string | null>;
const cpus = process.env.MLUX_CUDA_CPUS;
function side(cmd: string, args: string[]): Side {
  const [file, argv]: [string, string[]] = cpus ? ["taskset", ["-c", cpus, cmd, ...args]] : [cmd, args];
  const out = execFileSync(file, argv, { cwd: root, encoding: "utf8", maxBuffer: 1 << 26 });
  return JSON.parse(out.trim().split("\n").pop() as string);
}
const mlux = (args: string[]) =>
  side(process.execPath, ["--conditions=mlux-source", "--import", "tsx", join(here, "mlux_side.ts"), ...args]);
const mlxLm = (args: string[]) => side(mlxPython, [join(here, "mlx_lm_side.py"), ...args]);
const torch = (args: string[]) => side(torchPython, [join(here, "torch_side.py"), ...args]);

function hasTorchCuda(): boolean {
  try {
    execFileSync(torchPython, ["-c", "import torch, transformers; assert torch.cuda.is_available()"], {
      stdio: "ignore",
    });
    return true;
  } catch {
    return false;
  }
}

if (!existsSync(join(dir, "model.safetensors"))) {
  execFileSync(mlxPython, [join(here, "make_llama1b.py"), dir], { stdio: "inherit" });
}

// 1. Parity.
const scratch = mkdtempSync(join(tmpdir(), "mlux-cuda-parity-"));
const theirsFile = join(scratch, "mlx_lm.safetensors");
const oursFile = join(scratch, "mlux.safetensors");
mlxLm([dir, "--logits", theirsFile]);
mlux([dir, "--logits", oursFile]);
const theirAll = mx.loadSafetensors(theirsFile).arrays;
const ourAll = mx.loadSafetensors(oursFile).arrays;
function compare(name: string) {
  const ours = ourAll[name] as mx.Array;
  const theirs = theirAll[name] as mx.Array;
  return {
    elements: ours.size,
    differing: mx.sum(mx.notEqual(ours, theirs)).item() as number,
    maxAbsDiff: mx.max(mx.abs(mx.subtract(ours, theirs))).item() as number,
    argmaxAgreement: mx.mean(mx.equal(mx.argmax(ours, -1), mx.argmax(theirs, -1))).item() as number,
  };
}
// The prompt's logits and those of the decode steps after it (one token at a time through the cache).
const parity = compare("logits");
const stepParity = compare("steps");
const ours = ourAll.logits as mx.Array;
const steps = (ourAll.steps as mx.Array).shape[1];

// 2. Speed, interleaved.
const withTorch = hasTorchCuda();
const results: Record<string, Side[]> = { mlux: [], "mlx-lm": [], torch: [] };
let torchCheck: Side | undefined;
for (let i = 0; i < rounds; i++) {
  results.mlux?.push(mlux([dir]));
  results["mlx-lm"]?.push(mlxLm([dir]));
  if (withTorch) {
    const r = torch(i === 0 ? [dir, "--check", theirsFile] : [dir]);
    if (i === 0) torchCheck = r;
    results.torch?.push(r);
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const key = (peer: string, k: string) => median((results[peer] ?? []).map((r) => r[k] as number));

const gpu = mx.runtimeInfo.gpu?.device_name ?? "no GPU";
const lines = [
  `### CUDA: Llama-3.2-1B-shaped bf16, ${gpu}, ${rounds} interleaved rounds${cpus ? `, every process on CPUs ${cpus}` : ""} (commit ${commit}, ${today})`,
  "",
  `Parity of one ${ours.shape[1]}-token prompt's logits (float32 of bf16), mlux against mlx-lm on the same libmlx:`,
  `${parity.differing} of ${parity.elements} differ, max |diff| ${parity.maxAbsDiff}, argmax agreement ${parity.argmaxAgreement}.`,
  `The ${steps} decode steps after it: ${stepParity.differing} of ${stepParity.elements} differ, max |diff| ${stepParity.maxAbsDiff}, argmax agreement ${stepParity.argmaxAgreement}.`,
  "",
  `| peer | prefill 1x${work.promptLength} tok/s | prefill ${work.batch}x${work.promptLength} tok/s | greedy decode tok/s (${work.decodeTokens} after ${work.decodePrompt}) | forward 1x${work.promptLength} ms | + cache every layer ms | cache overhead |`,
  "|---|---|---|---|---|---|---|",
];
for (const peer of ["mlux", "mlx-lm", ...(withTorch ? ["torch"] : [])]) {
  const plain = key(peer, "plainMs");
  const cached = key(peer, "cachedMs");
  lines.push(
    `| ${peer} | ${key(peer, "prefill1").toFixed(0)} | ${key(peer, "prefillBatch").toFixed(0)} | ${key(peer, "decode").toFixed(1)} | ${plain.toFixed(2)} | ${cached.toFixed(2)} | ${(((cached - plain) / plain) * 100).toFixed(1)}% |`,
  );
}
lines.push(
  "",
  `mlux / mlx-lm: decode ${(key("mlux", "decode") / key("mlx-lm", "decode")).toFixed(3)}, prefill 1x${work.promptLength} ${(key("mlux", "prefill1") / key("mlx-lm", "prefill1")).toFixed(3)}, prefill ${work.batch}x${work.promptLength} ${(key("mlux", "prefillBatch") / key("mlx-lm", "prefillBatch")).toFixed(3)}.`,
);
if (torchCheck)
  lines.push(
    `PyTorch against mlx-lm logits: ${JSON.stringify({ maxAbsDiff: torchCheck.logitsMaxAbsDiffVsMlxLm, relErr: torchCheck.logitsRelErrVsMlxLm, argmax: torchCheck.argmaxAgreement })}; torch ${torchCheck.torch}.`,
  );
else lines.push("PyTorch with CUDA and transformers was not found: no PyTorch column.");
// Where PyTorch's decode step goes (torch_side.py's decode_anatomy), from each round.
for (const r of results.torch ?? []) {
  const step = r.decodeStep as unknown as Record<string, number | string> | undefined;
  if (step) lines.push(`PyTorch decode step: ${JSON.stringify(step)}.`);
}
console.log(JSON.stringify({ parity, stepParity, results }));
console.log(lines.join("\n"));
