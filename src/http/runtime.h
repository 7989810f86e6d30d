// Runtime: the I/O threads (one Asio io_context) shared by the server, the
// upstream client and timers. Exposes a Scheduler for the core.
// Thread-safety: Start/Stop/Join from one controlling thread; scheduler()
// from anywhere.
#pragma once

#include <memory>

#include "core/scheduler.h"

namespace writ {

class Runtime {
 public:
  explicit Runtime(int threads);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  void Start();  // spawns the threads
  void Stop();   // stops the io_context; pending work is abandoned
  void Join();
  Scheduler& scheduler();

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace writ
