// List slots: short integer lists (shapes, axes, slice bounds) cross between JavaScript and the
// addon in a buffer both hold, rather than as JS arrays (see mlux.h). Reading a JS array costs two
// Node-API calls per element, and a decode step passes a few hundred short lists.
#include "mlux.h"

namespace mlux {

namespace {

// The buffer made for the thread that uses the addon now (a thread that loads it later makes its
// own). Its memory stays put: an ArrayBuffer's backing store never moves.
double* slots = nullptr;

// Shapes come back in slot 0, as [count, dims...].
double* ShapeSlot() { return slots; }

}  // namespace

Napi::ArrayBuffer MakeListSlots(Napi::Env env) {
  auto buffer = Napi::ArrayBuffer::New(env, kListSlots * kListSlotLength * sizeof(double));
  slots = static_cast<double*>(buffer.Data());
  return buffer;
}

std::optional<std::vector<double>> SlotValues(napi_env env, napi_value v, const char* what) {
  bool typed = false;
  if (slots == nullptr || napi_is_typedarray(env, v, &typed) != napi_ok || !typed) return std::nullopt;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr), std::nullopt);
  auto* at = static_cast<double*>(data);
  bool ours = type == napi_float64_array && length == kListSlotLength && at >= slots &&
              at < slots + kListSlots * kListSlotLength && (at - slots) % kListSlotLength == 0;
  if (!ours) throw Napi::TypeError::New(env, std::string(what) + " must be a list of integers");
  double count = at[0];
  if (!(count >= 0 && count < kListSlotLength) || count != static_cast<size_t>(count)) {
    throw Napi::RangeError::New(env, std::string(what) + ": a list slot holds up to 63 values");
  }
  return std::vector<double>(at + 1, at + 1 + static_cast<size_t>(count));
}

// shapeToSlot(handle): writes the array's shape into slot 0 and returns its number of
// dimensions; -1 when the shape does not fit a slot (then read it with shape()).
MLUX_FN("shapeToSlot", ShapeToSlot) {
  const mx::array& a = Unwrap(info[0]);
  if (slots == nullptr || a.ndim() >= kListSlotLength) return Napi::Number::New(info.Env(), -1);
  double* out = ShapeSlot();
  out[0] = static_cast<double>(a.ndim());
  for (size_t d = 0; d < a.ndim(); ++d) out[d + 1] = a.shape(d);
  return Napi::Number::New(info.Env(), static_cast<double>(a.ndim()));
}

}  // namespace mlux
