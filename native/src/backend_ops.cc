// Which MLX backend the loaded libmlx runs (cuda, metal or cpu) and what its GPU is. The build's
// own choice (the wheel it was built against) is MLUX_MLX_BACKEND, exported by addon.cc.
#include "mlux.h"
#include "mlx/backend/cuda/cuda.h"

namespace mlux {

// backend(): "cuda" or "metal" when libmlx can compute on that GPU here, else "cpu".
MLUX_FN("backend", Backend) {
  const char* name = "cpu";
  if (mx::cu::is_available()) {
    name = "cuda";
  } else if (mx::gpu::is_available()) {
    name = "metal";
  }
  return Napi::String::New(info.Env(), name);
}

// gpuInfo(): MLX's description of GPU 0 (device_name, architecture, memory ...), or null when
// there is no GPU.
MLUX_FN("gpuInfo", GpuInfo) {
  if (!mx::gpu::is_available()) return info.Env().Null();
  auto out = Napi::Object::New(info.Env());
  for (const auto& [key, value] : mx::gpu::device_info(0)) {
    if (const auto* text = std::get_if<std::string>(&value)) {
      out.Set(key, Napi::String::New(info.Env(), *text));
    } else {
      out.Set(key, Napi::Number::New(info.Env(), static_cast<double>(std::get<size_t>(value))));
    }
  }
  return out;
}

}  // namespace mlux
