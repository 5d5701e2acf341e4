// Automatic differentiation of JavaScript functions. MLX's transforms (vjp, jvp, value_and_grad)
// call the JS function synchronously on this thread with tracer arrays wrapped as handles; the
// function returns a JS array of handles, which are read back here. A JS exception thrown by the
// function travels through MLX as a C++ exception (Napi::Error, unwinding MLX's tracing state
// with it) and reaches the caller as the original JS error.
#include <functional>
#include <sstream>

#include "mlux.h"

namespace mlux {

namespace {

using ArraysFn = std::function<std::vector<mx::array>(const std::vector<mx::array>&)>;

Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsFunction()) throw Napi::TypeError::New(info.Env(), "expected a function");
  return info[i].As<Napi::Function>();
}

// The JS function `fn` (handles[] -> handles[]) as a function over MLX arrays.
ArraysFn CallingBack(Napi::Env env, Napi::Function fn) {
  return [env, fn](const std::vector<mx::array>& inputs) {
    Napi::HandleScope scope(env);
    Napi::Value result = fn.Call({WrapAll(env, inputs)});
    if (!result.IsArray()) throw Napi::TypeError::New(env, "the differentiated function must return Arrays");
    auto list = result.As<Napi::Array>();
    std::vector<mx::array> outputs;
    outputs.reserve(list.Length());
    for (uint32_t k = 0; k < list.Length(); ++k) {
      Napi::Value v = list.Get(k);
      if (!IsHandle(v)) {
        throw Napi::TypeError::New(env,
                                   "output " + std::to_string(k) + " of the differentiated function is not an Array");
      }
      outputs.push_back(Unwrap(v));
    }
    if (outputs.empty()) throw Napi::TypeError::New(env, "the differentiated function returned no Arrays");
    return outputs;
  };
}

Napi::Value Pair(Napi::Env env, const std::vector<mx::array>& first, const std::vector<mx::array>& second) {
  auto out = Napi::Array::New(env, 2);
  out.Set(0u, WrapAll(env, first));
  out.Set(1u, WrapAll(env, second));
  return out;
}

}  // namespace

// vjp(fn, primals[], cotangents[]) -> [outputs[], vjps[]]
MLUX_FN("vjp", Vjp) {
  auto fn = CallingBack(info.Env(), FunctionArg(info, 0));
  auto [outputs, vjps] = mx::vjp(fn, ArrayListArg(info, 1), ArrayListArg(info, 2));
  return Pair(info.Env(), outputs, vjps);
}

// jvp(fn, primals[], tangents[]) -> [outputs[], jvps[]]
MLUX_FN("jvp", Jvp) {
  auto fn = CallingBack(info.Env(), FunctionArg(info, 0));
  auto [outputs, jvps] = mx::jvp(fn, ArrayListArg(info, 1), ArrayListArg(info, 2));
  return Pair(info.Env(), outputs, jvps);
}

// valueAndGrad(fn, inputs[], argnums[]) -> [outputs[], grads[]]: the gradient of outputs[0], which
// must be a scalar, with respect to the inputs at argnums; later outputs are carried along.
MLUX_FN("valueAndGrad", ValueAndGrad) {
  auto fn = CallingBack(info.Env(), FunctionArg(info, 0));
  auto inputs = ArrayListArg(info, 1);
  auto argnums = IntListArg(info, 2, "argnums");
  // MLX would report this as a cotangent shape mismatch ("[vjp] Output shape (3) does not match
  // cotangent shape ()"); say what is wrong in the caller's terms instead.
  ArraysFn checked = [&fn](const std::vector<mx::array>& args) {
    auto outputs = fn(args);
    if (outputs[0].ndim() != 0) {
      std::ostringstream shape;
      shape << outputs[0].shape();
      throw std::invalid_argument("[grad] the function must return a scalar (a 0-d array) to take its gradient; its " +
                                  std::string("(first) output has shape ") + shape.str());
    }
    return outputs;
  };
  auto [outputs, grads] = mx::value_and_grad(checked, argnums)(inputs);
  return Pair(info.Env(), outputs, grads);
}

}  // namespace mlux
