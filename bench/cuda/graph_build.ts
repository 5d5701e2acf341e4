// The host side of a forward pass: the time to build (not compute) the graph of one greedy decode
// step and of a 1x512 forward pass, in mlux (the model's own call, and HookedModel.forward) and in
// mlx-lm (graph_build.py), on a random checkpoint with Llama-3.2-1B's structure (16 layers, GQA,
// llama3 RoPE, tied embeddings) and small widths: building a graph costs the same per op at any
// width, and computing a small one is quick on a CPU. Building is timed apart from computing, so
// this runs on any machine; on a GPU, decoding is bound by it (BENCHMARKS.md, CUDA).
//   node --conditions=mlux-source --import tsx bench/cuda/graph_build.ts [ROUNDS] [REPEATS]
// Medians of REPEATS builds per round; ROUNDS interleaved rounds, one process per peer each.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "../peers.ts";

const rounds = Number(process.argv[2] ?? 3);
const repeats = Number(process.argv[3] ?? 50);
const dir = join(tmpdir(), "mlux-llama-1b-structure-small-f32");
const python = join(process.env.MLUX_ORACLE_VENV ?? join(root, ".venv-oracle"), "bin", "python");
const here = join(root, "bench", "cuda");

if (!existsSync(join(dir, "model.safetensors"))) {
  // float32: bfloat16 products run in scalar loops on a CPU, float32 ones in BLAS.
  const small = {
    hidden_size: 128,
    intermediate_size: 256,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 32,
    vocab_size: 2048,
    torch_dtype: "float32",
  };
  const make = [
    "import sys, json",
    `sys.path.insert(0, ${JSON.stringify(here)})`,
    "import make_llama1b as m, mlx.core as mx",
    "from pathlib import Path",
    "m.main(Path(sys.argv[1]), {**m.CONFIG, **json.loads(sys.argv[2])}, mx.float32)",
  ].join("\n");
  execFileSync(python, ["-c", make, dir, JSON.stringify(small)], { stdio: "inherit" });
}

const side = (cmd: string, args: string[]) =>
  JSON.parse(execFileSync(cmd, args, { cwd: root, encoding: "utf8" }).trim().split("\n").pop() as string);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const results: Record<string, number[]> = {};
const add = (peer: string, out: Record<string, unknown>) => {
  for (const [k, v] of Object.entries(out)) {
    if (typeof v !== "number") continue;
    const key = `${peer} ${k}`;
    results[key] = [...(results[key] ?? []), v];
  }
};
for (let r = 0; r < rounds; r++) {
  add(
    "mlux",
    side(process.execPath, [
      "--conditions=mlux-source",
      "--import",
      "tsx",
      join(here, "graph_build_mlux.ts"),
      dir,
      String(repeats),
    ]),
  );
  add("mlx-lm", side(python, [join(here, "graph_build.py"), dir, String(repeats)]));
}
const table = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Number(median(v).toFixed(3))]));
console.log(JSON.stringify({ rounds, repeats, medianMs: table }));
