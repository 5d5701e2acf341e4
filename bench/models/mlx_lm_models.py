"""mlx-lm's side of the model benchmark (the same steps as mlux_models.ts). Prints one JSON line."""

import json
import sys
import time

import mlx.core as mx
from mlx_lm import load
from mlx_lm.generate import generate_step
from mlx_lm.models.cache import make_prompt_cache

path = sys.argv[1]
start = time.perf_counter()
model, _ = load(path)
load_seconds = time.perf_counter() - start
prompt = [(i * 7919) % 4000 + 10 for i in range(256)]

for _ in generate_step(mx.array(prompt[:16]), model, max_tokens=4):
    pass

mx.reset_peak_memory()
cache = make_prompt_cache(model)
start = time.perf_counter()
mx.eval(model(mx.array([prompt]), cache=cache))
prefill_seconds = time.perf_counter() - start

count = 0
for _ in generate_step(mx.array(prompt), model, max_tokens=65):
    count += 1
    if count == 1:
        start = time.perf_counter()
decode_seconds = time.perf_counter() - start
print(json.dumps({
    "peer": "mlx-lm",
    "loadSeconds": load_seconds,
    "prefillTokensPerSecond": len(prompt) / prefill_seconds,
    "decodeTokensPerSecond": 64 / decode_seconds,
    "peakMiB": mx.get_peak_memory() / 2**20,
}))
