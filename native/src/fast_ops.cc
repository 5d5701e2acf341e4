// Fused transformer kernels (mlx::core::fast): RMS and layer norm, rotary embeddings, scaled
// dot-product attention; and the gated MLP's silu(gate) * up compiled into one kernel.
#include <sstream>

#include "mlux.h"

namespace mlux {

// rmsNorm(x, weight?, eps)
MLUX_FN("rmsNorm", RmsNorm) {
  return Wrap(info.Env(), mx::fast::rms_norm(ArrayArg(info, 0), OptionalArrayArg(info, 1),
                                             static_cast<float>(NumberArg(info, 2, "eps"))));
}

// layerNorm(x, weight?, bias?, eps)
MLUX_FN("layerNorm", LayerNorm) {
  return Wrap(info.Env(), mx::fast::layer_norm(ArrayArg(info, 0), OptionalArrayArg(info, 1), OptionalArrayArg(info, 2),
                                               static_cast<float>(NumberArg(info, 3, "eps"))));
}

// rope(x, dims, traditional, base?, scale, offset?, offsetArray?, freqs?): the offset is a number
// (offset) or an Array (offsetArray); a bare JS number would read as a handle.
MLUX_FN("rope", Rope) {
  mx::array x = ArrayArg(info, 0);
  int dims = IntArg(info, 1, "dims");
  bool traditional = BoolArg(info, 2, false);
  auto base = OptionalNumberArg(info, 3, "base");
  std::optional<float> base_f = base ? std::optional<float>(static_cast<float>(*base)) : std::nullopt;
  float scale = static_cast<float>(NumberArg(info, 4, "scale"));
  auto freqs = OptionalArrayArg(info, 7);
  if (!IsMissing(info, 6)) {
    return Wrap(info.Env(), mx::fast::rope(x, dims, traditional, base_f, scale, ArrayArg(info, 6), freqs));
  }
  return Wrap(info.Env(), mx::fast::rope(x, dims, traditional, base_f, scale, IntArg(info, 5, "offset"), freqs));
}

// scaledDotProductAttention(q, k, v, scale, maskMode ("" | "causal" | "array"), mask?, sinks?)
MLUX_FN("scaledDotProductAttention", ScaledDotProductAttention) {
  mx::array q = ArrayArg(info, 0);
  mx::array k = ArrayArg(info, 1);
  mx::array v = ArrayArg(info, 2);
  if (k.ndim() == 4 && v.ndim() == 4) {
    // MLX divides by the number of key/value heads (SIGFPE when it is 0), and would report keys and
    // values of different lengths only as a matmul shape error.
    if (k.shape(1) == 0) {
      throw std::invalid_argument("[scaled_dot_product_attention] keys and values need at least one head");
    }
    if (k.shape(1) != v.shape(1) || k.shape(2) != v.shape(2)) {
      std::ostringstream out;
      out << "[scaled_dot_product_attention] keys and values must have the same number of heads and positions; "
          << "found keys shape " << k.shape() << " for values shape " << v.shape() << ".";
      throw std::invalid_argument(out.str());
    }
  }
  return Wrap(info.Env(), mx::fast::scaled_dot_product_attention(
                              q, k, v, static_cast<float>(NumberArg(info, 3, "scale")), StringArg(info, 4, "mask mode"),
                              OptionalArrayArg(info, 5), OptionalArrayArg(info, 6)));
}

namespace {

// silu(gate) * up with mlx.nn's formulas: gate * sigmoid(gate), then times up.
std::vector<mx::array> SiluGate(const std::vector<mx::array>& in) {
  const mx::array& gate = in[0];
  return {mx::multiply(mx::multiply(gate, mx::sigmoid(gate)), in[1])};
}

}  // namespace

// siluGate(gate, up, compiled): silu(gate) * up. Compiled, the three elementwise ops run as one
// kernel (as mlx-lm's compiled swiglu), reading gate and up once; the values are the same, each op
// rounding to the arrays' dtype. Uncompiled, they are the three ops.
MLUX_FN("siluGate", SiluGateFn) {
  std::vector<mx::array> in{ArrayArg(info, 0), ArrayArg(info, 1)};
  if (BoolArg(info, 2, false)) {
    static auto compiled = mx::compile(SiluGate, /* shapeless */ true);
    return Wrap(info.Env(), compiled(in)[0]);
  }
  return Wrap(info.Env(), SiluGate(in)[0]);
}

}  // namespace mlux
