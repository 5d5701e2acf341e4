// Fused transformer kernels (mlx::core::fast): RMS and layer norm, rotary embeddings, scaled
// dot-product attention; and mlx.nn's activations, compiled into one kernel each on a GPU.
#include <cmath>
#include <functional>
#include <iterator>
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

// mlx.nn's activations with its formulas, op for op, their constants made as Python scalars join an
// array (float32 values stored in the array's dtype). mlx.nn compiles each one, so that on a GPU its
// elementwise ops run as one kernel, which rounds differently from the ops run one by one: here too
// they are compiled on the GPU (the values are then mlx-lm's), and run op by op on the CPU (where
// compiling starts a C++ compiler, and the values are the same either way).
using Ops = std::vector<mx::array> (*)(const std::vector<mx::array>&);

mx::array Constant(double value, const mx::array& like) { return mx::array(static_cast<float>(value), like.dtype()); }

// x · σ(x)
std::vector<mx::array> Silu(const std::vector<mx::array>& in) { return {mx::multiply(in[0], mx::sigmoid(in[0]))}; }

// x · (1 + erf(x / √2)) / 2
std::vector<mx::array> Gelu(const std::vector<mx::array>& in) {
  const mx::array& x = in[0];
  auto erf = mx::erf(mx::divide(x, Constant(std::sqrt(2.0), x)));
  return {mx::divide(mx::multiply(x, mx::add(Constant(1, x), erf)), Constant(2, x))};
}

// 0.5 x · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
std::vector<mx::array> GeluApprox(const std::vector<mx::array>& in) {
  const mx::array& x = in[0];
  auto cubic = mx::add(x, mx::multiply(Constant(0.044715, x), mx::power(x, Constant(3, x))));
  auto tanh = mx::tanh(mx::multiply(Constant(std::sqrt(2.0 / M_PI), x), cubic));
  return {mx::multiply(mx::multiply(Constant(0.5, x), x), mx::add(Constant(1, x), tanh))};
}

// x · σ(1.702 x)
std::vector<mx::array> GeluFastApprox(const std::vector<mx::array>& in) {
  const mx::array& x = in[0];
  return {mx::multiply(x, mx::sigmoid(mx::multiply(Constant(1.702, x), x)))};
}

// max(x, 0)²
std::vector<mx::array> Relu2(const std::vector<mx::array>& in) {
  return {mx::square(mx::maximum(in[0], Constant(0, in[0])))};
}

// silu(gate) · up, mlx-lm's swiglu: gate · σ(gate), then times up.
std::vector<mx::array> SiluGate(const std::vector<mx::array>& in) { return {mx::multiply(Silu({in[0]})[0], in[1])}; }

struct Activation {
  const char* name;
  Ops ops;
  size_t inputs;
};

constexpr Activation kActivations[] = {{"silu", Silu, 1},
                                       {"gelu", Gelu, 1},
                                       {"gelu_approx", GeluApprox, 1},
                                       {"gelu_fast_approx", GeluFastApprox, 1},
                                       {"relu2", Relu2, 1},
                                       {"silu_gate", SiluGate, 2}};

// Each activation compiled once, on first use (shapeless: one compiled function for every shape).
std::vector<mx::array> RunCompiled(size_t index, const std::vector<mx::array>& in) {
  static std::vector<std::function<std::vector<mx::array>(const std::vector<mx::array>&)>> compiled(
      std::size(kActivations));
  if (!compiled[index]) compiled[index] = mx::compile(kActivations[index].ops, /* shapeless */ true);
  return compiled[index](in);
}

}  // namespace

// activation(name, compiled, x, up?): one of kActivations ("silu_gate" takes up as well), compiled
// into one kernel or run op by op.
MLUX_FN("activation", ActivationFn) {
  std::string name = StringArg(info, 0, "activation");
  for (size_t i = 0; i < std::size(kActivations); ++i) {
    const Activation& activation = kActivations[i];
    if (name != activation.name) continue;
    std::vector<mx::array> in;
    for (size_t j = 0; j < activation.inputs; ++j) in.push_back(ArrayArg(info, 2 + j));
    return Wrap(info.Env(), (BoolArg(info, 1, false) ? RunCompiled(i, in) : activation.ops(in))[0]);
  }
  throw Napi::TypeError::New(info.Env(), "unknown activation \"" + name + "\"");
}

}  // namespace mlux
