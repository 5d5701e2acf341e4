// Handles: how MLX arrays cross into JavaScript.
//
// A handle is a plain JS number, `generation * 2^32 + slot`, naming one slot of a table of arrays.
// Numbers cost far less to pass and return than wrapped objects, which matters for small ops. The
// generation changes whenever a slot is freed, so a stale handle (a disposed array, or one freed
// by the garbage-collection backstop in src/mx/array.ts) is recognized and refused, never
// mistaken for the array that reuses its slot.
#include <deque>

#include "mlux.h"

namespace mlux {

namespace {

constexpr double kSlotRange = 4294967296.0;  // 2^32
constexpr uint32_t kGenerationLimit = 1u << 20;  // keeps handles below 2^53, exact as doubles

struct Slot {
  std::optional<mx::array> array;
  std::optional<mx::array> transposed;          // KeptTranspose's, made on first use
  std::optional<mx::array> transposed_batched;  // the same with a leading axis of 1 (KeptTranspose)
  int64_t bytes = 0;
  uint32_t generation = 0;
};

// A deque, so references to slots stay valid while new slots are added (a JS callback run from
// inside an MLX transform can create arrays while C++ frames up the stack hold references).
std::deque<Slot>& Table() {
  static std::deque<Slot> table;
  return table;
}

std::vector<uint32_t>& FreeSlots() {
  static std::vector<uint32_t> free_slots;
  return free_slots;
}

// The bytes an array holds once computed, capped at the machine's memory: V8 aborts on an
// unreasonably large report (2^60 bytes or more).
int64_t HeldBytes(const mx::array& a) {
  long double bytes = static_cast<long double>(a.data_size()) * a.itemsize();
  return static_cast<int64_t>(std::min<long double>(bytes, MachineMemoryBytes()));
}

// Slots (index, generation) wrapped before their array was computed: they hold no memory yet, so
// V8 is told nothing until an evaluation has run. Reporting the size of every op's future output
// as it is built made V8 collect many times per forward pass (one collection for every 64 MiB
// reported), which dominated a large batch's time on a fast GPU.
std::vector<std::pair<uint32_t, uint32_t>>& Unreported() {
  static std::vector<std::pair<uint32_t, uint32_t>> unreported;
  return unreported;
}

bool evaluation_ran = false;
// Above this many unreported entries, Wrap drops the stale ones (a long graph built without
// evaluation, whose intermediates were disposed).
size_t unreported_compaction_at = 4096;

// What V8 is told of the bytes the table holds. Freed bytes are told late: V8 lowers its
// collection threshold to 64 MiB above the lowest amount it has been told since its last full
// collection, so freeing a pass's 131 MB of logits and computing the next pass's made it collect
// (twice) at every pass, with nothing to collect. Freed bytes are therefore netted against the
// next bytes reported, and told on their own only once they exceed half of what V8 counts: V8's
// count stays between what is held and twice that, and rises when what is held rises.
int64_t told = 0;          // what V8 was told, net
int64_t freed_untold = 0;  // freed since, not told yet
int64_t held_back = 0;     // changes not told because a JavaScript exception was pending

void TellV8(napi_env env, int64_t change) {
  // Telling V8 may start a collection, and a collection runs finalizers; with a JavaScript exception
  // pending (an addon call failing, whose scope ends after the error is thrown) V8 then aborts the
  // whole process. Such changes are told with the next one instead.
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    held_back += change;
    return;
  }
  change += held_back;
  held_back = 0;
  if (change < 0) {
    freed_untold -= change;
    if (freed_untold * 2 <= told) return;
    change = -freed_untold;
  } else {
    change -= freed_untold;
    if (change <= 0) {
      freed_untold = -change;
      return;
    }
  }
  freed_untold = 0;
  told += change;
  int64_t ignored;
  napi_adjust_external_memory(env, change, &ignored);
}

void Report(napi_env env, Slot& slot, int64_t bytes) {
  slot.bytes = bytes;
  TellV8(env, bytes);
}

// Reports the unreported slots whose arrays are computed now (or scheduled: their memory is
// allocated), drops those freed meanwhile, and keeps the rest. With `report` false it only drops.
void SweepUnreported(napi_env env, bool report) {
  auto& table = Table();
  auto& unreported = Unreported();
  size_t kept = 0;
  for (auto [index, generation] : unreported) {
    Slot& slot = table[index];
    if (slot.generation != generation || !slot.array) continue;
    if (report && slot.array->status() != mx::array::Status::unscheduled) {
      Report(env, slot, HeldBytes(*slot.array));
      continue;
    }
    unreported[kept++] = {index, generation};
  }
  unreported.resize(kept);
}

// The slot index a handle names, or -1 if the handle is malformed or stale.
int64_t LookupHandle(double h) {
  if (!(h >= 0) || h >= kSlotRange * kGenerationLimit) return -1;
  auto generation = static_cast<uint32_t>(h / kSlotRange);
  auto index = static_cast<uint64_t>(h - generation * kSlotRange);
  auto& table = Table();
  if (index >= table.size()) return -1;
  const Slot& slot = table[index];
  if (slot.generation != generation || !slot.array) return -1;
  return static_cast<int64_t>(index);
}

int64_t Lookup(const Napi::Value& v) {
  return v.IsNumber() ? LookupHandle(v.As<Napi::Number>().DoubleValue()) : -1;
}

void Release(napi_env env, uint32_t index) {
  Slot& slot = Table()[index];
  if (slot.bytes != 0) TellV8(env, -slot.bytes);
  slot.array.reset();
  slot.transposed.reset();
  slot.transposed_batched.reset();
  slot.bytes = 0;
  slot.generation = (slot.generation + 1) % kGenerationLimit;
  FreeSlots().push_back(index);
}

}  // namespace

