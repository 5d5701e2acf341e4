// Quantization: packing weights into affine / mxfp4 / nvfp4 / mxfp8 groups, unpacking them, and
// the matrix products that read packed weights directly.
#include <sstream>

#include "mlux.h"

namespace mlux {

namespace {

// MLX divides by these before checking them in some paths (SIGFPE on 0), so refuse non-positive
// values here; MLX's own messages cover the unsupported positive ones.
void CheckPositive(std::optional<int> value, const char* what, const char* op) {
  if (value && *value <= 0) {
    throw std::invalid_argument(std::string("[") + op + "] " + what + " must be positive, got " +
                                std::to_string(*value));
  }
}

// MLX's quantized and gathered matmul kernels divide by operand sizes and die with SIGFPE when an
// operand is empty. With an empty operand the product is empty, or all zeros when the contracted
// axis is what is empty; anything else means products with matrices of an empty stack.
mx::array EmptySafeProduct(const mx::array& out, const mx::array& x, const mx::array& w, const char* op) {
  if (x.size() != 0 && w.size() != 0) return out;
  if (out.size() == 0 || x.shape(-1) == 0) return mx::zeros(out.shape(), out.dtype());
  std::ostringstream message;
  message << "[" << op << "] cannot take products with an empty stack of quantized matrices (w has shape "
          << w.shape() << ", x has shape " << x.shape() << ")";
  throw std::invalid_argument(message.str());
}

}  // namespace

// quantize(w, groupSize?, bits?, mode, globalScale?) -> [wq, scales] or [wq, scales, biases]
MLUX_FN("quantize", Quantize) {
  auto group_size = OptionalIntArg(info, 1, "groupSize");
  auto bits = OptionalIntArg(info, 2, "bits");
  CheckPositive(group_size, "group size", "quantize");
  CheckPositive(bits, "bits", "quantize");
  return WrapAll(info.Env(), mx::quantize(ArrayArg(info, 0), group_size, bits, StringArg(info, 3, "mode"),
                                          OptionalArrayArg(info, 4)));
}

// dequantize(wq, scales, biases?, groupSize?, bits?, mode, globalScale?, dtype?)
MLUX_FN("dequantize", Dequantize) {
  auto group_size = OptionalIntArg(info, 3, "groupSize");
  auto bits = OptionalIntArg(info, 4, "bits");
  CheckPositive(group_size, "group size", "dequantize");
  CheckPositive(bits, "bits", "dequantize");
  return Wrap(info.Env(),
              mx::dequantize(ArrayArg(info, 0), ArrayArg(info, 1), OptionalArrayArg(info, 2), group_size, bits,
                             StringArg(info, 5, "mode"), OptionalArrayArg(info, 6), OptionalDtypeArg(info, 7)));
}

// quantizedMatmul(x, wq, scales, biases?, transpose, groupSize?, bits?, mode)
MLUX_FN("quantizedMatmul", QuantizedMatmul) {
  mx::array x = ArrayArg(info, 0);
  mx::array w = ArrayArg(info, 1);
  auto group_size = OptionalIntArg(info, 5, "groupSize");
  auto bits = OptionalIntArg(info, 6, "bits");
  CheckPositive(group_size, "group size", "quantized_matmul");
  CheckPositive(bits, "bits", "quantized_matmul");
  mx::array out = mx::quantized_matmul(x, w, ArrayArg(info, 2), OptionalArrayArg(info, 3), BoolArg(info, 4, true),
                                       group_size, bits, StringArg(info, 7, "mode"));
  return Wrap(info.Env(), EmptySafeProduct(out, x, w, "quantized_matmul"));
}

// gatherQmm(x, wq, scales, biases?, lhsIndices?, rhsIndices?, transpose, groupSize?, bits?, mode,
//           globalScale?, sortedIndices)
MLUX_FN("gatherQmm", GatherQmm) {
  mx::array x = ArrayArg(info, 0);
  mx::array w = ArrayArg(info, 1);
  auto group_size = OptionalIntArg(info, 7, "groupSize");
  auto bits = OptionalIntArg(info, 8, "bits");
  CheckPositive(group_size, "group size", "gather_qmm");
  CheckPositive(bits, "bits", "gather_qmm");
  auto lhs = OptionalArrayArg(info, 4);
  auto rhs = OptionalArrayArg(info, 5);
  mx::array out = mx::gather_qmm(x, w, ArrayArg(info, 2), OptionalArrayArg(info, 3), lhs, rhs, BoolArg(info, 6, true),
                                 group_size, bits, StringArg(info, 9, "mode"), OptionalArrayArg(info, 10),
                                 BoolArg(info, 11, false));
  // The kernel reads whatever matrix an index names, in range or not.
  if (lhs) RequireIndicesBelow(*lhs, BatchCount(x), "gather_qmm", "lhsIndices");
  if (rhs) RequireIndicesBelow(*rhs, BatchCount(w), "gather_qmm", "rhsIndices");
  return Wrap(info.Env(), EmptySafeProduct(out, x, w, "gather_qmm"));
}

// toFp8(x): E4M3 float8 bit patterns as uint8.
MLUX_FN("toFp8", ToFp8) { return Wrap(info.Env(), mx::to_fp8(ArrayArg(info, 0))); }

// fromFp8(x, dtype): E4M3 bit patterns (uint8) to a floating dtype.
MLUX_FN("fromFp8", FromFp8) { return Wrap(info.Env(), mx::from_fp8(ArrayArg(info, 0), DtypeArg(info, 1))); }

}  // namespace mlux
