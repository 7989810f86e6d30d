#include "core/clock.h"

#include <chrono>
#include <cstdlib>

namespace writ {
namespace {
class SystemClockImpl : public Clock {
 public:
  SystemClockImpl() {
    if (const char* s = std::getenv("WRIT_TEST_CLOCK_SKEW_MS")) skew_ = std::strtoll(s, nullptr, 10);
  }
  Millis NowMs() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() + skew_;
  }
  bool wall() const override { return true; }

 private:
  Millis skew_ = 0;
};
}  // namespace

Clock& SystemClock() {
  static SystemClockImpl clock;
  return clock;
}

double Rng::Uniform() {
  std::lock_guard lock(mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen_);
}

uint64_t Rng::Next() {
  std::lock_guard lock(mu_);
  return gen_();
}

}  // namespace writ
