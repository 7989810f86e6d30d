#include "core/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace writ {

RateLimiter::RateLimiter(double rate, int burst, const Clock& clock)
    : max_rate_(rate),
      burst_(std::max(1, burst)),
      clock_(clock),
      rate_(rate),
      tokens_(std::max(1, burst)),
      last_refill_(clock.NowMs()) {}

void RateLimiter::Refill() {
  Millis now = clock_.NowMs();
  if (now > last_refill_) {
    tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now - last_refill_) / 1000.0);
    last_refill_ = now;
  }
}

int RateLimiter::Take(int want) {
  if (unlimited()) return want;
  std::lock_guard lock(mu_);
  Refill();
  int n = std::min(want, static_cast<int>(std::floor(tokens_)));
  n = std::max(0, n);
  tokens_ -= n;
  return n;
}

void RateLimiter::Return(int n) {
  if (unlimited() || n <= 0) return;
  std::lock_guard lock(mu_);
  tokens_ = std::min(burst_, tokens_ + n);
}

Millis RateLimiter::WaitFor(int n) {
  if (unlimited()) return 0;
  std::lock_guard lock(mu_);
  Refill();
  double need = std::min(static_cast<double>(n), burst_) - tokens_;
  if (need <= 0) return 0;
  return static_cast<Millis>(std::ceil(need * 1000.0 / rate_));
}

void RateLimiter::OnThrottled() {
  if (unlimited()) return;
  std::lock_guard lock(mu_);
  Millis now = clock_.NowMs();
  if (last_decrease_ != 0 && now - last_decrease_ < kDecreaseSpacing) return;
  Refill();
  last_decrease_ = now;
  rate_ = std::max(max_rate_ / 64.0, rate_ / 2.0);
}

void RateLimiter::OnAccepted() {
  if (unlimited()) return;
  std::lock_guard lock(mu_);
  Refill();
  rate_ = std::min(max_rate_, rate_ + max_rate_ * 0.05);
}

double RateLimiter::current_rate() const {
  std::lock_guard lock(mu_);
  return rate_;
}

}  // namespace writ
