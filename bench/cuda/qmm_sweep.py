"""MLX's quantized matrix product on the GPU against the CPU, by rows M and inputs per row K (float32
activations, 4-bit affine weights, group 64), three runs each. With Python MLX alone this shows that
MLX 0.32.4's CUDA kernel is wrong, and differs from run to run, when K is 64 and M is 4 to 20 (see
BENCHMARKS.md, "CUDA, 2026-12-06 (second run)"); src/mx/quantize.ts computes such products on the
unpacked weight instead. The first call of each new kernel compiles it with NVRTC, which takes up to a
minute. Prints one JSON line per (K, M); then the same for gather_qmm (mixture-of-experts layers:
four experts, each row's expert chosen by rhs_indices), which mlux does not yet work around.

  python bench/cuda/qmm_sweep.py
"""

import json
import time

import mlx.core as mx
import numpy as np

start = time.time()


def report(op, inputs, rows, compute):
    """Prints how `compute` on the default device (three runs) compares with it on the CPU."""
    with mx.stream(mx.cpu):
        reference = np.array(compute())
    runs = [np.array(compute()) for _ in range(3)]
    print(json.dumps({
        "op": op,
        "K": inputs,
        "M": rows,
        "relative_error_vs_cpu": float(np.linalg.norm(runs[0] - reference) / np.linalg.norm(reference)),
        "largest_difference_between_runs": max(float(np.max(np.abs(r - runs[0]))) for r in runs[1:]),
        "seconds": round(time.time() - start, 1),
    }), flush=True)


for inputs in (64, 128, 256, 1024):
    with mx.stream(mx.cpu):
        weight, scales, biases = mx.quantize(mx.random.normal((512, inputs), key=mx.random.key(inputs)), group_size=64, bits=4)
        mx.eval(weight, scales, biases)
    for rows in (1, 4, 8, 12, 16, 20, 32, 64):
        x = mx.random.normal((rows, inputs), key=mx.random.key(rows))
        report("quantized_matmul", inputs, rows, lambda: mx.quantized_matmul(
            x, weight, scales, biases, transpose=True, group_size=64, bits=4))

# gather_qmm, as a mixture-of-experts layer calls it: x [M, 1, 1, K], every row to one of 4 experts.
for inputs in (64, 128, 256):
    with mx.stream(mx.cpu):
        experts = mx.random.normal((4, 512, inputs), key=mx.random.key(inputs + 1))
        weight, scales, biases = mx.quantize(experts, group_size=64, bits=4)
        mx.eval(weight, scales, biases)
    for rows in (1, 4, 8, 16, 32):
        x = mx.random.normal((rows, 1, 1, inputs), key=mx.random.key(rows + 1))
        chosen = (mx.arange(rows) % 4).reshape(rows, 1)
        report("gather_qmm", inputs, rows, lambda: mx.gather_qmm(
            x, weight, scales, biases, rhs_indices=chosen, transpose=True, group_size=64, bits=4))
