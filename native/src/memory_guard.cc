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

#include <algorithm>
#include <sstream>
#include <vector>

#include "mlux.h"

namespace mlux {

namespace {

// In double: long double arithmetic (x87) made up a third of the walk below.
double NominalBytes(const mx::array& a) {
  double bytes = static_cast<double>(a.itemsize());
  for (auto d : a.shape()) bytes *= d;
  return bytes;
}

std::string Describe(const mx::array& a) {
  std::ostringstream out;
  out << "an array of shape " << a.shape() << " and dtype " << a.dtype();
  return out.str();
}

// The arrays one walk has visited, by id: open addressing in a table kept between walks, whose
// entries count only when stamped with the current walk's number (nothing is cleared per walk). A
// std::unordered_set made the walk twice as long.
class Seen {
 public:
  void Start() {
    if (++walk_ == 0) {
      for (auto& slot : slots_) slot.walk = 0;
      walk_ = 1;
    }
    count_ = 0;
  }
  // Whether `id` is new to this walk (it is recorded).
  bool Insert(std::uintptr_t id) {
    if ((count_ + 1) * 2 > slots_.size()) Grow();
    size_t mask = slots_.size() - 1;
    for (size_t i = Hash(id) & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.walk != walk_) {
        slot = {id, walk_};
        ++count_;
        return true;
      }
      if (slot.id == id) return false;
    }
  }

 private:
  struct Slot {
    std::uintptr_t id = 0;
    uint32_t walk = 0;
  };
  // Ids are addresses: drop the always-zero low bits, then spread the rest (Fibonacci hashing).
  static size_t Hash(std::uintptr_t id) { return static_cast<size_t>((id >> 4) * 0x9E3779B97F4A7C15ull >> 20); }

  void Grow() {
    std::vector<Slot> old(std::max<size_t>(1024, slots_.size() * 2));
    old.swap(slots_);
    count_ = 0;
    for (const auto& slot : old) {
      if (slot.walk == walk_) Insert(slot.id);
    }
  }
  std::vector<Slot> slots_;
  size_t count_ = 0;
  uint32_t walk_ = 0;
};

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
  // This walk runs before every evaluation (on a GPU, a decode step's whole budget is a couple of
  // milliseconds), so it is kept cheap: pointers into the graph (which the outputs keep alive, and
  // which only this thread changes while unscheduled) rather than copies of arrays, only arrays that
  // still have to be computed, a table of visited ids kept between walks, and double arithmetic.
  auto to_compute = [](const mx::array& a) {
    return a.status() == mx::array::Status::unscheduled && a.has_primitive();
  };
  std::vector<const mx::array*> pending;
  thread_local Seen seen;
  seen.Start();
  for (const auto& a : outputs) {
    if (to_compute(a)) pending.push_back(&a);
  }
  const double left_in_walk = static_cast<double>(left);
  while (!pending.empty()) {
    const mx::array& a = *pending.back();
    pending.pop_back();
    if (!seen.Insert(a.id())) continue;
    double bytes = NominalBytes(a);
    for (const auto& s : a.siblings()) bytes += NominalBytes(s);
    if (bytes > left_in_walk) refuse(Describe(a) + " in the graph", bytes);
    for (const auto& input : a.inputs()) {
      if (to_compute(input)) pending.push_back(&input);
    }
  }
}

}  // namespace mlux
