// Safetensors files. The TypeScript layer (src/mx/io.ts) validates a file's header before it
// reaches loadSafetensors, because MLX accepts some malformed headers (negative or fractional
// dimensions, dimensions beyond 32 bits) and would hand back arrays with impossible shapes.
#include <algorithm>

#include "mlux.h"

namespace mlux {

// loadSafetensors(path) -> { arrays: { name: handle }, metadata: { key: value } }. The arrays are
// lazy: their data is read from the file when they are first evaluated.
MLUX_FN("loadSafetensors", LoadSafetensors) {
  Napi::Env env = info.Env();
  auto [arrays, metadata] = mx::load_safetensors(StringArg(info, 0, "path"));
  std::vector<std::string> names;
  names.reserve(arrays.size());
  for (const auto& entry : arrays) names.push_back(entry.first);
  std::sort(names.begin(), names.end());
  auto js_arrays = Napi::Object::New(env);
  for (const auto& name : names) js_arrays.Set(name, Wrap(env, arrays.at(name)));
  std::vector<std::string> keys;
  for (const auto& entry : metadata) keys.push_back(entry.first);
  std::sort(keys.begin(), keys.end());
  auto js_metadata = Napi::Object::New(env);
  for (const auto& key : keys) js_metadata.Set(key, Napi::String::New(env, metadata.at(key)));
  auto out = Napi::Object::New(env);
  out.Set("arrays", js_arrays);
  out.Set("metadata", js_metadata);
  return out;
}

// saveSafetensors(path, names[], handles[], metadataKeys[], metadataValues[]): evaluates the arrays
// and writes them. The path must already end in ".safetensors" (MLX would append it otherwise).
MLUX_FN("saveSafetensors", SaveSafetensors) {
  auto path = StringArg(info, 0, "path");
  if (!info[1].IsArray() || !info[3].IsArray() || !info[4].IsArray()) {
    throw Napi::TypeError::New(info.Env(), "saveSafetensors expects lists of names, arrays, keys and values");
  }
  auto names = info[1].As<Napi::Array>();
  auto arrays = ArrayListArg(info, 2);
  if (names.Length() != arrays.size()) throw std::invalid_argument("saveSafetensors: one name per array is needed");
  std::unordered_map<std::string, mx::array> tensors;
  for (uint32_t k = 0; k < names.Length(); ++k) {
    tensors.insert_or_assign(names.Get(k).As<Napi::String>().Utf8Value(), arrays[k]);
  }
  auto keys = info[3].As<Napi::Array>();
  auto values = info[4].As<Napi::Array>();
  std::unordered_map<std::string, std::string> metadata;
  for (uint32_t k = 0; k < keys.Length() && k < values.Length(); ++k) {
    metadata.insert_or_assign(keys.Get(k).As<Napi::String>().Utf8Value(),
                              values.Get(k).As<Napi::String>().Utf8Value());
  }
  RequireMemoryFor(arrays);
  mx::save_safetensors(path, std::move(tensors), std::move(metadata));
  return info.Env().Undefined();
}

}  // namespace mlux
