"""Python MLX's side of the engine benchmark (the same operations as mlux_engine.ts), and NumPy's
GEMM for reference. Prints one JSON line. Run by bench/run.ts."""

import json
import os
import statistics
import sys
import time

import mlx.core as mx
import numpy as np


def per_call(fn, count, rounds=5):
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            fn()
        samples.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(samples)


def tiny_ops():
    a = mx.array([1.0])
    b = mx.array([2.0])
    mx.eval(a, b)
    for _ in range(20000):
        mx.add(a, b)

    def add_eval():
        c = mx.add(a, b)
        mx.eval(c)

    return {"addGraphUs": per_call(lambda: mx.add(a, b), 50000), "addEvalUs": per_call(add_eval, 10000)}


def gflops(m, k, n, seconds):
    return 2 * m * k * n / seconds / 1e9


def mlx_gemm(m, k, n, repeats):
    x = mx.random.normal([m, k])
    w = mx.random.normal([k, n])
    mx.eval(x, w)
    for _ in range(2):
        mx.eval(x @ w)
    start = time.perf_counter()
    for _ in range(repeats):
        mx.eval(x @ w)
    return gflops(m, k, n, (time.perf_counter() - start) / repeats)


def numpy_gemm(m, k, n, repeats):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.standard_normal((k, n), dtype=np.float32)
    for _ in range(2):
        x @ w
    start = time.perf_counter()
    for _ in range(repeats):
        x @ w
    return gflops(m, k, n, (time.perf_counter() - start) / repeats)


def main():
    repeats = int(os.environ.get("GEMM_REPEATS", "10"))
    if sys.argv[1:] == ["numpy"]:
        result = {
            "peer": "numpy",
            "gemm1024": numpy_gemm(1024, 1024, 1024, repeats),
            "gemm16x2048x8192": numpy_gemm(16, 2048, 8192, repeats),
        }
    else:
        result = {
            "peer": "python-mlx",
            **tiny_ops(),
            "gemm1024": mlx_gemm(1024, 1024, 1024, repeats),
            "gemm16x2048x8192": mlx_gemm(16, 2048, 8192, repeats),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
