// Imported first, for its effect, by tests whose tolerances are about float32 rounding: they compare
// float32 computations done in another order or shape (a batch against single rows, a decode step
// against the whole sequence, heads summed against the attention output, values recomputed by hand).
// On NVIDIA GPUs MLX computes float32 matrix products in TF32 (a 10-bit mantissa) unless
// MLX_ENABLE_TF32=0, read at the first product; with TF32 such checks measure TF32's rounding, 1e-4
// to 3e-2 on an H100, rather than the code. The oracle's Python inherits the setting. No effect on the
// CPU or on Metal.
process.env.MLX_ENABLE_TF32 ??= "0";
