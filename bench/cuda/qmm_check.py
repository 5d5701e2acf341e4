"""How far MLX's quantized matrix product is from the product with the dequantized matrix, in float32,
on each device: the tied 4-bit unembedding of the llama q4 test checkpoint (test/hooks/
activation-cache.test.ts checks that logit attributions, computed with the dequantized table, sum
to the logits, computed with quantized_matmul). Prints one JSON line per device.

  python bench/cuda/qmm_check.py .checkpoints/llama/q4
"""

import json
import sys
from pathlib import Path

import mlx.core as mx
import numpy as np

folder = Path(sys.argv[1])
config = json.loads((folder / "config.json").read_text())
q = config["quantization"]
weights = mx.load(str(folder / "model.safetensors"))
w, scales, biases = (weights[f"model.embed_tokens.{k}"] for k in ("weight", "scales", "biases"))
scales, biases = scales.astype(mx.float32), biases.astype(mx.float32)
rows = 12
x = (mx.random.normal((rows, config["hidden_size"]), key=mx.random.key(1)) * 2.0).astype(mx.float32)

table = np.array(mx.dequantize(w, scales, biases, group_size=q["group_size"], bits=q["bits"], stream=mx.cpu), dtype=np.float64)
reference = np.array(x, dtype=np.float64) @ table.T


def rel(a):
    a = np.array(a, dtype=np.float64)
    return float(np.linalg.norm(a - reference) / np.linalg.norm(reference))


for device in (mx.cpu, mx.gpu) if mx.is_available(mx.gpu) else (mx.cpu,):
    with mx.stream(device):
        qmm = mx.quantized_matmul(x, w, scales, biases, transpose=True, group_size=q["group_size"], bits=q["bits"])
        dense = x @ mx.dequantize(w, scales, biases, group_size=q["group_size"], bits=q["bits"]).T
        qmm_one = mx.concatenate(
            [mx.quantized_matmul(x[i : i + 1], w, scales, biases, transpose=True, group_size=q["group_size"], bits=q["bits"]) for i in range(rows)]
        )
        mx.eval(qmm, dense, qmm_one)
    print(json.dumps({
        "device": str(device),
        "tf32": __import__("os").environ.get("MLX_ENABLE_TF32"),
        "qmm_vs_float64": rel(qmm),
        "qmm_one_row_vs_float64": rel(qmm_one),
        "dequantized_matmul_vs_float64": rel(dense),
        "qmm_vs_dequantized_max_abs": float(np.max(np.abs(np.array(qmm, dtype=np.float64) - np.array(dense, dtype=np.float64)))),
    }))
