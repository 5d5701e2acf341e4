// The checkpoint of the graph-building benchmarks: Llama-3.2-1B's structure (16 layers, GQA 4/2,
// llama3 RoPE, tied embeddings) at small widths, float32, written once by make_llama1b.py into
// the temporary folder. Building a graph costs the same per op at any width, and computing a
// small one is quick on a CPU (bfloat16 products run in scalar loops there, float32 ones in BLAS).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "../peers.ts";

export const python = join(process.env.MLUX_ORACLE_VENV ?? join(root, ".venv-oracle"), "bin", "python");

/** The checkpoint's folder, written first if missing. */
export function smallLlamaCheckpoint(): string {
  const dir = join(tmpdir(), "mlux-llama-1b-structure-small-f32");
  if (existsSync(join(dir, "model.safetensors"))) return dir;
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
    `sys.path.insert(0, ${JSON.stringify(join(root, "bench", "cuda"))})`,
    "import make_llama1b as m, mlx.core as mx",
    "from pathlib import Path",
    "m.main(Path(sys.argv[1]), {**m.CONFIG, **json.loads(sys.argv[2])}, mx.float32)",
  ].join("\n");
  execFileSync(python, ["-c", make, dir, JSON.stringify(small)], { stdio: "inherit" });
  return dir;
}
