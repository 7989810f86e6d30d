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

#include <mutex>
#include <string>
#include <unordered_map>

#include "config/config.h"
#include "core/clock.h"
#include "core/http_types.h"
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

}  // namespace writ
