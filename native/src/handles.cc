#include "mlux.h"

namespace mlux {

namespace {

struct Box {
  std::optional<mx::array> array;
  int64_t bytes = 0;
};

void Release(napi_env env, Box* box) {
  if (!box->array) return;
  int64_t ignored;
  napi_adjust_external_memory(env, -box->bytes, &ignored);
  box->array.reset();
}

Box* BoxOf(const Napi::Value& v) {
  if (!v.IsExternal()) {
    throw Napi::TypeError::New(v.Env(), "expected an mlux Array");
  }
  return v.As<Napi::External<Box>>().Data();
}

}  // namespace

Napi::Value Wrap(Napi::Env env, mx::array a) {
  auto* box = new Box{std::move(a), 0};
  box->bytes = static_cast<int64_t>(box->array->nbytes());
  int64_t ignored;
  napi_adjust_external_memory(env, box->bytes, &ignored);
  return Napi::External<Box>::New(env, box, [](Napi::Env env, Box* b) {
    Release(env, b);
    delete b;
  });
}

Napi::Value WrapAll(Napi::Env env, const std::vector<mx::array>& arrays) {
  auto out = Napi::Array::New(env, arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) out.Set(i, Wrap(env, arrays[i]));
  return out;
}

bool IsHandle(const Napi::Value& v) { return v.IsExternal(); }

mx::array& Unwrap(const Napi::Value& v) {
  Box* box = BoxOf(v);
  if (!box->array) {
    throw Napi::Error::New(v.Env(), "this Array was disposed; it can no longer be read or used");
  }
  return *box->array;
}

MLUX_FN("dispose", Dispose) {
  Release(info.Env(), BoxOf(info[0]));
  return info.Env().Undefined();
}

MLUX_FN("isDisposed", IsDisposed) {
  return Napi::Boolean::New(info.Env(), !BoxOf(info[0])->array.has_value());
}

}  // namespace mlux
