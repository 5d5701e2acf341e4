"""Python MLX's side of bench/cuda/op_cost.ts: microseconds per call of each op a decode step
builds, as mlx-lm calls them, each result dropped as the next replaces it. Prints one JSON line.

  python bench/cuda/op_cost.py CALLS ROUNDS"""

import json
import statistics
import sys
import time

import mlx.core as mx

calls, rounds = (int(a) for a in sys.argv[1:3])

x = mx.random.normal((1, 1, 128))
norm = mx.random.normal((128,))
weight = mx.random.normal((256, 128))
weight_t = weight.T
q = mx.random.normal((1, 4, 1, 32))
k = mx.random.normal((1, 2, 1, 32))
keys = mx.random.normal((1, 2, 128, 32))
cache = mx.random.normal((1, 2, 256, 32))
freqs = mx.exp(mx.arange(0, 16, 1, dtype=mx.float32) * 0.5)
logits = mx.random.normal((1, 2048))
mx.eval(x, norm, weight, weight_t, q, k, keys, cache, freqs, logits)


def slice_update():
    # mlx-lm's KVCache: c[..., prev:offset, :] = keys on the stored array (a new graph node).
    c = cache_holder[0]
    c[..., 127:128, :] = k
    return c


cache_holder = [None]

ops = {
    "rmsNorm": lambda: mx.fast.rms_norm(x, norm, 1e-5),
    "ropeFreqs": lambda: mx.fast.rope(q, 32, traditional=False, base=None, scale=1.0, offset=127, freqs=freqs),
    "ropeBase": lambda: mx.fast.rope(q, 32, traditional=False, base=500000.0, scale=1.0, offset=127),
    "sdpa": lambda: mx.fast.scaled_dot_product_attention(q, keys, keys, scale=0.17, mask=None),
    "matmul": lambda: x @ weight_t,
    "transpose2d": lambda: weight.T,
    "linear": lambda: x @ weight.T,
    "reshape": lambda: x.reshape(1, 1, 4, 32),
    "transpose4d": lambda: q.transpose(0, 2, 1, 3),
    "add": lambda: x + x,
    "sliceUpdate": slice_update,
    "slice": lambda: cache[..., :128, :],
    "cacheWrite": slice_update,
    "cacheRead": lambda: cache[..., :128, :],
    "argmax": lambda: mx.argmax(logits, axis=-1),
    "shape": lambda: x.shape,
}


def per_call(name, op):
    samples = []
    for _ in range(rounds):
        # The slice update rewrites its array in place: each round starts from a fresh one, so
        # the chain it builds is CALLS long, as the mlux side's tidy holds CALLS arrays.
        cache_holder[0] = mx.array(cache) if name in ("sliceUpdate", "cacheWrite") else None
        t0 = time.perf_counter()
        for _ in range(calls):
            y = op()
        del y
        cache_holder[0] = None
        samples.append((time.perf_counter() - t0) * 1e6 / calls)
    return min(samples), statistics.median(samples)


out = {"peer": "python-mlx"}
for name, op in ops.items():
    per_call(name, op)  # warm-up
    lo, med = per_call(name, op)
    out[name] = {"minUs": round(lo, 2), "medianUs": round(med, 2)}
print(json.dumps(out))
