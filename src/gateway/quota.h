// Per-tenant request quotas (config `quotas:`): one token bucket per tenant,
// `burst` tokens refilled at `rate` per second; each authenticated call
// takes one. A tenant at its limit is answered 429 and slows no other: the
// buckets share nothing but a map lookup.
//
// Every answer to a tenant with a quota carries the IETF RateLimit fields
// (draft-ietf-httpapi-ratelimit-headers):
//   RateLimit-Policy: "tenant";q=<rate>;w=1
//   RateLimit: "tenant";r=<tokens left>;t=<seconds until the next token>
// and a 429 also Retry-After.
// Thread-safety: Take may be called from any thread.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "config/config.h"
#include "core/clock.h"
#include "core/http_types.h"
#include "core/status.h"
#include "metrics/metrics.h"

namespace writ {

class Quotas {
 public:
  Quotas(const QuotaConfig& config, const Clock& clock, Metrics& metrics);

  struct Decision {
    bool limited = false;  // the tenant has a quota (else nothing below applies)
    bool allowed = true;
    int64_t remaining = 0;   // whole tokens left after this call
    Millis next_token = 0;   // until the next token accrues (0 if the bucket is full)
    int rate = 0;
  };
  // Takes one token of `tenant`'s bucket if it has one.
  Decision Take(const std::string& tenant);

  // The RateLimit fields of a decision, added to `r`; the 429 problem for a
  // refused one.
  static void AddFields(const Decision& d, Response& r);
  static Response Refusal(const std::string& tenant, const Decision& d);

 private:
  struct Bucket {
    double tokens = 0;
    Millis refilled_at = 0;
  };
  const QuotaLimit& LimitOf(const std::string& tenant) const;

  const QuotaConfig& config_;
  const Clock& clock_;
  Counter& refused_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// quotas.max_pending: how many writes a tenant may have accepted and not
// finished (async submissions, buffered items) at once. The counts are read
// from the store once a second (all instances' work) and raised by this
// instance's own accepts in between, so a tenant can overshoot its limit
// by about one second of accepts (and a buffered upload counts as one until
// the next read). A refused write is 429 too-many-pending, with Retry-After.
// Thread-safety: every method may be called from any thread.
class PendingQuota {
 public:
  using CountFn = std::function<Result<std::map<std::string, int64_t>>()>;
  PendingQuota(const QuotaConfig& config, CountFn count, Metrics& metrics);

  // Whether `tenant` may queue another write now; else the 429 to answer.
  std::optional<Response> Check(const std::string& tenant);
  // A write of `tenant` was queued by this instance.
  void Added(const std::string& tenant);
  // Reads the counts again (the gateway calls it every second).
  void Refresh();

 private:
  const QuotaConfig& config_;
  CountFn count_;
  Metrics& metrics_;
  std::mutex mu_;
  std::map<std::string, int64_t> pending_;
};

}  // namespace writ
