// Module entry: checks that the libmlx found at load time is the one the addon was built
// against, then installs every function registered with MLUX_FN.
#include <cstring>
#include <mutex>

#include "mlux.h"

#define MLUX_STR2(x) #x
#define MLUX_STR(x) MLUX_STR2(x)
#define MLUX_HEADER_VERSION \
  MLUX_STR(MLX_VERSION_MAJOR) "." MLUX_STR(MLX_VERSION_MINOR) "." MLUX_STR(MLX_VERSION_PATCH)

#if MLUX_GEMM_SHIM
extern "C" const char* mlux_gemm_backend(void);
#endif

namespace mlux {

void ThrowQuietly(napi_env env, const Napi::Error& error) {
  try {
    napi_value value = error.Value();
    if (value != nullptr) {
      napi_throw(env, value);
      return;
    }
  } catch (...) {
  }
  ThrowQuietly(env, "mlux: a native call failed while its thread was ending");
}

void ThrowQuietly(napi_env env, const char* message) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  napi_throw_error(env, nullptr, message);
}

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

// The thread whose JavaScript environment uses mlux. The array table and MLX's streams are not
// safe to share between threads, so a second thread (a worker, or the main thread while a worker
// holds it) is refused until the first one ends.
std::mutex owner_mutex;
napi_env owner = nullptr;

void ReleaseOwner(napi_env env) {
  std::lock_guard<std::mutex> lock(owner_mutex);
  if (owner != env) return;
  ReleaseAllHandles();
  owner = nullptr;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  {
    std::lock_guard<std::mutex> lock(owner_mutex);
    if (owner != nullptr && owner != static_cast<napi_env>(env)) {
      throw Napi::Error::New(env,
                             "mlux is already in use by another thread of this process (the main thread or a "
                             "worker): MLX arrays and streams cannot be shared between threads. Use mlux from one "
                             "thread; another may load it once that thread has ended.");
    }
    owner = env;
  }
  napi_add_env_cleanup_hook(env, [](void* arg) { ReleaseOwner(static_cast<napi_env>(arg)); }, env);
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
  exports.Set("listSlots", MakeListSlots(env));
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
