// Reading JavaScript arguments into MLX values, with errors that say what was expected.
#include <cmath>

#include "mlux.h"

namespace mlux {

namespace {

// Same order as DTYPES in src/mx/dtype.ts.
const mx::Dtype kDtypes[] = {
    mx::bool_,   mx::uint8,   mx::uint16,  mx::uint32,   mx::uint64,   mx::int8,      mx::int16,
    mx::int32,   mx::int64,   mx::float16, mx::float32,  mx::float64,  mx::bfloat16,  mx::complex64,
};
constexpr int kDtypeCount = sizeof(kDtypes) / sizeof(kDtypes[0]);

[[noreturn]] void Fail(const Napi::CallbackInfo& info, const std::string& message) {
  throw Napi::TypeError::New(info.Env(), message);
}

bool IsIntegerValued(double v) { return std::isfinite(v) && std::trunc(v) == v; }

// A JS number alone: integers become int32 (like a Python int), others float32.
mx::array ScalarArray(double v) {
  if (IsIntegerValued(v) && v >= -2147483648.0 && v <= 2147483647.0) {
    return mx::array(static_cast<int32_t>(v));
  }
  return mx::array(static_cast<float>(v));
}

// A JS number combined with an array of dtype `d`: keep `d` where the value fits its kind.
mx::array WeakScalar(double v, mx::Dtype d) {
  // bfloat16 is not Kind::f in MLX, so ask for the category instead.
  if (mx::issubdtype(d, mx::inexact)) return mx::astype(mx::array(v), d);
  if (IsIntegerValued(v)) {
    if (d == mx::bool_) return mx::array(static_cast<int32_t>(v));
    return mx::astype(mx::array(static_cast<int64_t>(v)), d);
  }
  return mx::array(static_cast<float>(v));
}

}  // namespace

mx::Dtype DtypeFromCode(int code) {
  if (code < 0 || code >= kDtypeCount) {
    throw std::invalid_argument("unknown dtype code " + std::to_string(code));
  }
  return kDtypes[code];
}

int DtypeCode(mx::Dtype dtype) {
  for (int i = 0; i < kDtypeCount; ++i) {
    if (kDtypes[i] == dtype) return i;
  }
  throw std::invalid_argument("dtype not supported by mlux");
}

bool IsMissing(const Napi::CallbackInfo& info, size_t i) {
  return i >= info.Length() || info[i].IsUndefined() || info[i].IsNull();
}

mx::array ArrayArg(const Napi::CallbackInfo& info, size_t i, const mx::array* like) {
  if (i >= info.Length()) Fail(info, "missing array argument " + std::to_string(i));
  Napi::Value v = info[i];
  if (mx::array* handle = UnwrapIfHandle(info.Env(), v)) return *handle;
  // A JS number operand travels boxed as [value] (src/mx/operand.ts), since bare numbers are handles.
  if (v.IsArray() && v.As<Napi::Array>().Length() == 1) {
    Napi::Value boxed = v.As<Napi::Array>().Get(0u);
    if (boxed.IsNumber()) {
      double d = boxed.As<Napi::Number>().DoubleValue();
      return like ? WeakScalar(d, like->dtype()) : ScalarArray(d);
    }
  }
  if (v.IsBoolean()) return mx::array(v.As<Napi::Boolean>().Value());
  Fail(info, "argument " + std::to_string(i) + " must be an Array, a number or a boolean");
}

std::pair<mx::array, mx::array> OperandPair(const Napi::CallbackInfo& info, size_t i) {
  mx::array* a = i < info.Length() ? UnwrapIfHandle(info.Env(), info[i]) : nullptr;
  mx::array* b = i + 1 < info.Length() ? UnwrapIfHandle(info.Env(), info[i + 1]) : nullptr;
  if (a && b) return {*a, *b};
  if (a) return {*a, ArrayArg(info, i + 1, a)};
  if (b) return {ArrayArg(info, i, b), *b};
  return {ArrayArg(info, i), ArrayArg(info, i + 1)};
}

std::optional<mx::array> OptionalArrayArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return std::nullopt;
  return ArrayArg(info, i);
}

