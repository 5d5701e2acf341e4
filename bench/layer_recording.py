"""The Python peers' way of caching activations: every layer of an mlx-lm model wrapped to keep its
output (how the Python mlux cached), timed against the plain forward pass. Shared by the hooks and
CUDA benchmarks' Python sides, which put this folder on sys.path."""

import time

import mlx.core as mx
import mlx.nn as nn


class Recorder(nn.Module):
    """Calls the wrapped layer and keeps its output."""

    def __init__(self, inner, store, key):
        super().__init__()
        self.inner = inner
        self.store = store
        self.key = key

    def __getattr__(self, key):
        # The model reads flags of its layers (use_sliding ...): answer with the wrapped layer's.
        # mlx Modules keep their children as dict entries, so look there first.
        if key in self:
            return self[key]
        if "inner" in self:
            return getattr(self["inner"], key)
        raise AttributeError(key)

    def __call__(self, *args, **kwargs):
        out = self.inner(*args, **kwargs)
        self.store[self.key] = out
        return out


def timed_forward(model, tokens, record: bool) -> float:
    """Seconds for the logits of `tokens` (and, with `record`, every layer's output), evaluated."""
    layers = model.layers
    originals = list(layers)
    store = {}
    if record:
        for i, layer in enumerate(originals):
            layers[i] = Recorder(layer, store, i)
    try:
        start = time.perf_counter()
        mx.eval(model(tokens), *store.values())
        return time.perf_counter() - start
    finally:
        for i, layer in enumerate(originals):
            layers[i] = layer
