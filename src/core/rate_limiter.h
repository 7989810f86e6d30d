// A token bucket with additive-increase / multiplicative-decrease, for
// draining buffered items to the master no faster than configured:
//   * tokens accrue at the current rate up to `burst`; one token per item;
//   * the master pushing back (429, 503) halves the current rate, at most
//     once per kDecreaseSpacing so one burst of refusals counts once, down
//     to a floor of rate/64;
//   * each accepted request adds 5% of the configured rate, up to it.
// Time comes from the injected Clock. Thread-safety: all methods may be
// called from any thread.
#pragma once

#include <mutex>

#include "core/clock.h"

namespace writ {

class RateLimiter {
 public:
  static constexpr Millis kDecreaseSpacing = 500;

  // rate: items per second (0: unlimited); burst >= 1.
  RateLimiter(double rate, int burst, const Clock& clock);

  bool unlimited() const { return max_rate_ <= 0; }
  // Grants up to `want` tokens now (possibly 0).
  int Take(int want);
  // Gives back tokens taken but not used.
  void Return(int n);
  // Milliseconds until `n` tokens (at most burst) will be available.
  Millis WaitFor(int n);
  void OnThrottled();
  void OnAccepted();
  double current_rate() const;

 private:
  void Refill();  // caller holds mu_

  const double max_rate_;
  const double burst_;
  const Clock& clock_;
  mutable std::mutex mu_;
  double rate_;
  double tokens_;
  Millis last_refill_;
  Millis last_decrease_ = 0;
};

}  // namespace writ
