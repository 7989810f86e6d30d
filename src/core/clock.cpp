#include "core/clock.h"

#include <chrono>

namespace writ {
namespace {
class SystemClockImpl : public Clock {
 public:
  Millis NowMs() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
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