std::vector<mx::array> ArrayListArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) Fail(info, "expected a list of Arrays");
  auto list = info[i].As<Napi::Array>();
  std::vector<mx::array> out;
  out.reserve(list.Length());
  for (uint32_t k = 0; k < list.Length(); ++k) {
    Napi::Value v = list.Get(k);
    if (!IsHandle(v)) Fail(info, "element " + std::to_string(k) + " of the list is not an Array");
    out.push_back(Unwrap(v));
  }
  return out;
}

double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsNumber()) Fail(info, std::string(what) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

std::optional<double> OptionalNumberArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (IsMissing(info, i)) return std::nullopt;
  return NumberArg(info, i, what);
}

int IntArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  double v = NumberArg(info, i, what);
  if (!IsIntegerValued(v) || v < -2147483648.0 || v > 2147483647.0) {
    Fail(info, std::string(what) + " must be a 32-bit integer, got " + std::to_string(v));
  }
  return static_cast<int>(v);
}

std::optional<int> OptionalIntArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (IsMissing(info, i)) return std::nullopt;
  return IntArg(info, i, what);
}

bool BoolArg(const Napi::CallbackInfo& info, size_t i, bool fallback) {
  if (IsMissing(info, i)) return fallback;
  return info[i].ToBoolean().Value();
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsString()) Fail(info, std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<int> IntListArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length()) Fail(info, std::string(what) + " is missing");
  napi_env env = info.Env();
  napi_value list = info[i];
  auto check = [&](double d, size_t k) {
    if (!IsIntegerValued(d) || d < -2147483648.0 || d > 2147483647.0) {
      Fail(info, std::string(what) + " must hold only integers (element " + std::to_string(k) + " is not)");
    }
    return static_cast<int>(d);
  };
  if (auto packed = SlotValues(env, list, what)) {
    std::vector<int> out(packed->size());
    for (size_t k = 0; k < out.size(); ++k) out[k] = check((*packed)[k], k);
    return out;
  }
  if (info[i].IsNumber()) return {IntArg(info, i, what)};
  if (!info[i].IsArray()) Fail(info, std::string(what) + " must be a list of integers");
  // Plain Node-API calls, two per element (node-addon-api asks for the length and type again).
  uint32_t length = 0;
  NAPI_THROW_IF_FAILED(env, napi_get_array_length(env, list, &length), {});
  std::vector<int> out(length);
  for (uint32_t k = 0; k < length; ++k) {
    napi_value v;
    NAPI_THROW_IF_FAILED(env, napi_get_element(env, list, k, &v), {});
    double d;
    if (napi_get_value_double(env, v, &d) != napi_ok) d = NAN;
    out[k] = check(d, k);
  }
  return out;
}

mx::Shape ShapeArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  auto dims = IntListArg(info, i, what);
  return mx::Shape(dims.begin(), dims.end());
}

std::optional<std::vector<int>> AxesArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return std::nullopt;
  return IntListArg(info, i, "axis");
}

mx::Dtype DtypeArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) Fail(info, "dtype is missing");
  return DtypeFromCode(info[i].As<Napi::Number>().Int32Value());
}

std::optional<mx::Dtype> OptionalDtypeArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return std::nullopt;
  return DtypeArg(info, i);
}

Napi::Array ShapeToJs(Napi::Env env, const mx::Shape& shape) {
  napi_value out;
  NAPI_THROW_IF_FAILED(env, napi_create_array_with_length(env, shape.size(), &out), Napi::Array());
  for (size_t k = 0; k < shape.size(); ++k) {
    napi_value dim;
    NAPI_THROW_IF_FAILED(env, napi_create_int32(env, shape[k], &dim), Napi::Array());
    NAPI_THROW_IF_FAILED(env, napi_set_element(env, out, static_cast<uint32_t>(k), dim), Napi::Array());
  }
  return Napi::Array(env, out);
}

}  // namespace mlux
