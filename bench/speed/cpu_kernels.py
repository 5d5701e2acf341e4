# The Python peer of bench/speed/cpu_kernels_mlux.ts: the same MLX ops over the same 2M float32
# elements in Python MLX, median ms of 9 after one warm-up. Prints one JSON line.
# Usage: .venv-oracle/bin/python bench/speed/cpu_kernels.py
import json
import time

import mlx.core as mx
import mlx.nn as nn

x = mx.random.normal((2048, 1024))
y = mx.random.normal((2048, 1024))
mx.eval(x, y)


def median_ms(fn, repeats=9):
    mx.eval(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        mx.eval(fn())
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[repeats // 2]


print(
    json.dumps(
        {
            "add": median_ms(lambda: x + y),
            "exp": median_ms(lambda: mx.exp(x)),
            "siluGate": median_ms(lambda: nn.silu(x) * y),
            "softmax": median_ms(lambda: mx.softmax(x, axis=-1)),
        }
    )
)
