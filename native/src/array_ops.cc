// Arrays in and out of JavaScript: creation from bytes, metadata, evaluation, reading data.
#include <cstring>
#include <sstream>

#include "mlx/graph_utils.h"

#include "mlux.h"

namespace mlux {

namespace {

// Evaluates `a` and returns a row-contiguous array holding the same values. Flags are only known
// after evaluation, and a broadcast array can be "contiguous" with fewer stored elements than its
// size, so both are checked.
mx::array Materialized(mx::array a) {
  RequireMemoryFor({a});
  mx::eval(a);
  if (a.flags().row_contiguous && a.data_size() == a.size()) return a;
  mx::array out = mx::contiguous(a);
  RequireMemoryFor({out});
  mx::eval(out);
  return out;
}

class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, std::vector<mx::array> arrays)
      : Napi::AsyncWorker(env), arrays_(std::move(arrays)), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      for (auto& a : arrays_) a.wait();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  // Settling fails in a thread that is being terminated; that must not end the process.
  void OnOK() override {
    try {
      deferred_.Resolve(Env().Undefined());
    } catch (...) {
    }
  }
  void OnError(const Napi::Error& e) override {
    try {
      deferred_.Reject(e.Value());
    } catch (...) {
    }
  }

 private:
  std::vector<mx::array> arrays_;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

// fromBytes(bytes: Uint8Array, shape, dtypeCode): copies the bytes into a new array.
MLUX_FN("fromBytes", FromBytes) {
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "fromBytes expects a typed array");
  auto bytes = info[0].As<Napi::TypedArray>();
  auto shape = ShapeArg(info, 1, "shape");
  auto dtype = DtypeArg(info, 2);
  size_t count = 1;
  for (auto d : shape) {
    if (d < 0) throw std::invalid_argument("shape dimensions must be non-negative");
    count *= static_cast<size_t>(d);
  }
  size_t nbytes = count * mx::size_of(dtype);
  if (bytes.ByteLength() != nbytes) {
    throw std::invalid_argument("data holds " + std::to_string(bytes.ByteLength()) + " bytes but shape and dtype need " +
                                std::to_string(nbytes));
  }
  // MLX's allocator returns an unusable buffer instead of failing when memory runs out, so the
  // copy is checked against the memory left first.
  RequireMemoryFor({}, static_cast<long double>(nbytes));
  auto data = mx::allocator::malloc(nbytes);
  auto* src = static_cast<const uint8_t*>(bytes.ArrayBuffer().Data()) + bytes.ByteOffset();
  if (nbytes > 0) std::memcpy(data.buffer().raw_ptr(), src, nbytes);
  return Wrap(info.Env(), mx::array(std::move(data), std::move(shape), dtype));
}

MLUX_FN("shape", Shape) { return ShapeToJs(info.Env(), Unwrap(info[0]).shape()); }

MLUX_FN("dtype", DtypeOf) { return Napi::Number::New(info.Env(), DtypeCode(Unwrap(info[0]).dtype())); }

MLUX_FN("nbytes", Nbytes) { return Napi::Number::New(info.Env(), static_cast<double>(Unwrap(info[0]).nbytes())); }

// toBytes(a, copy): evaluates and returns the data as an ArrayBuffer in row-major order. With
// copy=false and data that is already contiguous, the buffer views MLX's memory, keeping the
// array alive until the buffer is collected.
MLUX_FN("toBytes", ToBytes) {
  mx::array a = Materialized(Unwrap(info[0]));
  bool copy = BoolArg(info, 1, true);
  size_t nbytes = a.nbytes();
  if (copy || nbytes == 0) {
    auto buffer = Napi::ArrayBuffer::New(info.Env(), nbytes);
    if (nbytes > 0) std::memcpy(buffer.Data(), a.data<uint8_t>(), nbytes);
    return buffer;
  }
  auto* keep = new mx::array(a);
  return Napi::ArrayBuffer::New(info.Env(), keep->data<uint8_t>(), nbytes,
                                [](Napi::Env, void*, mx::array* hold) { delete hold; }, keep);
}

MLUX_FN("toString", ToString) {
  std::ostringstream out;
  const mx::array& a = Unwrap(info[0]);
  RequireMemoryFor({a});
  out << a;
  return Napi::String::New(info.Env(), out.str());
}

MLUX_FN("eval", Eval) {
  std::vector<mx::array> arrays;
  for (size_t i = 0; i < info.Length(); ++i) arrays.push_back(Unwrap(info[i]));
  RequireMemoryFor(arrays);
  mx::eval(std::move(arrays));
  return info.Env().Undefined();
}

