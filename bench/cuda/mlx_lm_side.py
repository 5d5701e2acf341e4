"""mlx-lm's side of the CUDA benchmark: the same steps as mlux_side.ts. Caching every layer's
output wraps each decoder layer to keep what it returns (mlx-lm has no hooks of its own).
With --logits FILE it writes the logits of the parity prompt and of the decode steps that follow it
(as mlux_side.ts). Prints one JSON line."""

import json
import os
import statistics
import sys
import time
from pathlib import Path

import mlx.core as mx
from mlx_lm.generate import generate_step
from mlx_lm.models.cache import make_prompt_cache
from mlx_lm.utils import load_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from layer_recording import timed_forward  # noqa: E402

work = json.loads(Path(os.environ.get("MLUX_CUDA_WORKLOAD", Path(__file__).parent / "workload.json")).read_text())
path = Path(sys.argv[1])
# Token ids below the vocabulary (for Llama-3.2-1B's 128,256, the ids of every side).
SPAN = min(120000, json.loads((path / "config.json").read_text())["vocab_size"] - 10)
model, _ = load_model(path)
PARITY_STEPS = 8  # the decode steps whose logits --logits writes after the prompt's


def tokens(rows, length):
    return [[(i * 7919 + r * 104729) % SPAN + 10 for i in range(length)] for r in range(rows)]


if len(sys.argv) > 3 and sys.argv[2] == "--logits":
    length = work["parityLength"]
    prompt = tokens(1, length + PARITY_STEPS)[0]
    logits = model(mx.array([prompt[:length]])).astype(mx.float32)
    cache = make_prompt_cache(model)
    mx.eval(model(mx.array([prompt[:length]]), cache=cache))
    steps = [model(mx.array([[t]]), cache=cache).astype(mx.float32) for t in prompt[length:]]
    mx.save_safetensors(sys.argv[3], {"logits": logits, "steps": mx.concatenate(steps, axis=1)})
    print(json.dumps({"peer": "mlx-lm", "wrote": sys.argv[3], "device": str(mx.default_device())}))
    sys.exit(0)


def prefill_seconds(rows):
    x = mx.array(tokens(rows, work["promptLength"]))
    start = time.perf_counter()
    mx.eval(model(x))
    return time.perf_counter() - start


def decode_tokens_per_second():
    prompt = mx.array(tokens(1, work["decodePrompt"])[0])
    count = 0
    start = time.perf_counter()
    for _ in generate_step(prompt, model, max_tokens=work["decodeTokens"] + 1):
        count += 1
        if count == 1:
            start = time.perf_counter()
    return work["decodeTokens"] / (time.perf_counter() - start)


one = mx.array(tokens(1, work["promptLength"]))


def plain_seconds():
    return timed_forward(model, one, record=False)


def cached_seconds():
    return timed_forward(model, one, record=True)


# Warm-up passes, as many on every side (workload.json "warmUp"): mlux's V8 compiles its code
# over the first passes; kernels are compiled and memory pooled on first use.
for _ in range(work["warmUp"]):
    prefill_seconds(1)
    prefill_seconds(work["batch"])
    plain_seconds()
    cached_seconds()
for _ in generate_step(mx.array(tokens(1, 16)[0]), model, max_tokens=4):
    pass

b1, bn, plain, cached = [], [], [], []
for _ in range(work["repeats"]):
    b1.append(prefill_seconds(1))
    bn.append(prefill_seconds(work["batch"]))
    plain.append(plain_seconds())
    cached.append(cached_seconds())
decode = [decode_tokens_per_second() for _ in range(3)]

print(json.dumps({
    "peer": "mlx-lm",
    "device": str(mx.default_device()),
    "prefill1": work["promptLength"] / statistics.median(b1),
    "prefillBatch": work["batch"] * work["promptLength"] / statistics.median(bn),
    "decode": statistics.median(decode),
    "plainMs": statistics.median(plain) * 1000,
    "cachedMs": statistics.median(cached) * 1000,
}))
