"""The naive mean-ablation loop in Python mlx-lm, beside bench/analysis/ablation.ts: one forward
pass of the whole prompt per cell, with one layer's output replaced at one position by its mean
over the prompt's positions (BOS left out), or one head's input to the output projection (z)
replaced at every position by that head's mean; the metric is the probability of the unablated
top token at the last position. DTYPE "native" computes as the checkpoint stores (as mlx-lm does
by default); "float32" casts the weights first (mlux's "auto" on the CPU). Prints one JSON line.

  python bench/analysis/ablation_mlx_lm.py DIR DTYPE REPEATS TOKENS_JSON TOP_TOKEN FIRST

FIRST is the first position the means take (1 when the prompt starts with BOS, as ablation() does).
"""

import json
import sys
import time

import mlx.core as mx
from mlx_lm import load
from wrapped_module import Wrapped

path, dtype, repeats, tokens, top, first = (
    sys.argv[1],
    sys.argv[2],
    int(sys.argv[3]),
    json.loads(sys.argv[4]),
    int(sys.argv[5]),
    int(sys.argv[6]),
)
model, _ = load(path)
if dtype == "float32":
    model.set_dtype(mx.float32)
layers = model.model.layers
inputs = mx.array([tokens])


class Replace(Wrapped):
    """Calls the wrapped module, then lets `edit` change its output (or its input, for o_proj)."""

    def __init__(self, inner, edit, on_input=False):
        super().__init__(inner)
        self.edit = edit
        self.on_input = on_input

    def __call__(self, x, *args, **kwargs):
        if self.on_input:
            return self.inner(self.edit(x), *args, **kwargs)
        return self.edit(self.inner(x, *args, **kwargs))


def prob_of_top():
    logits = model(inputs)[0, -1].astype(mx.float32)
    return mx.softmax(logits)[top].item()


# The clean activations: each layer's output and each o_proj input (z, heads flattened).
outputs, z_inputs = [], []
for i, layer in enumerate(layers):
    layers[i] = Replace(layer, lambda y, store=outputs: store.append(y) or y)
    layer.self_attn.o_proj = Replace(layer.self_attn.o_proj, lambda x, store=z_inputs: store.append(x) or x, True)
mx.eval(model(inputs))
for i in range(len(layers)):
    layers[i] = layers[i].inner
    layers[i].self_attn.o_proj = layers[i].self_attn.o_proj.inner
heads = layers[0].self_attn.n_heads
head_dim = z_inputs[0].shape[-1] // heads
position_means = [mx.mean(y[0, first:].astype(mx.float32), axis=0).astype(y.dtype) for y in outputs]
head_means = [mx.mean(z[0, first:].astype(mx.float32), axis=0).astype(z.dtype) for z in z_inputs]


def position_grid():
    grid = []
    for i, layer in enumerate(layers):
        row = []
        for p in range(len(tokens)):
            def edit(y, p=p, i=i):
                return mx.concatenate([y[:, :p], position_means[i][None, None], y[:, p + 1 :]], axis=1)
            layers[i] = Replace(layer, edit)
            row.append(prob_of_top())
            layers[i] = layer
        grid.append(row)
    return grid


def head_grid():
    grid = []
    for i, layer in enumerate(layers):
        o_proj = layer.self_attn.o_proj
        row = []
        for h in range(heads):
            lo, hi = h * head_dim, (h + 1) * head_dim
            def edit(x, lo=lo, hi=hi, i=i):
                mean = mx.broadcast_to(head_means[i][lo:hi], x[:, :, lo:hi].shape)
                return mx.concatenate([x[:, :, :lo], mean, x[:, :, hi:]], axis=-1)
            layer.self_attn.o_proj = Replace(o_proj, edit, True)
            row.append(prob_of_top())
            layer.self_attn.o_proj = o_proj
        grid.append(row)
    return grid


def timed(fn):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2], result


positions_ms, positions = timed(position_grid)
heads_ms, head_values = timed(head_grid)
print(json.dumps({"positionsMs": positions_ms, "headsMs": heads_ms, "positions": positions, "heads": head_values}))
