// Where a batched experiment and its naive loop may differ by more than float32 rounding.
//
// On the CPU a product computes each row alike, alone or in a batch, so the experiments' batched
// runs and the naive single-row passes differ only by float32 blocking (and not at all in bfloat16
// or float16). On an NVIDIA GPU MLX picks its kernel by shape: a matrix-vector kernel for one row,
// tiled kernels for many, and the same for its quantized products. A row computed in a batch and the
// same row computed alone then round differently: in float32 by a few ulps (with TF32 off, see
// float32-products.ts), but in bfloat16 and float16, where each layer rounds its output to 8 or 11
// significant bits, by an ulp of those dtypes at the activations' size, which the layers carry on to
// the logits. Measured on an H100 with the 4-bit fixtures (bfloat16): logit differences off by up to
// 9.8e-3, KL divergences by 1.1e-4, a steering vector's entries by 6.3e-2 (one bfloat16 ulp at 8-16).
import { type HookedModel, mx } from "mlux";

/** Whether the model computes in bfloat16 or float16 on a GPU (see the top of this file). */
export function halfOnGpu(hm: HookedModel): boolean {
  return mx.defaultDevice() === "gpu" && (hm.config.dtype === "bfloat16" || hm.config.dtype === "float16");
}

/** The relative size of one ulp of the model's compute dtype (2^-7 in bfloat16, 2^-10 in float16). */
export function relativeUlp(hm: HookedModel): number {
  if (hm.config.dtype === "bfloat16") return 2 ** -7;
  if (hm.config.dtype === "float16") return 2 ** -10;
  return 2 ** -23;
}

// A logit difference or a logit of these models (size 1 to 4): 2^-5 is two bfloat16 ulps at 2 to
// 4, three times the largest difference measured.
export const HALF_LOGIT_TOLERANCE = 2 ** -5;
// KL divergences from bfloat16 logits: 5e-4, four times the 1.1e-4 measured.
export const HALF_KL_TOLERANCE = 5e-4;
