"""MLX 0.32.4's CUDA quantized matrix product is wrong, and differs from run to run, when x has more
than one row and fewer than 128 elements per row (bench/cuda/qmm_sweep.py shows it with MLX alone).
mlux computes those products on the unpacked weight (src/mx/quantize.ts); so that the oracle on a
GPU is mlx-lm's model computed right, install() makes mlx.core.quantized_matmul, which mlx-lm's
quantized layers call, do the same there, with the same ops. Nothing changes on the CPU."""

import mlx.core as mx

_kernel = mx.quantized_matmul


def _wrong_on_cuda(x) -> bool:
    inputs = x.shape[-1] if x.ndim else 0
    return inputs < 128 and x.size // max(inputs, 1) > 1


def _quantized_matmul(x, w, scales, biases=None, transpose=True, group_size=None, bits=None, mode="affine", **kw):
    if mx.default_device() == mx.gpu and _wrong_on_cuda(x):
        unpacked = mx.dequantize(w, scales, biases, group_size, bits, mode, dtype=x.dtype, **kw)
        return mx.matmul(x, mx.swapaxes(unpacked, -1, -2) if transpose else unpacked, **kw)
    return _kernel(x, w, scales, biases, transpose, group_size, bits, mode, **kw)


def install() -> None:
    if mx.cuda.is_available():
        mx.quantized_matmul = _quantized_matmul
