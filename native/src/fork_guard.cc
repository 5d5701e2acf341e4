// Forking while MLX computes. Node starts child processes with fork(), and OpenBLAS registers a
// pthread_atfork "prepare" handler that shuts its thread pool down in the parent. When a threaded
// matrix product is running on an MLX stream at that moment, the product waits for workers that
// are gone, and the process spins forever (seen as a test that spawned `mlux` while a pipelined
// generation's last step was still computing). The handler below, registered after OpenBLAS's (its
// library is loaded before this addon, so its constructor has run), runs before it and waits until
// every stream this addon has computed on is idle. Nothing new can be scheduled meanwhile: work is
// scheduled only by the thread that owns the addon, and a fork from that thread is this one.
#include <pthread.h>

#include <mutex>
#include <vector>

#include "mlux.h"

namespace mlux {

namespace {

std::mutex streams_mutex;
std::vector<mx::Stream> streams_used;

void WaitForStreams() {
  std::vector<mx::Stream> streams;
  {
    std::lock_guard<std::mutex> lock(streams_mutex);
    streams = streams_used;
  }
  for (const auto& stream : streams) {
    try {
      mx::synchronize(stream);
    } catch (...) {
      // A stream that cannot be waited for (its device is gone) has nothing running on it.
    }
  }
}

const bool registered = pthread_atfork(WaitForStreams, nullptr, nullptr) == 0;

void Remember(const mx::Stream& stream) {
  for (const auto& known : streams_used) {
    if (known == stream) return;
  }
  streams_used.push_back(stream);
}

}  // namespace

void NoteStreamsInUse() {
  if (!registered) return;
  std::lock_guard<std::mutex> lock(streams_mutex);
  Remember(mx::default_stream(mx::Device::cpu));
  Remember(mx::default_stream(mx::default_device()));
}

}  // namespace mlux
