#include "gateway/quota.h"

#include <algorithm>
#include <cmath>

#include "core/problem.h"

namespace writ {

Quotas::Quotas(const QuotaConfig& config, const Clock& clock, Metrics& metrics)
    : config_(config),
      clock_(clock),
      refused_(metrics.GetCounter("writ_quota_refused_total", "Calls refused with 429 by a tenant's quota", "")) {}

const QuotaLimit& Quotas::LimitOf(const std::string& tenant) const { return config_.Of(tenant); }

Quotas::Decision Quotas::Take(const std::string& tenant) {
  const QuotaLimit& limit = LimitOf(tenant);
  Decision d;
  if (limit.rate <= 0) return d;
  d.limited = true;
  d.rate = limit.rate;
  const double burst = limit.burst > 0 ? limit.burst : limit.rate;
  Millis now = clock_.NowMs();
  std::lock_guard lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(tenant);
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = burst;
  } else {
    b.tokens = std::min(burst, b.tokens + static_cast<double>(now - b.refilled_at) * limit.rate / 1000.0);
  }
  b.refilled_at = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
  } else {
    d.allowed = false;
    refused_.Inc();
  }
  d.remaining = static_cast<int64_t>(b.tokens);
  double missing = std::ceil(b.tokens) - b.tokens;  // to the next whole token
  if (b.tokens < burst) d.next_token = static_cast<Millis>(std::ceil((missing > 0 ? missing : 1) * 1000.0 / limit.rate));
  return d;
}

void Quotas::AddFields(const Decision& d, Response& r) {
  if (!d.limited) return;
  r.headers.emplace_back("RateLimit-Policy", "\"tenant\";q=" + std::to_string(d.rate) + ";w=1");
  int64_t t = (d.next_token + 999) / 1000;
  r.headers.emplace_back("RateLimit", "\"tenant\";r=" + std::to_string(d.remaining) + ";t=" + std::to_string(t));
}

Response Quotas::Refusal(const std::string& tenant, const Decision& d) {
  int64_t after = std::max<int64_t>(1, (d.next_token + 999) / 1000);
  Response r = Problem(429, "rate-limited", "Too many requests",
                       "tenant '" + tenant + "' may send " + std::to_string(d.rate) +
                           " requests per second; retry after " + std::to_string(after) + " s",
                       {{"retryAfterSeconds", after}});
  r.headers.emplace_back("Retry-After", std::to_string(after));
  AddFields(d, r);
  return r;
}

PendingQuota::PendingQuota(const QuotaConfig& config, CountFn count, Metrics& metrics)
    : config_(config), count_(std::move(count)), metrics_(metrics) {}

std::optional<Response> PendingQuota::Check(const std::string& tenant) {
  int64_t limit = config_.Of(tenant).max_pending;
  if (limit <= 0) return std::nullopt;
  int64_t n;
  {
    std::lock_guard lock(mu_);
    n = pending_[tenant];
  }
  if (n < limit) return std::nullopt;
  metrics_.GetCounter("writ_quota_pending_refused_total", "Writes refused for quotas.max_pending").Inc();
  Response r = Problem(429, "too-many-pending", "Too many writes pending",
                       "tenant '" + tenant + "' has " + std::to_string(n) +
                           " writes accepted and not yet finished (quotas.max_pending: " + std::to_string(limit) +
                           "); retry once some have finished");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

void PendingQuota::Added(const std::string& tenant) {
  std::lock_guard lock(mu_);
  ++pending_[tenant];
}

void PendingQuota::Refresh() {
  auto counts = count_();
  if (!counts.ok()) return;  // keep the last counts; the next second tries again
  std::lock_guard lock(mu_);
  pending_ = std::move(*counts);
}

}  // namespace writ
