// Shared declarations of the mlux addon: how arrays cross into JavaScript (handles), how
// arguments are read, and how each file registers the functions it exports.
#pragma once

#include <napi.h>

#include <optional>
#include <string>
#include <vector>

#include "mlx/mlx.h"

namespace mlux {

namespace mx = mlx::core;

// ---- registration --------------------------------------------------------------------------
// Each source file defines its exports with MLUX_FN; addon.cc installs them all at load.

using Callback = Napi::Value (*)(const Napi::CallbackInfo&);

struct ExportEntry {
  const char* name;
  Callback fn;
};

std::vector<ExportEntry>& Exports();

struct Registrar {
  Registrar(const char* name, Callback fn) { Exports().push_back({name, fn}); }
};

// Throws `error` (or a new Error with `message`) into JavaScript through the C API, ignoring a
// failure: in a thread that is being terminated every call into JavaScript fails, and a C++
// exception raised while reporting one would end the whole process (std::terminate).
void ThrowQuietly(napi_env env, const Napi::Error& error);
void ThrowQuietly(napi_env env, const char* message);

// Turns every C++ exception (MLX raises std::invalid_argument, std::runtime_error, ...) into a
// JavaScript Error carrying the same message, so no input can abort the process. Nothing leaves
// this function as a C++ exception.
// Counts addon calls in progress (a JS callback run from inside an MLX transform may call in
// again). Arrays the garbage collector found unreachable are freed when the outermost call returns,
// never while a call may hold a reference to one (handles.cc).
struct CallInProgress {
  explicit CallInProgress(napi_env env);
  ~CallInProgress();
  napi_env env;
};

template <Callback F>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  CallInProgress call(info.Env());
  try {
    return F(info);
  } catch (const Napi::Error& e) {
    ThrowQuietly(info.Env(), e);
  } catch (const std::exception& e) {
    ThrowQuietly(info.Env(), e.what());
  } catch (...) {
    ThrowQuietly(info.Env(), "mlux: unknown native error");
  }
  return Napi::Value();
}

#define MLUX_FN(js_name, fn)                                                        \
  static Napi::Value fn(const Napi::CallbackInfo& info);                            \
  static ::mlux::Registrar fn##_registrar(js_name, &::mlux::Guarded<fn>); \
  static Napi::Value fn(const Napi::CallbackInfo& info)

// ---- handles --------------------------------------------------------------------------------
// A handle is a JS number naming one mx::array in the addon's table (handles.cc). dispose()
// releases the array at once; freeWhenCollected (used by src/mx/array.ts) frees it once the garbage
// collector collects its Array. The array's byte size is reported to V8 as external memory while
// the handle holds it.

Napi::Value Wrap(Napi::Env env, mx::array a);
Napi::Value WrapAll(Napi::Env env, const std::vector<mx::array>& arrays);
mx::array& Unwrap(const Napi::Value& v);
// The array a handle names, or nullptr when `v` is not a number (not a handle); throws for a
// number that names no live array.
mx::array* UnwrapIfHandle(napi_env env, napi_value v);
bool IsHandle(const Napi::Value& v);
// The transpose of the 2-D array a handle names. For a computed array (not a transform's tracer)
// it is made once and kept with the handle, freed with it: a weight multiplied at every step is
// transposed once, not once per product. The kept transpose is a view, the same strides over the
// same memory as a transpose made anew, so products with it are the same kernels, bit for bit.
// `batched` gives it a leading axis of 1 ([1, in, out], kept as well): MLX multiplies a [1, L, in]
// operand by that as one Matmul, where a 2-D right operand costs a Flatten and an Unflatten around it.
mx::array KeptTranspose(const Napi::Value& v, bool batched = false);
// Frees every array of the table (when the thread that made them ends).
void ReleaseAllHandles();
// Marks that an evaluation may have run: when the outermost addon call returns, the arrays it
// computed are reported to V8 as external memory (handles.cc). RequireMemoryFor calls it.
void NoteEvaluation();
// fork_guard.cc: remembers the streams evaluations run on, so that a fork() (how Node starts a
// child process) first waits for them to be idle. RequireMemoryFor calls it for each evaluation.
void NoteStreamsInUse();

