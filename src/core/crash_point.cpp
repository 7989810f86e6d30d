#include "core/crash_point.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace writ {

void CrashPointHit(const char* name) {
  static const char* target = std::getenv("WRIT_CRASH_AT");
  static std::atomic<long> remaining = [] {
    const char* after = std::getenv("WRIT_CRASH_AFTER");
    return after ? std::atol(after) : 0L;
  }();
  if (target == nullptr || std::strcmp(target, name) != 0) return;
  if (remaining.fetch_sub(1) > 0) return;
  ::kill(::getpid(), SIGKILL);
  ::_exit(137);  // not reached
}

}  // namespace writ