Napi::Value Wrap(Napi::Env env, mx::array a) {
  auto& table = Table();
  auto& free_slots = FreeSlots();
  uint32_t index;
  if (free_slots.empty()) {
    index = static_cast<uint32_t>(table.size());
    table.emplace_back();
  } else {
    index = free_slots.back();
    free_slots.pop_back();
  }
  Slot& slot = table[index];
  slot.array.emplace(std::move(a));
  if (slot.array->status() == mx::array::Status::unscheduled) {
    slot.bytes = 0;
    auto& unreported = Unreported();
    unreported.emplace_back(index, slot.generation);
    if (unreported.size() >= unreported_compaction_at) {
      SweepUnreported(env, false);
      unreported_compaction_at = std::max<size_t>(4096, 2 * unreported.size());
    }
  } else {
    Report(env, slot, HeldBytes(*slot.array));
  }
  return Napi::Number::New(env, slot.generation * kSlotRange + index);
}

Napi::Value WrapAll(Napi::Env env, const std::vector<mx::array>& arrays) {
  auto out = Napi::Array::New(env, arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) out.Set(i, Wrap(env, arrays[i]));
  return out;
}

bool IsHandle(const Napi::Value& v) { return v.IsNumber(); }

namespace {

// The live slot a handle names; throws for a stale handle or a value that is no handle.
Slot& LiveSlot(const Napi::Value& v) {
  int64_t index = Lookup(v);
  if (index < 0) {
    throw Napi::Error::New(v.Env(), v.IsNumber() ? "this Array was disposed; it can no longer be read or used"
                                                 : "expected an mlux Array");
  }
  return Table()[index];
}

}  // namespace

mx::array KeptTranspose(const Napi::Value& v, bool batched) {
  Slot& slot = LiveSlot(v);
  const mx::array& a = *slot.array;
  if (a.ndim() != 2) throw std::invalid_argument("expected a 2-D weight, got " + std::to_string(a.ndim()) + " axes");
  // Only what is computed is kept: an unevaluated array's graph would be held, and a tracer
  // belongs to one transformation.
  if (a.is_tracer() || a.status() == mx::array::Status::unscheduled) {
    return batched ? mx::expand_dims(mx::transpose(a), 0) : mx::transpose(a);
  }
  if (!slot.transposed) slot.transposed.emplace(mx::transpose(a));
  if (!batched) return *slot.transposed;
  if (!slot.transposed_batched) slot.transposed_batched.emplace(mx::expand_dims(*slot.transposed, 0));
  return *slot.transposed_batched;
}

mx::array& Unwrap(const Napi::Value& v) { return *LiveSlot(v).array; }

mx::array* UnwrapIfHandle(napi_env env, napi_value v) {
  // One Node-API call tells a number from anything else and reads it: every array argument of
  // every op comes through here.
  double h;
  if (napi_get_value_double(env, v, &h) != napi_ok) return nullptr;
  int64_t index = LookupHandle(h);
  if (index < 0) throw Napi::Error::New(env, "this Array was disposed; it can no longer be read or used");
  return &*Table()[index].array;
}

