// The host side of a forward pass: the time to build (not compute) the graph of one greedy decode
// step and of a 1x512 forward pass, in mlux (the model's own call, and HookedModel.forward) and in
// mlx-lm (graph_build.py), on a random checkpoint with Llama-3.2-1B's structure (16 layers, GQA,
// llama3 RoPE, tied embeddings) and small widths: building a graph costs the same per op at any
// width, and computing a small one is quick on a CPU. Building is timed apart from computing, so
// this runs on any machine; on a GPU, decoding is bound by it (BENCHMARKS.md, CUDA).
//   node --conditions=mlux-source --import tsx bench/cuda/graph_build.ts [ROUNDS] [REPEATS]
// Medians of REPEATS builds per round; ROUNDS interleaved rounds, one process per peer each.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { root } from "../peers.ts";
import { python, smallLlamaCheckpoint } from "./small_llama.ts";

const rounds = Number(process.argv[2] ?? 3);
const repeats = Number(process.argv[3] ?? 50);
const dir = smallLlamaCheckpoint();
const here = join(root, "bench", "cuda");

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
