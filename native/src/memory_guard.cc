// The memory check made before every evaluation. MLX's CPU backend does not survive a failed
// allocation during evaluation (the kernel writes to the buffer it did not get, and the process
// dies), so a graph that cannot fit is refused here, while the caller still gets an Error: no
// array that evaluation would allocate may be larger than the memory left under MLX's memory limit,
// the machine's memory and the process's address-space limit, nor may the requested outputs
// together. Intermediates that MLX frees along the way are not summed (a model's forward pass
// makes far more than it ever holds at once), so this is a bound that refuses only what cannot
// work, not a promise that everything it lets through fits.
#include <sys/resource.h>
#include <unistd.h>

#include <sstream>
#include <unordered_set>

#include "mlux.h"

namespace mlux {

namespace {

long double NominalBytes(const mx::array& a) {
  long double bytes = static_cast<long double>(a.itemsize());
  for (auto d : a.shape()) bytes *= d;
  return bytes;
}

std::string Describe(const mx::array& a) {
  std::ostringstream out;
  out << "an array of shape " << a.shape() << " and dtype " << a.dtype();
  return out.str();
}

}  // namespace

long double MachineMemoryBytes() {
  static const long double memory = static_cast<long double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  return memory;
}

long double MemoryCeiling() {
  long double ceiling = MachineMemoryBytes();
  ceiling = std::min(ceiling, static_cast<long double>(mx::get_memory_limit()));
  struct rlimit limit;
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    ceiling = std::min(ceiling, static_cast<long double>(limit.rlim_cur));
  }
  return ceiling;
}

void RequireMemoryFor(const std::vector<mx::array>& outputs, long double extra_bytes) {
  NoteEvaluation();
  if (!outputs.empty()) NoteStreamsInUse();  // an evaluation (not only a copy's memory check)
  long double ceiling = MemoryCeiling();
  long double left = ceiling - static_cast<long double>(mx::get_active_memory());
  auto refuse = [&](const std::string& what, long double bytes) {
    std::ostringstream out;
    out << "not enough memory to evaluate: " << what << " needs " << static_cast<double>(bytes)
        << " bytes, but only " << static_cast<double>(std::max<long double>(left, 0))
        << " are left under the limit of " << static_cast<double>(ceiling)
        << " bytes (the smallest of mx.memory.memoryLimit(), this machine's memory and the process's "
           "address-space limit). Use smaller shapes, or free arrays first.";
    throw std::runtime_error(out.str());
  };
  long double requested = extra_bytes;
  for (const auto& a : outputs) {
    if (a.status() == mx::array::Status::unscheduled) requested += NominalBytes(a);
  }
  if (requested > left) refuse("the requested outputs", requested);
  // This walk runs before every evaluation, so it is kept cheap: pointers into the graph (which the
  // outputs keep alive, and which only this thread changes while unscheduled) rather than copies of
  // arrays, and only arrays that still have to be computed are visited.
  auto to_compute = [](const mx::array& a) {
    return a.status() == mx::array::Status::unscheduled && a.has_primitive();
  };
  std::vector<const mx::array*> pending;
  std::unordered_set<std::uintptr_t> seen;
  for (const auto& a : outputs) {
    if (to_compute(a)) pending.push_back(&a);
  }
  while (!pending.empty()) {
    const mx::array& a = *pending.back();
    pending.pop_back();
    if (!seen.insert(a.id()).second) continue;
    long double bytes = NominalBytes(a);
    for (const auto& s : a.siblings()) bytes += NominalBytes(s);
    if (bytes > left) refuse(Describe(a) + " in the graph", bytes);
    for (const auto& input : a.inputs()) {
      if (to_compute(input)) pending.push_back(&input);
    }
  }
}

}  // namespace mlux