void ReleaseAllHandles() {
  auto& table = Table();
  auto& free_slots = FreeSlots();
  for (size_t index = 0; index < table.size(); ++index) {
    Slot& slot = table[index];
    if (!slot.array) continue;
    slot.array.reset();
    slot.transposed.reset();
    slot.transposed_batched.reset();
    slot.bytes = 0;
    slot.generation = (slot.generation + 1) % kGenerationLimit;
    free_slots.push_back(static_cast<uint32_t>(index));
  }
  Unreported().clear();
  // The thread's V8 goes with it: a thread that loads the addon next starts from nothing told.
  told = 0;
  freed_untold = 0;
  held_back = 0;
}

// dispose(handle): frees the array now. A stale handle is ignored, so explicit disposal and the
// garbage-collection backstop may both run.
MLUX_FN("dispose", Dispose) {
  int64_t index = Lookup(info[0]);
  if (index >= 0) Release(info.Env(), static_cast<uint32_t>(index));
  return info.Env().Undefined();
}

// disposeMany(handles, count): frees the arrays of the first `count` handles of a Float64Array
// (how mx.tidy frees what its scope made, in one call); stale handles are ignored. Returns 0.
MLUX_FN("disposeMany", DisposeMany) {
  napi_env env = info.Env();
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  bool typed = false;
  if (napi_is_typedarray(env, info[0], &typed) != napi_ok || !typed ||
      napi_get_typedarray_info(env, info[0], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_float64_array) {
    throw Napi::TypeError::New(env, "disposeMany(handles, count) needs a Float64Array of handles");
  }
  double count = NumberArg(info, 1, "count");
  if (!(count >= 0 && count <= static_cast<double>(length))) {
    throw Napi::RangeError::New(env, "disposeMany: count must be between 0 and the handles' length");
  }
  const double* handles = static_cast<const double*>(data);
  for (size_t k = 0; k < static_cast<size_t>(count); ++k) {
    int64_t index = LookupHandle(handles[k]);
    if (index >= 0) Release(env, static_cast<uint32_t>(index));
  }
  return Napi::Number::New(env, 0);
}

// ---- the garbage-collection backstop ---------------------------------------------------------
// freeWhenCollected(array, handle) frees the handle's array when the garbage collector collects
// the JS object `array`. The finalizer runs inside the collection itself (a Node-API "basic"
// finalizer, synchronous under NAPI_EXPERIMENTAL), so memory comes back even in a synchronous loop
// that never yields to the event loop, where a FinalizationRegistry's callbacks never run. A
// collection can happen in the middle of an addon call, which may hold a reference into the
// table, so the finalizer only notes the handle; the outermost call frees what was noted as it
// returns. A handle disposed meanwhile is stale by then and left alone.

namespace {

int call_depth = 0;

std::vector<double>& CollectedHandles() {
  static std::vector<double> collected;
  return collected;
}

void NoteCollected(node_api_basic_env, void* data, void*) {
  CollectedHandles().push_back(static_cast<double>(reinterpret_cast<uintptr_t>(data)));
}

void ReleaseCollected(napi_env env) {
  std::vector<double> collected;
  collected.swap(CollectedHandles());
  for (double h : collected) {
    int64_t index = LookupHandle(h);
    if (index >= 0) Release(env, static_cast<uint32_t>(index));
  }
}

}  // namespace

CallInProgress::CallInProgress(napi_env env) : env(env) { ++call_depth; }

CallInProgress::~CallInProgress() {
  if (--call_depth != 0) return;
  if (!CollectedHandles().empty()) ReleaseCollected(env);
  if (evaluation_ran) {
    evaluation_ran = false;
    SweepUnreported(env, true);
  }
}

void NoteEvaluation() { evaluation_ran = true; }

MLUX_FN("freeWhenCollected", FreeWhenCollected) {
  int64_t index = Lookup(info[1]);
  if (!info[0].IsObject() || index < 0) {
    throw Napi::TypeError::New(info.Env(), "freeWhenCollected(array, handle) needs an Array and its live handle");
  }
  // Handles stay below 2^52, so a handle fits the finalizer's pointer-sized datum exactly.
  static_assert(sizeof(uintptr_t) >= 8, "handles need 64-bit pointers");
  auto datum = reinterpret_cast<void*>(static_cast<uintptr_t>(info[1].As<Napi::Number>().DoubleValue()));
  napi_status status = napi_add_finalizer(info.Env(), info[0], datum, NoteCollected, nullptr, nullptr);
  NAPI_THROW_IF_FAILED(info.Env(), status, Napi::Value());
  return info.Env().Undefined();
}

MLUX_FN("liveHandles", LiveHandles) {
  if (call_depth == 1) ReleaseCollected(info.Env());  // this call holds no reference into the table
  return Napi::Number::New(info.Env(), static_cast<double>(Table().size() - FreeSlots().size()));
}

}  // namespace mlux
