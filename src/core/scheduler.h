// Scheduler: the injected executor for deferred work (timers, hand-offs).
// The server provides one backed by its I/O threads; tests may use their own.
// Thread-safety: Post and After may be called from any thread.
#pragma once

#include <functional>

#include "core/clock.h"

namespace writ {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual void Post(std::function<void()> fn) = 0;
  virtual void After(Millis delay, std::function<void()> fn) = 0;
};

}  // namespace writ
