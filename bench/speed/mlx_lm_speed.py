"""mlx-lm's side of the Linux CPU speed benchmark (the same steps as mlux_speed.ts): load, then
one generation of PREFILL prompt tokens and DECODE greedy tokens with generate_step. Run with or
without our GEMM shim preloaded (bench/speed/run.ts does both). Prints one JSON line.

  python bench/speed/mlx_lm_speed.py DIR PREFILL DECODE
"""

import json
import resource
import sys
import time
from pathlib import Path

import mlx.core as mx
from mlx_lm.utils import load_model
from mlx_lm.generate import generate_step

path, prefill, decode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
start = time.perf_counter()
model, _ = load_model(Path(path))  # the weights only: the shaped checkpoints have no tokenizer
load_seconds = time.perf_counter() - start
prompt = [(i * 7919) % 4000 + 10 for i in range(prefill)]

for _ in generate_step(mx.array(prompt[:2]), model, max_tokens=1):
    pass

start = time.perf_counter()
count = 0
for _ in generate_step(mx.array(prompt), model, max_tokens=decode + 1):
    count += 1
    if count == 1:
        first_token_seconds = time.perf_counter() - start
        start = time.perf_counter()
decode_seconds = time.perf_counter() - start
print(json.dumps({
    "peer": "mlx-lm",
    "loadSeconds": load_seconds,
    "prefillTokensPerSecond": prefill / first_token_seconds,
    "decodeTokensPerSecond": decode / decode_seconds,
    "peakMiB": mx.get_peak_memory() / 2**20,
    "maxRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
