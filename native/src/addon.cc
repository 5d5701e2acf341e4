// Module entry: checks that the libmlx found at load time is the one the addon was built
// against, then installs every function registered with MLUX_FN.
#include <cstring>

#include "mlux.h"

#define MLUX_STR2(x) #x
#define MLUX_STR(x) MLUX_STR2(x)
#define MLUX_HEADER_VERSION \
  MLUX_STR(MLX_VERSION_MAJOR) "." MLUX_STR(MLX_VERSION_MINOR) "." MLUX_STR(MLX_VERSION_PATCH)

#if MLUX_GEMM_SHIM
extern "C" const char* mlux_gemm_backend(void);
#endif

namespace mlux {

std::vector<ExportEntry>& Exports() {
  static std::vector<ExportEntry> entries;
  return entries;
}

namespace {

// "0.32.4.dev20261101+abc" and "0.32.4" name the same release.
bool SameRelease(const char* found, const char* built) {
  size_t n = std::strlen(built);
  return std::strncmp(found, built, n) == 0 && (found[n] == '\0' || found[n] == '.' || found[n] == '+');
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const char* found = mx::version();
  if (!SameRelease(found, MLUX_HEADER_VERSION)) {
    throw Napi::Error::New(env, std::string("mlux was built against MLX ") + MLUX_HEADER_VERSION +
                                    " but the libmlx it loaded is " + found +
                                    ". Rebuild the addon for this MLX: `npm rebuild mlux` (or, in the mlux "
                                    "checkout, `node scripts/build-native.mjs`).");
  }
  for (const auto& entry : Exports()) {
    exports.Set(entry.name, Napi::Function::New(env, entry.fn, entry.name));
  }
  exports.Set("mlxVersion", Napi::String::New(env, found));
  exports.Set("mlxBuiltVersion", Napi::String::New(env, MLUX_HEADER_VERSION));
#ifdef MLUX_MLX_BACKEND
  exports.Set("mlxBuiltBackend", Napi::String::New(env, MLUX_MLX_BACKEND));
#else
  exports.Set("mlxBuiltBackend", Napi::String::New(env, "unknown"));
#endif
#if MLUX_GEMM_SHIM
  exports.Set("gemmBackend", Napi::String::New(env, std::string("OpenBLAS ") + mlux_gemm_backend()));
#else
  exports.Set("gemmBackend", Napi::String::New(env, "libmlx default"));
#endif
  return exports;
}

}  // namespace

}  // namespace mlux

static Napi::Object InitMlux(Napi::Env env, Napi::Object exports) { return mlux::Init(env, exports); }

NODE_API_MODULE(mlux, InitMlux)
