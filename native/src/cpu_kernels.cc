// float32 CPU kernels of mlux's own, as MLX primitives: an exponential, silu(gate) · up, and a row
// softmax with the causal mask built in. libmlx's CPU exp runs one element at a time (25-36 ns an
// element in the Linux wheel); these evaluate a range-reduced polynomial that the compiler turns
// into SIMD code (a few ns an element), and the softmax skips the masked keys entirely.
//
// exp(x) = 2^n · exp(r), n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2]; exp(r) = 1 + r +
// r² q(r) with q a degree-5 polynomial fitted to (exp(r) - 1 - r) / r² (weighted least squares,
// relative error of exp about 1e-9 before float32 rounding). 2^n is built from its exponent bits as
// two factors, so results from the smallest subnormal up to FLT_MAX come out right.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>

#include "mlux.h"
#include "mlx/allocator.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/primitives.h"

namespace mlux {

namespace {

// The clones let one binary run on any x86-64 and use AVX2 and FMA where the processor has them
// (ifuncs, a GNU/Linux feature); elsewhere the portable code is compiled for the target's baseline.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define MLUX_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MLUX_SIMD_CLONES
#endif

inline float FromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint32_t ToBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

// exp of one float32, written without calls or branches so that loops over it vectorize.
__attribute__((always_inline)) inline float ExpF32(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  // ln 2 split so that n · kLn2Hi is exact for |n| < 2^9.
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  // Adding 1.5 · 2^23 rounds to an integer (round to nearest) and leaves it in the low mantissa bits.
  constexpr float kRound = 12582912.0f;
  constexpr float kOverflow = 88.7228394f;   // ln(FLT_MAX)
  constexpr float kUnderflow = -103.972084f;  // below ln of the smallest subnormal / 2: exp rounds to 0
  float xc = x > kOverflow ? kOverflow : x;
  xc = xc < kUnderflow ? kUnderflow : xc;
  float shifted = xc * kLog2e + kRound;
  float n = shifted - kRound;
  int32_t ni = static_cast<int32_t>(ToBits(shifted) - ToBits(kRound));
  float r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float q = 1.98256908e-4f;
  q = q * r + 1.39459572e-3f;
  q = q * r + 8.33343156e-3f;
  q = q * r + 4.16662730e-2f;
  q = q * r + 1.66666657e-1f;
  q = q * r + 0.5f;
  float p = 1.0f + r + r * r * q;
  // 2^n as 2^(n/2) · 2^(n - n/2): each half stays a normal float for n in [-150, 128].
  int32_t half = ni / 2;
  float scale1 = FromBits(static_cast<uint32_t>(half + 127) << 23);
  float scale2 = FromBits(static_cast<uint32_t>(ni - half + 127) << 23);
  float y = p * scale1 * scale2;
  y = x > kOverflow ? __builtin_inff() : y;
  y = x < kUnderflow ? 0.0f : y;
  return x != x ? x : y;  // NaN stays NaN
}

// Lanes per step of the loops below: a whole number of AVX2 (8) and SSE (4) registers, so the
// fixed inner loops vectorize at -O2 without a remainder.
constexpr int64_t kLanes = 16;

MLUX_SIMD_CLONES void ExpSpan(const float* __restrict in, float* __restrict out, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) out[i + l] = ExpF32(in[i + l]);
  }
  for (; i < n; ++i) out[i] = ExpF32(in[i]);
}

// silu(g) · u = g · u / (1 + exp(-g)): exp(-g) = inf for very negative g gives the limit 0.
__attribute__((always_inline)) inline float SiluGateF32(float g, float u) { return g * u / (1.0f + ExpF32(-g)); }

MLUX_SIMD_CLONES void SiluGateSpan(const float* __restrict gate, const float* __restrict up, float* __restrict out,
                                   int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) out[i + l] = SiluGateF32(gate[i + l], up[i + l]);
  }
  for (; i < n; ++i) out[i] = SiluGateF32(gate[i], up[i]);
}

