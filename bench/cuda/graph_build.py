"""mlx-lm's side of bench/cuda/graph_build.ts: the host time of building (not computing) the graph
of one greedy decode step and of one forward pass, on the checkpoint graph_build.ts writes.
Prints one JSON line."""

import json
import statistics
import sys
import time
from pathlib import Path

import mlx.core as mx
from mlx_lm.models.cache import make_prompt_cache
from mlx_lm.utils import load_model

model, _ = load_model(Path(sys.argv[1]))
repeats = int(sys.argv[2])
prompt_length, decode_prompt = 512, 128


def tokens(length):
    return [[(i * 7919) % 1000 + 10 for i in range(length)]]


def forward_build():
    x = mx.array(tokens(prompt_length))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        logits = model(x)
        times.append((time.perf_counter() - t0) * 1000)
        mx.eval(logits)
        del logits
    return statistics.median(times)


def decode_build():
    cache = make_prompt_cache(model)
    prompt = tokens(decode_prompt)[0]
    model(mx.array([prompt[:-1]]), cache=cache)
    mx.eval([c.state for c in cache])

    def step(x):
        return mx.argmax(model(x, cache=cache)[:, -1, :], axis=-1)

    current = step(mx.array([prompt[-1:]]))
    mx.async_eval(current)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        nxt = step(current.reshape(1, 1))
        mx.async_eval(nxt)
        times.append((time.perf_counter() - t0) * 1000)
        current.item()
        current = nxt
    return statistics.median(times)


forward_build()  # warm-up
print(json.dumps({"peer": "mlx-lm", "forwardBuildMs": forward_build(), "decodeBuildMs": decode_build()}))
