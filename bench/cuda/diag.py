"""mlx-lm's side of bench/cuda/diag.ts: a forward pass and pipelined greedy decoding, each split
into building the graph and evaluating it. Takes --decode-only or --prefill-only, as diag.ts. Prints one JSON line."""

import io
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import mlx.core as mx
from mlx_lm.models.cache import make_prompt_cache
from mlx_lm.utils import load_model

work = json.loads(Path(os.environ.get("MLUX_CUDA_WORKLOAD", Path(__file__).parent / "workload.json")).read_text())
model, _ = load_model(Path(sys.argv[1]))
decode_only = len(sys.argv) > 2 and sys.argv[2] == "--decode-only"
prefill_only = len(sys.argv) > 2 and sys.argv[2] == "--prefill-only"


SPAN = min(120000, json.loads((Path(sys.argv[1]) / "config.json").read_text())["vocab_size"] - 10)


def tokens(rows, length):
    return [[(i * 7919 + r * 104729) % SPAN + 10 for i in range(length)] for r in range(rows)]


def ms(seconds):
    return seconds * 1000


# Passes before the timed ones, as diag.ts: workload.json's "warmUp", or MLUX_CUDA_WARM_UP.
WARM_UP = int(os.environ.get("MLUX_CUDA_WARM_UP", work["warmUp"]))


def prefill(rows, fresh=False):
    """fresh: the input array is made from the token list inside each timed pass (as a caller with
    a list of ids does), not once before."""
    ids = tokens(rows, work["promptLength"])
    x = mx.array(ids)
    build, evaluate = [], []
    for i in range(work["repeats"] + WARM_UP):
        t0 = time.perf_counter()
        logits = model(mx.array(ids) if fresh else x)
        t1 = time.perf_counter()
        mx.eval(logits)
        t2 = time.perf_counter()
        del logits
        if i >= WARM_UP:
            build.append(ms(t1 - t0))
            evaluate.append(ms(t2 - t1))
    b, e = statistics.median(build), statistics.median(evaluate)
    return {"buildMs": b, "evalMs": e, "tokensPerSecond": rows * work["promptLength"] / ((b + e) / 1000), "ops": op_counts(model(x))}


def op_counts(output):
    """How many of each primitive the graph of `output` holds, as diag.ts counts them."""
    dot = io.StringIO()
    mx.export_to_dot(dot, output)
    return dict(Counter(re.findall(r'label ="(\w+)", shape=rectangle', dot.getvalue())))


def decode():
    cache = make_prompt_cache(model)
    prompt = tokens(1, work["decodePrompt"])[0]
    model(mx.array([prompt[:-1]]), cache=cache)
    mx.eval([c.state for c in cache])

    def step(x):
        return mx.argmax(model(x, cache=cache)[:, -1, :], axis=-1)

    current = step(mx.array([prompt[-1:]]))
    mx.async_eval(current)
    graph, build, wait = [], [], []
    start = time.perf_counter()
    for _ in range(work["decodeTokens"]):
        t0 = time.perf_counter()
        nxt = step(current.reshape(1, 1))
        tg = time.perf_counter()
        mx.async_eval(nxt)
        t1 = time.perf_counter()
        current.item()
        t2 = time.perf_counter()
        graph.append(ms(tg - t0))
        build.append(ms(t1 - t0))
        wait.append(ms(t2 - t1))
        current = nxt
    total = time.perf_counter() - start
    return {
        "graphMs": statistics.median(graph),
        "buildMs": statistics.median(build),
        "waitMs": statistics.median(wait),
        "tokensPerSecond": work["decodeTokens"] / total,
        "ops": op_counts(step(current.reshape(1, 1))),
    }


out = {"peer": "mlx-lm", "device": str(mx.default_device())}
if not decode_only:
    out["prefill1"] = prefill(1)
    out["prefill1Fresh"] = prefill(1, fresh=True)
    out["prefillBatch"] = prefill(work["batch"])
if not prefill_only:
    decode()  # warm-up
    out["decode"] = decode()
print(json.dumps(out))