// softmax(scale · in[0..visible)) into out[0..visible), zeros after it up to keys.
MLUX_SIMD_CLONES void SoftmaxRow(const float* __restrict in, float* __restrict out, int64_t visible, int64_t keys,
                                 float scale) {
  // Largest scaled score, in kLanes partial maxima (a float max reduction vectorizes only so).
  float partial[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) partial[l] = -__builtin_inff();
  int64_t j = 0;
  for (; j + kLanes <= visible; j += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) {
      float s = in[j + l] * scale;
      partial[l] = s > partial[l] ? s : partial[l];
    }
  }
  float largest = -__builtin_inff();
  for (; j < visible; ++j) largest = in[j] * scale > largest ? in[j] * scale : largest;
  for (int64_t l = 0; l < kLanes; ++l) largest = partial[l] > largest ? partial[l] : largest;
  // A row whose scores are all -inf has no largest finite score; subtracting 0 then gives 0 / 0 =
  // NaN, as a softmax of nothing but -inf is.
  if (largest == -__builtin_inff()) largest = 0.0f;

  for (int64_t l = 0; l < kLanes; ++l) partial[l] = 0.0f;
  j = 0;
  for (; j + kLanes <= visible; j += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) {
      float e = ExpF32(in[j + l] * scale - largest);
      out[j + l] = e;
      partial[l] += e;
    }
  }
  float sum = 0.0f;
  for (; j < visible; ++j) {
    out[j] = ExpF32(in[j] * scale - largest);
    sum += out[j];
  }
  for (int64_t l = 0; l < kLanes; ++l) sum += partial[l];
  float inverse = 1.0f / sum;
  for (j = 0; j + kLanes <= visible; j += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) out[j + l] *= inverse;
  }
  for (; j < visible; ++j) out[j] *= inverse;
  for (; j < keys; ++j) out[j] = 0.0f;
}

enum class Kernel { Exp, SiluGate, CausalSoftmax };

// The kernels' MLX primitive: one float32 output of the first input's shape, inputs row-contiguous
// (the ops below make them so).
class CpuKernel : public mx::UnaryPrimitive {
 public:
  CpuKernel(mx::Stream stream, Kernel kernel, int block = 0, int offset = 0, float scale = 1.0f)
      : mx::UnaryPrimitive(stream), kernel_(kernel), block_(block), offset_(offset), scale_(scale) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    out.set_data(mx::allocator::malloc(out.nbytes()));
    auto& encoder = mx::cpu::get_command_encoder(stream());
    for (const auto& in : inputs) encoder.set_input_array(in);
    encoder.set_output_array(out);
    const float* a = inputs[0].data<float>();
    const float* b = inputs.size() > 1 ? inputs[1].data<float>() : nullptr;
    float* o = out.data<float>();
    int64_t size = static_cast<int64_t>(out.size());
    int64_t keys = out.ndim() > 0 ? out.shape(-1) : 1;
    // MLX keeps the inputs alive until the dispatched work has run.
    encoder.dispatch([kernel = kernel_, block = block_, offset = offset_, scale = scale_, a, b, o, size, keys]() {
      switch (kernel) {
        case Kernel::Exp:
          ExpSpan(a, o, size);
          break;
        case Kernel::SiluGate:
          SiluGateSpan(a, b, o, size);
          break;
        case Kernel::CausalSoftmax:
          for (int64_t row = 0; row * keys < size; ++row) {
            int64_t visible = offset + row % block + 1;
            SoftmaxRow(a + row * keys, o + row * keys, visible, keys, scale);
          }
          break;
      }
    });
  }

  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error(std::string("[") + name() + "] runs on the CPU only; on a GPU use MLX's own ops.");
  }

  std::vector<mx::array> vjp(const std::vector<mx::array>&, const std::vector<mx::array>&, const std::vector<int>&,
                             const std::vector<mx::array>&) override {
    throw std::runtime_error(std::string("[") + name() + "] is not differentiable; use MLX's own ops for gradients.");
  }

  std::vector<mx::array> jvp(const std::vector<mx::array>&, const std::vector<mx::array>&,
                             const std::vector<int>&) override {
    throw std::runtime_error(std::string("[") + name() + "] is not differentiable; use MLX's own ops for gradients.");
  }

  const char* name() const override {
    switch (kernel_) {
      case Kernel::Exp:
        return "CpuExp";
      case Kernel::SiluGate:
        return "CpuSiluGate";
      default:
        return "CpuCausalSoftmax";
    }
  }

  bool is_equivalent(const mx::Primitive& other) const override {
    const auto* that = dynamic_cast<const CpuKernel*>(&other);
    return that != nullptr && that->kernel_ == kernel_ && that->block_ == block_ && that->offset_ == offset_ &&
           that->scale_ == scale_;
  }

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override { return {inputs[0].shape()}; }

 private:
  Kernel kernel_;
  int block_;
  int offset_;
  float scale_;
};

