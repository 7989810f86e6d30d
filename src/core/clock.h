// Clock and Rng: injected everywhere time or chance matters (leases, TTLs,
// backoff jitter) so tests can use fakes instead of sleeping.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>

namespace writ {

// Milliseconds since the Unix epoch.
using Millis = int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Millis NowMs() const = 0;
  // True for this host's wall clock, which a shared database may correct
  // (its own clock decides leases when several hosts share it); false for
  // clocks a test drives.
  virtual bool wall() const { return false; }
};

// The system wall clock. Shared, stateless, thread-safe. For tests of clock
// skew between hosts, WRIT_TEST_CLOCK_SKEW_MS (read once) shifts it.
Clock& SystemClock();

// A clock that only moves when told to. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(Millis start = 1'700'000'000'000) : now_(start) {}
  Millis NowMs() const override { return now_.load(); }
  void Advance(Millis ms) { now_ += ms; }
  void Set(Millis ms) { now_ = ms; }

 private:
  std::atomic<Millis> now_;
};

// Thread-safe random source; seedable for reproducible runs.
class Rng {
 public:
  explicit Rng(uint64_t seed = std::random_device{}()) : gen_(seed) {}
  // Uniform in [0, 1).
  double Uniform();
  uint64_t Next();

 private:
  std::mutex mu_;
  std::mt19937_64 gen_;
};

}  // namespace writ
