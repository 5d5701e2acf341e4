"""The per-cell logit lens loop in Python mlx-lm, beside bench/analysis/lens.ts: one cached forward
pass (the stream entering each layer and leaving the last, each layer's attention and MLP
outputs: the same 3L+1 rows as mlux's resid, attn and mlp probes), then every cell
through the final norm and the unembedding on its own, with its top K tokens and probabilities.
DTYPE "native" computes as the checkpoint stores; "float32" casts the weights first. Prints one
JSON line.

  python bench/analysis/lens_mlx_lm.py DIR DTYPE LENGTH REPEATS K
"""

import json
import sys
import time

import mlx.core as mx
from mlx_lm import load
from wrapped_module import Wrapped

path, dtype, length, repeats, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
model, _ = load(path)
if dtype == "float32":
    model.set_dtype(mx.float32)
ids = mx.array([[(i * 7919) % 4000 + 10 for i in range(length)]])
layers = model.model.layers


class Record(Wrapped):
    """Calls the wrapped module and keeps its input (first) and output."""

    def __init__(self, inner, store):
        super().__init__(inner)
        self.store = store

    def __call__(self, x, *args, **kwargs):
        out = self.inner(x, *args, **kwargs)
        self.store.append((x, out))
        return out


blocks, attns, mlps = [], [], []
for i, layer in enumerate(layers):
    layer.self_attn = Record(layer.self_attn, attns)
    layer.mlp = Record(layer.mlp, mlps)
    layers[i] = Record(layer, blocks)


def unembed(x):
    h = model.model.norm(x)
    return model.lm_head(h) if hasattr(model, "lm_head") else model.model.embed_tokens.as_linear(h)


def per_cell():
    blocks.clear(), attns.clear(), mlps.clear()
    mx.eval(model(ids))
    rows = [b[0] for b in blocks] + [blocks[-1][1]] + [a[1] for a in attns] + [m[1] for m in mlps]
    grid = []
    for row in rows:
        cells = []
        for p in range(length):
            logits = unembed(row[0, p]).astype(mx.float32)
            top = mx.argsort(-logits)[:k]
            probs = mx.softmax(logits)[top]
            cells.append((top.tolist(), probs.tolist()))
        grid.append(cells)
    return grid


per_cell()
times = []
for _ in range(repeats):
    start = time.perf_counter()
    grid = per_cell()
    times.append((time.perf_counter() - start) * 1000)
print(json.dumps({"perCellMs": sorted(times)[len(times) // 2], "cells": sum(len(r) for r in grid)}))