mx::Stream CpuStream(const char* op) {
  mx::Stream stream = mx::default_stream(mx::default_device());
  if (stream.device != mx::Device::cpu) {
    throw std::invalid_argument(std::string("[") + op +
                                "] runs on the CPU only; the default device is the GPU (set it to the CPU, or use "
                                "MLX's own ops there).");
  }
  return stream;
}

void CheckFloat32(const char* op, const char* what, const mx::array& a) {
  if (a.dtype() != mx::float32) {
    std::ostringstream out;
    out << "[" << op << "] " << what << " must be float32; got " << a.dtype() << ".";
    throw std::invalid_argument(out.str());
  }
}

mx::array Output(mx::Stream stream, const mx::array& like, Kernel kernel, std::vector<mx::array> inputs, int block = 0,
                 int offset = 0, float scale = 1.0f) {
  for (auto& in : inputs) in = mx::contiguous(in, false, stream);
  return mx::array(like.shape(), mx::float32, std::make_shared<CpuKernel>(stream, kernel, block, offset, scale),
                   std::move(inputs));
}

}  // namespace

// cpuExp(x): exp of float32 x on the CPU, within a few ulp (test/mx/cpu-kernels.test.ts).
MLUX_FN("cpuExp", CpuExp) {
  mx::array x = ArrayArg(info, 0);
  mx::Stream stream = CpuStream("cpu_exp");
  CheckFloat32("cpu_exp", "x", x);
  return Wrap(info.Env(), Output(stream, x, Kernel::Exp, {x}));
}

// cpuSiluGate(gate, up): silu(gate) · up of two float32 arrays of one shape, in one pass.
MLUX_FN("cpuSiluGate", CpuSiluGate) {
  mx::array gate = ArrayArg(info, 0);
  mx::array up = ArrayArg(info, 1);
  mx::Stream stream = CpuStream("cpu_silu_gate");
  CheckFloat32("cpu_silu_gate", "gate", gate);
  CheckFloat32("cpu_silu_gate", "up", up);
  if (gate.shape() != up.shape()) {
    std::ostringstream out;
    out << "[cpu_silu_gate] gate and up must have the same shape; got " << gate.shape() << " and " << up.shape()
        << ".";
    throw std::invalid_argument(out.str());
  }
  return Wrap(info.Env(), Output(stream, gate, Kernel::SiluGate, {gate, up}));
}

// cpuCausalSoftmax(scores, block, offset, scale): softmax over the last axis of scale · scores
// [..., R, K] (float32), where row r is the query at position offset + (r mod block) and sees keys 0
// to that position; the keys after it get exactly 0. R a multiple of block; offset + block <= K.
MLUX_FN("cpuCausalSoftmax", CpuCausalSoftmax) {
  mx::array scores = ArrayArg(info, 0);
  int block = IntArg(info, 1, "block");
  int offset = IntArg(info, 2, "offset");
  double scale = NumberArg(info, 3, "scale");
  mx::Stream stream = CpuStream("cpu_causal_softmax");
  CheckFloat32("cpu_causal_softmax", "scores", scores);
  std::ostringstream out;
  out << "[cpu_causal_softmax] ";
  if (scores.ndim() < 2) {
    out << "scores need at least 2 axes [..., rows, keys]; got shape " << scores.shape() << ".";
  } else if (block < 1 || scores.shape(-2) % block != 0) {
    out << "block must be a positive divisor of the rows (" << scores.shape(-2) << "); got " << block << ".";
  } else if (offset < 0 || static_cast<int64_t>(offset) + block > scores.shape(-1)) {
    out << "offset must be >= 0 with offset + block (" << block << ") at most the keys (" << scores.shape(-1)
        << "); got offset " << offset << ".";
  } else if (!std::isfinite(static_cast<float>(scale)) || static_cast<float>(scale) == 0.0f) {
    out << "scale must be a nonzero number within float32's range; got " << scale << ".";
  } else {
    return Wrap(info.Env(),
                Output(stream, scores, Kernel::CausalSoftmax, {scores}, block, offset, static_cast<float>(scale)));
  }
  throw std::invalid_argument(out.str());
}

}  // namespace mlux