// asyncEval(...arrays): schedules evaluation on this thread (MLX streams belong to the thread that
// made them) and waits for completion on a worker thread; resolves when every array is ready.
MLUX_FN("asyncEval", AsyncEval) {
  std::vector<mx::array> arrays;
  for (size_t i = 0; i < info.Length(); ++i) arrays.push_back(Unwrap(info[i]));
  RequireMemoryFor(arrays);
  mx::async_eval(arrays);
  auto* worker = new WaitWorker(info.Env(), std::move(arrays));
  auto promise = worker->Promise();
  worker->Queue();
  return promise;
}

// scheduleEval(...arrays): starts evaluation on this thread and returns at once; nothing waits
// and nothing is resolved. Reading one of the arrays later (eval, toBytes) waits for it, as
// Python's mx.async_eval followed by item().
MLUX_FN("scheduleEval", ScheduleEval) {
  std::vector<mx::array> arrays;
  for (size_t i = 0; i < info.Length(); ++i) arrays.push_back(Unwrap(info[i]));
  RequireMemoryFor(arrays);
  mx::async_eval(std::move(arrays));
  return info.Env().Undefined();
}

// exportToDot(...arrays): the lazy graph that computes the arrays, in Graphviz's DOT language, as
// MLX writes it (Python's mx.export_to_dot): one node per array and per primitive.
MLUX_FN("exportToDot", ExportToDot) {
  std::vector<mx::array> arrays;
  for (size_t i = 0; i < info.Length(); ++i) arrays.push_back(Unwrap(info[i]));
  std::ostringstream out;
  mx::export_to_dot(out, arrays);
  return Napi::String::New(info.Env(), out.str());
}

MLUX_FN("astype", Astype) { return Wrap(info.Env(), mx::astype(Unwrap(info[0]), DtypeArg(info, 1))); }

MLUX_FN("view", View) { return Wrap(info.Env(), mx::view(Unwrap(info[0]), DtypeArg(info, 1))); }

MLUX_FN("scalar", Scalar) {
  auto dtype = OptionalDtypeArg(info, 1);
  mx::array a = ArrayArg(info, 0);
  return Wrap(info.Env(), dtype ? mx::astype(a, *dtype) : a);
}

MLUX_FN("zeros", Zeros) { return Wrap(info.Env(), mx::zeros(ShapeArg(info, 0, "shape"), DtypeArg(info, 1))); }

MLUX_FN("ones", Ones) { return Wrap(info.Env(), mx::ones(ShapeArg(info, 0, "shape"), DtypeArg(info, 1))); }

// full(shape, value, dtype?): without a dtype, the value's own (a number is float32 or int32).
MLUX_FN("full", Full) {
  auto shape = ShapeArg(info, 0, "shape");
  auto dtype = OptionalDtypeArg(info, 2);
  mx::array value = ArrayArg(info, 1);
  return Wrap(info.Env(), mx::full(std::move(shape), value, dtype.value_or(value.dtype())));
}

MLUX_FN("zerosLike", ZerosLike) { return Wrap(info.Env(), mx::zeros_like(Unwrap(info[0]))); }

MLUX_FN("onesLike", OnesLike) { return Wrap(info.Env(), mx::ones_like(Unwrap(info[0]))); }

// arange(start, stop, step, dtype)
MLUX_FN("arange", Arange) {
  return Wrap(info.Env(), mx::arange(NumberArg(info, 0, "start"), NumberArg(info, 1, "stop"),
                                     NumberArg(info, 2, "step"), DtypeArg(info, 3)));
}

// linspace(start, stop, num, endpoint, dtype)
MLUX_FN("linspace", Linspace) {
  return Wrap(info.Env(), mx::linspace(NumberArg(info, 0, "start"), NumberArg(info, 1, "stop"),
                                       IntArg(info, 2, "num"), BoolArg(info, 3, true), DtypeArg(info, 4)));
}

// eye(n, m, k, dtype)
MLUX_FN("eye", Eye) {
  return Wrap(info.Env(),
              mx::eye(IntArg(info, 0, "n"), IntArg(info, 1, "m"), IntArg(info, 2, "k"), DtypeArg(info, 3)));
}

// tri(n, m, k, dtype)
MLUX_FN("tri", Tri) {
  return Wrap(info.Env(),
              mx::tri(IntArg(info, 0, "n"), IntArg(info, 1, "m"), IntArg(info, 2, "k"), DtypeArg(info, 3)));
}

}  // namespace mlux
