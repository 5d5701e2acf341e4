"""The Python peer of the hooks benchmark: mlx-lm with every layer wrapped to record its output
(how the Python mlux cached activations), against the plain forward pass, on the same tokens.
Prints one JSON line. Run by bench/hooks/run.ts."""

import json
import statistics
import sys
from pathlib import Path

import mlx.core as mx
from mlx_lm import load

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from layer_recording import timed_forward  # noqa: E402

path, length, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
model, _ = load(path)
tokens = mx.array([[(i * 7919) % 4000 + 10 for i in range(length)]])


def plain_once():
    return timed_forward(model, tokens, record=False) * 1000


def cached_once():
    return timed_forward(model, tokens, record=True) * 1000


plain_once()
cached_once()
plain, cached = [], []
for _ in range(repeats):
    plain.append(plain_once())
    cached.append(cached_once())
print(json.dumps({"peer": "python-wrapped", "plainMs": statistics.median(plain), "cachedMs": statistics.median(cached)}))
