// Random numbers from MLX's counter-based PRNG (threefry). Every sampler takes an optional key
// (a uint32 array of shape [2]); without one it draws the next key of MLX's global sequence,
// which mx.random.seed() resets, so seeded runs match Python MLX's.
#include <unistd.h>

#include <cmath>
#include <sstream>

#include "mlux.h"

namespace mlux {

namespace {

std::optional<mx::array> KeyArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return std::nullopt;
  if (!IsHandle(info[i])) throw Napi::TypeError::New(info.Env(), "key must be an Array made by mx.random.key()");
  return Unwrap(info[i]);
}

// A seed: a non-negative integer number (up to 2^53) or bigint (up to 2^64 - 1).
uint64_t SeedArg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = i < info.Length() ? info[i] : info.Env().Undefined();
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t seed = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(info.Env(), "seed must be an integer in [0, 2^64)");
    return seed;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isfinite(d) && std::trunc(d) == d && d >= 0 && d <= 9007199254740991.0) return static_cast<uint64_t>(d);
  }
  throw Napi::RangeError::New(info.Env(), "seed must be a non-negative integer (a number up to 2^53, or a bigint)");
}

// A JS number boxed as [value] (src/mx/operand.ts boxes numbers, since bare numbers are handles).
std::optional<double> BoxedNumber(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) return std::nullopt;
  auto box = info[i].As<Napi::Array>();
  if (box.Length() != 1 || !box.Get(0u).IsNumber()) return std::nullopt;
  return box.Get(0u).As<Napi::Number>().DoubleValue();
}

// A floating parameter (loc, scale, p, bounds): a JS number becomes a scalar of `dtype`, an Array
// is used as it is.
mx::array FloatParam(const Napi::CallbackInfo& info, size_t i, mx::Dtype dtype, const char* what) {
  if (auto value = BoxedNumber(info, i)) return mx::array(*value, dtype);
  if (i < info.Length() && IsHandle(info[i])) return Unwrap(info[i]);
  throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number or an Array");
}

// MLX's CPU backend segfaults when an allocation fails during evaluation (the kernel writes to the
// buffer it did not get), so a sample that cannot fit in this machine's memory is refused here,
// before anything is scheduled. `scale` counts the larger temporaries a sampler makes per output
// element (categorical draws noise for every class).
Napi::Value WrapSample(Napi::Env env, mx::array out, double scale = 1) {
  long double bytes = static_cast<long double>(out.itemsize()) * scale;
  for (auto d : out.shape()) bytes *= d;
  static const long double memory = static_cast<long double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  if (bytes > memory) {
    std::ostringstream message;
    message << "[random] a sample of shape " << out.shape() << " needs " << static_cast<double>(bytes)
            << " bytes, more than this machine's memory (" << static_cast<double>(memory) << " bytes)";
    throw std::invalid_argument(message.str());
  }
  return Wrap(env, std::move(out));
}

std::optional<mx::Shape> OptionalShapeArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return std::nullopt;
  return ShapeArg(info, i, "shape");
}

}  // namespace

MLUX_FN("randomKey", RandomKey) { return Wrap(info.Env(), mx::random::key(SeedArg(info, 0))); }

MLUX_FN("randomSeed", RandomSeed) {
  mx::random::seed(SeedArg(info, 0));
  return info.Env().Undefined();
}

// randomSplit(key, num) -> array of num keys, shape [num, 2]
MLUX_FN("randomSplit", RandomSplit) {
  return WrapSample(info.Env(), mx::random::split(ArrayArg(info, 0), IntArg(info, 1, "num")));
}

// randomUniform(low, high, shape, dtype, key?)
MLUX_FN("randomUniform", RandomUniform) {
  mx::array low = FloatParam(info, 0, mx::float32, "low");
  mx::array high = FloatParam(info, 1, mx::float32, "high");
  return WrapSample(info.Env(),
                    mx::random::uniform(low, high, ShapeArg(info, 2, "shape"), DtypeArg(info, 3), KeyArg(info, 4)));
}

// randomNormal(shape, dtype, loc?, scale?, key?)
MLUX_FN("randomNormal", RandomNormal) {
  auto dtype = DtypeArg(info, 1);
  std::optional<mx::array> loc, scale;
  if (!IsMissing(info, 2)) loc = FloatParam(info, 2, dtype, "loc");
  if (!IsMissing(info, 3)) scale = FloatParam(info, 3, dtype, "scale");
  return WrapSample(info.Env(),
                    mx::random::normal(ShapeArg(info, 0, "shape"), dtype, loc, scale, KeyArg(info, 4)));
}

// randomRandint(low, high, shape, dtype, key?)
MLUX_FN("randomRandint", RandomRandint) {
  return WrapSample(info.Env(), mx::random::randint(ArrayArg(info, 0), ArrayArg(info, 1), ShapeArg(info, 2, "shape"),
                                                    DtypeArg(info, 3), KeyArg(info, 4)));
}

