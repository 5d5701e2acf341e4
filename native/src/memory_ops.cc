// MLX's allocator figures and limits (bytes), and the default device.
#include <cmath>

#include "mlux.h"

namespace mlux {

namespace {

Napi::Value Bytes(Napi::Env env, size_t bytes) { return Napi::Number::New(env, static_cast<double>(bytes)); }

size_t BytesArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  double v = NumberArg(info, i, what);
  if (!std::isfinite(v) || v < 0 || std::trunc(v) != v || v > 9007199254740991.0) {
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be a non-negative integer number of bytes");
  }
  return static_cast<size_t>(v);
}

mx::Device::DeviceType DeviceTypeArg(const Napi::CallbackInfo& info, size_t i) {
  auto name = StringArg(info, i, "device");
  if (name == "cpu") return mx::Device::cpu;
  if (name == "gpu") return mx::Device::gpu;
  throw Napi::TypeError::New(info.Env(), "device must be \"cpu\" or \"gpu\", got \"" + name + "\"");
}

}  // namespace

MLUX_FN("activeMemory", ActiveMemory) { return Bytes(info.Env(), mx::get_active_memory()); }
MLUX_FN("peakMemory", PeakMemory) { return Bytes(info.Env(), mx::get_peak_memory()); }
MLUX_FN("cacheMemory", CacheMemory) { return Bytes(info.Env(), mx::get_cache_memory()); }
MLUX_FN("memoryLimit", MemoryLimit) { return Bytes(info.Env(), mx::get_memory_limit()); }

MLUX_FN("resetPeakMemory", ResetPeakMemory) {
  mx::reset_peak_memory();
  return info.Env().Undefined();
}

MLUX_FN("setMemoryLimit", SetMemoryLimit) {
  return Bytes(info.Env(), mx::set_memory_limit(BytesArg(info, 0, "limit")));
}
MLUX_FN("setCacheLimit", SetCacheLimit) { return Bytes(info.Env(), mx::set_cache_limit(BytesArg(info, 0, "limit"))); }
MLUX_FN("setWiredLimit", SetWiredLimit) { return Bytes(info.Env(), mx::set_wired_limit(BytesArg(info, 0, "limit"))); }

MLUX_FN("clearCache", ClearCache) {
  mx::clear_cache();
  return info.Env().Undefined();
}

MLUX_FN("defaultDevice", DefaultDevice) {
  return Napi::String::New(info.Env(), mx::default_device().type == mx::Device::gpu ? "gpu" : "cpu");
}

MLUX_FN("isAvailable", IsAvailable) {
  return Napi::Boolean::New(info.Env(), mx::is_available(mx::Device(DeviceTypeArg(info, 0))));
}

MLUX_FN("setDefaultDevice", SetDefaultDevice) {
  mx::Device device(DeviceTypeArg(info, 0));
  if (!mx::is_available(device)) {
    throw Napi::Error::New(info.Env(), std::string("setDefaultDevice: no ") +
                                           (device.type == mx::Device::gpu ? "gpu" : "cpu") +
                                           " is available in this MLX build (" + mx::version() +
                                           "; on Linux, NVIDIA GPUs need the CUDA build: reinstall with "
                                           "MLUX_BACKEND=cuda13 or cuda12)");
  }
  mx::set_default_device(device);
  return info.Env().Undefined();
}

// synchronize(): waits until everything scheduled on the default device's default stream is done.
MLUX_FN("synchronize", Synchronize) {
  mx::synchronize();
  return info.Env().Undefined();
}

}  // namespace mlux
