"""The Python peer of the hooks benchmark: mlx-lm with every layer wrapped to record its output
(how the Python mlux cached activations), against the plain forward pass, on the same tokens.
Prints one JSON line. Run by bench/hooks/run.ts."""

import json
import statistics
import sys
import time

import mlx.core as mx
import mlx.nn as nn
from mlx_lm import load

path, length, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
model, _ = load(path)
tokens = mx.array([[(i * 7919) % 4000 + 10 for i in range(length)]])


class Recorder(nn.Module):
    """Calls the wrapped layer and keeps its output."""

    def __init__(self, inner, store, key):
        super().__init__()
        self.inner = inner
        self.store = store
        self.key = key

    def __getattr__(self, key):
        # The model reads attributes of its layers (use_sliding ...): answer for the wrapped one.
        if key in self:  # mlx Modules keep children and containers as dict entries
            return self[key]
        if "inner" in self:
            return getattr(self["inner"], key)
        raise AttributeError(key)

    def __call__(self, *args, **kwargs):
        out = self.inner(*args, **kwargs)
        self.store[self.key] = out
        return out


layers = model.layers
originals = list(layers)


def plain_once():
    start = time.perf_counter()
    mx.eval(model(tokens))
    return (time.perf_counter() - start) * 1000


def cached_once():
    store = {}
    for i, layer in enumerate(originals):
        layers[i] = Recorder(layer, store, i)
    start = time.perf_counter()
    logits = model(tokens)
    mx.eval(logits, *store.values())
    elapsed = (time.perf_counter() - start) * 1000
    for i, layer in enumerate(originals):
        layers[i] = layer
    return elapsed


plain_once()
cached_once()
plain, cached = [], []
for _ in range(repeats):
    plain.append(plain_once())
    cached.append(cached_once())
print(json.dumps({"peer": "python-wrapped", "plainMs": statistics.median(plain), "cachedMs": statistics.median(cached)}))