// randomBernoulli(p, shape?, key?): without a shape, p's shape.
MLUX_FN("randomBernoulli", RandomBernoulli) {
  mx::array p = FloatParam(info, 0, mx::float32, "p");
  auto shape = OptionalShapeArg(info, 1);
  auto key = KeyArg(info, 2);
  return WrapSample(info.Env(), shape ? mx::random::bernoulli(p, *shape, key) : mx::random::bernoulli(p, key));
}

// randomTruncatedNormal(lower, upper, shape?, dtype, key?)
MLUX_FN("randomTruncatedNormal", RandomTruncatedNormal) {
  auto dtype = DtypeArg(info, 3);
  mx::array lower = FloatParam(info, 0, mx::float32, "lower");
  mx::array upper = FloatParam(info, 1, mx::float32, "upper");
  auto shape = OptionalShapeArg(info, 2);
  auto key = KeyArg(info, 4);
  return WrapSample(info.Env(), shape ? mx::random::truncated_normal(lower, upper, *shape, dtype, key)
                                      : mx::random::truncated_normal(lower, upper, dtype, key));
}

// randomGumbel(shape, dtype, key?)
MLUX_FN("randomGumbel", RandomGumbel) {
  return WrapSample(info.Env(),
                    mx::random::gumbel(ShapeArg(info, 0, "shape"), DtypeArg(info, 1), KeyArg(info, 2)));
}

// randomLaplace(shape, dtype, loc, scale, key?)
MLUX_FN("randomLaplace", RandomLaplace) {
  return WrapSample(info.Env(), mx::random::laplace(ShapeArg(info, 0, "shape"), DtypeArg(info, 1),
                                                    static_cast<float>(NumberArg(info, 2, "loc")),
                                                    static_cast<float>(NumberArg(info, 3, "scale")), KeyArg(info, 4)));
}

// randomCategorical(logits, axis, shape?, numSamples?, key?)
MLUX_FN("randomCategorical", RandomCategorical) {
  mx::array logits = ArrayArg(info, 0);
  int axis = IntArg(info, 1, "axis");
  auto shape = OptionalShapeArg(info, 2);
  auto num_samples = OptionalIntArg(info, 3, "numSamples");
  auto key = KeyArg(info, 4);
  if (shape && num_samples) throw std::invalid_argument("[categorical] give at most one of shape and numSamples");
  int ndim = static_cast<int>(logits.ndim());
  int class_axis = axis < 0 ? axis + ndim : axis;
  // A bad axis is left to MLX, which reports it.
  double classes = class_axis >= 0 && class_axis < ndim ? logits.shape(class_axis) : 1;
  if (shape) return WrapSample(info.Env(), mx::random::categorical(logits, axis, *shape, key), classes);
  if (num_samples) {
    if (*num_samples < 1) throw std::invalid_argument("[categorical] numSamples must be at least 1");
    return WrapSample(info.Env(), mx::random::categorical(logits, axis, *num_samples, key), classes);
  }
  return WrapSample(info.Env(), mx::random::categorical(logits, axis, key), classes);
}

// randomMultivariateNormal(mean, cov, shape, dtype, key?)
MLUX_FN("randomMultivariateNormal", RandomMultivariateNormal) {
  return WrapSample(info.Env(), mx::random::multivariate_normal(ArrayArg(info, 0), ArrayArg(info, 1),
                                                                ShapeArg(info, 2, "shape"), DtypeArg(info, 3),
                                                                KeyArg(info, 4)));
}

// randomPermutation(x, axis, key?): x a boxed integer [n] (a permutation of arange(n)) or an Array
// whose entries along `axis` are shuffled.
MLUX_FN("randomPermutation", RandomPermutation) {
  auto key = KeyArg(info, 2);
  if (auto boxed = BoxedNumber(info, 0)) {
    double n = *boxed;
    if (std::trunc(n) != n || n < -2147483648.0 || n > 2147483647.0) {
      throw Napi::TypeError::New(info.Env(), "[permutation] the length must be a 32-bit integer");
    }
    int count = static_cast<int>(n);
    if (count < 0) {
      throw std::invalid_argument("[permutation] the length must be non-negative, got " + std::to_string(count));
    }
    return WrapSample(info.Env(), mx::random::permutation(count, key));
  }
  mx::array x = ArrayArg(info, 0);
  int axis = IntArg(info, 1, "axis");
  int ndim = static_cast<int>(x.ndim());
  // MLX indexes the shape without a bounds check here (it reports "SmallVector out of range").
  if (axis < -ndim || axis >= ndim) {
    throw std::invalid_argument("[permutation] axis " + std::to_string(axis) + " is out of range for an array with " +
                                std::to_string(ndim) + " dimensions");
  }
  return WrapSample(info.Env(), mx::random::permutation(x, axis, key));
}

}  // namespace mlux
