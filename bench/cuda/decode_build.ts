// The host time of building one greedy decode step's graph, mlux against mlx-lm on the same
// checkpoint (small_llama.ts): built while nothing computes (the host cost alone) and pipelined as
// generation runs (built while the previous step computes, which on a 2-core CPU competes with
// it). On a GPU, decoding is bound by this building (BENCHMARKS.md, CUDA).
//   node --conditions=mlux-source --import tsx bench/cuda/decode_build.ts [ROUNDS] [REPEATS]
// ROUNDS interleaved rounds, one process per peer each (which goes first alternates); each
// process builds REPEATS steps per mode. Prints each round's medians, then the medians over rounds
// and mlux / mlx-lm. With --count: the calls each side makes to build one step.
import { join } from "node:path";
import { root, runMlux, runPython } from "../peers.ts";
import { smallLlamaCheckpoint } from "./small_llama.ts";

const args = process.argv.slice(2);
const counting = args.includes("--count");
const [rounds = 5, repeats = 100] = args.filter((a) => a !== "--count").map(Number);
const dir = smallLlamaCheckpoint();
const here = join(root, "bench", "cuda");
const mluxSide = () =>
  runMlux(join(here, "decode_build_mlux.ts"), [dir, String(repeats), ...(counting ? ["--count"] : [])]);
// Python MLX as installed (its own BLAS): only building is timed.
const pythonSide = () =>
  runPython(join(here, "decode_build.py"), [dir, String(repeats), ...(counting ? ["--count"] : [])], {
    gemmShim: false,
  });

if (counting) {
  console.log(JSON.stringify(mluxSide()));
  console.log(JSON.stringify(pythonSide()));
} else {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const results: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    const sides = r % 2 === 0 ? [mluxSide, pythonSide] : [pythonSide, mluxSide];
    for (const side of sides) {
      const out = side();
      for (const [k, v] of Object.entries(out)) {
        if (typeof v !== "number") continue;
        const key = `${out.peer} ${k}`;
        results[key] = [...(results[key] ?? []), v];
      }
      console.log(JSON.stringify(out));
    }
  }
  const table = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Number(median(v).toFixed(3))]));
  const ratio = (key: string) => Number(((table[`mlux ${key}`] ?? 0) / (table[`mlx-lm ${key}`] ?? 1)).toFixed(3));
  console.log(
    JSON.stringify({
      rounds,
      repeats,
      medianMs: table,
      mluxOverMlxLm: { quietMedian: ratio("quietMedianMs"), pipelinedMedian: ratio("pipelinedMedianMs") },
    }),
  );
}