// ---- memory --------------------------------------------------------------------------------
// memory_guard.cc: throws unless evaluating `outputs` (plus `extra_bytes` the caller will
// allocate, such as a contiguous copy) fits the memory left. Call it before every evaluation.
void RequireMemoryFor(const std::vector<mx::array>& outputs, long double extra_bytes = 0);
// The least of MLX's memory limit, the machine's memory and the address-space limit, in bytes.
long double MemoryCeiling();
long double MachineMemoryBytes();

// ---- value checks (value_checks.cc): these evaluate their argument ----------------------------
// Throws unless every value of `indices` lies in [0, count).
void RequireIndicesBelow(const mx::array& indices, int64_t count, const char* op, const char* what);
// How many matrices a stack [..., M, N] holds.
int64_t BatchCount(const mx::array& a);
// Throws if a floating array holds NaN or Infinity.
void RequireFinite(const mx::array& a, const char* op);

// ---- argument readers -------------------------------------------------------------------------
// Codes shared with src/mx/dtype.ts (same order).
mx::Dtype DtypeFromCode(int code);
int DtypeCode(mx::Dtype dtype);

// An array argument: a handle, or a scalar made into an array (a boolean, or a number boxed as
// [value] by src/mx/operand.ts). A number scalar
// takes the dtype of `like` when that keeps its meaning (MLX's "weak" Python scalars).
mx::array ArrayArg(const Napi::CallbackInfo& info, size_t i, const mx::array* like = nullptr);
// A pair of operands where either may be a scalar that adopts the other's dtype.
std::pair<mx::array, mx::array> OperandPair(const Napi::CallbackInfo& info, size_t i);
std::vector<mx::array> ArrayListArg(const Napi::CallbackInfo& info, size_t i);
// An array argument that may be left out (undefined or null).
std::optional<mx::array> OptionalArrayArg(const Napi::CallbackInfo& info, size_t i);

int IntArg(const Napi::CallbackInfo& info, size_t i, const char* what);
std::optional<int> OptionalIntArg(const Napi::CallbackInfo& info, size_t i, const char* what);
double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* what);
std::optional<double> OptionalNumberArg(const Napi::CallbackInfo& info, size_t i, const char* what);
bool BoolArg(const Napi::CallbackInfo& info, size_t i, bool fallback);
std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what);
mx::Shape ShapeArg(const Napi::CallbackInfo& info, size_t i, const char* what);
std::vector<int> IntListArg(const Napi::CallbackInfo& info, size_t i, const char* what);
// undefined/null: no axes given; a number: one axis; an array of numbers: those axes.
std::optional<std::vector<int>> AxesArg(const Napi::CallbackInfo& info, size_t i);
mx::Dtype DtypeArg(const Napi::CallbackInfo& info, size_t i);
std::optional<mx::Dtype> OptionalDtypeArg(const Napi::CallbackInfo& info, size_t i);
bool IsMissing(const Napi::CallbackInfo& info, size_t i);

Napi::Array ShapeToJs(Napi::Env env, const mx::Shape& shape);

// ---- list slots (list_slots.cc) ---------------------------------------------------------------
// Short integer lists (shapes, axes) cross in a buffer the addon makes at load, shared with
// src/mx/list-slots.ts, instead of as JS arrays read element by element (two Node-API calls per
// element, a large part of a small op's cost). A slot holds [count, v0, v1, ...] as doubles;
// JavaScript passes the slot's Float64Array where the list goes.
constexpr size_t kListSlots = 4;
constexpr size_t kListSlotLength = 64;  // doubles per slot: a count and up to 63 values
// The slots' buffer, made for `env` (exported as listSlots when the addon loads).
Napi::ArrayBuffer MakeListSlots(Napi::Env env);
// The values of the slot `v` views, or nullopt when `v` is not one of the slots (a JS array,
// read the slow way). Throws when the slot's count is out of range.
std::optional<std::vector<double>> SlotValues(napi_env env, napi_value v, const char* what);

}  // namespace mlux
