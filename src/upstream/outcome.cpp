#include "upstream/outcome.h"

#include "core/problem.h"

namespace writ {

Outcome Classify(const UpstreamResult& r, const StatusSet& final_statuses) {
  switch (r.error) {
    case UpstreamError::kNotSent: return Outcome::kNotSent;
    case UpstreamError::kTimeout:
    case UpstreamError::kBrokenAnswer: return Outcome::kUnknown;
    case UpstreamError::kNone: break;
  }
  return final_statuses.Contains(r.response.status) ? Outcome::kFinal : Outcome::kTransient;
}

Response UpstreamProblem(const UpstreamResult& r, Outcome o, bool parked) {
  if (parked) {
    Response p = Problem(502, "upstream-outcome-unknown", "Outcome unknown",
                         "the master may have applied this request (" + r.message +
                             "); this route never re-sends after an unknown outcome, so the key is parked "
                             "for an operator (writ keys list --state unknown)",
                         {{"keyState", "unknown"}});
    return p;
  }
  if (o == Outcome::kNotSent) {
    Response p = Problem(503, "upstream-unavailable", "Master unavailable",
                         "the master could not be reached (" + r.message +
                             "); nothing was sent, retry with the same Idempotency-Key");
    p.headers.emplace_back("Retry-After", "1");
    return p;
  }
  if (o == Outcome::kUnknown) {
    bool timeout = r.error == UpstreamError::kTimeout;
    return Problem(timeout ? 504 : 502, timeout ? "upstream-timeout" : "upstream-broken-answer",
                   timeout ? "Master timed out" : "Master answer lost",
                   r.message + "; retry with the same Idempotency-Key: the master receives the same key again");
  }
  // Transient answer from the master.
  int s = r.response.status;
  if (s == 429 || s == 503) {
    Response p = Problem(503, "upstream-overloaded", "Master overloaded",
                         "the master answered " + std::to_string(s) + "; retry with the same Idempotency-Key",
                         {{"upstreamStatus", s}});
    auto ra = FindHeader(r.response.headers, "Retry-After");
    p.headers.emplace_back("Retry-After", ra ? std::string(*ra) : std::string("1"));
    return p;
  }
  if (s == 408 || s == 504) {
    return Problem(504, "upstream-timeout", "Master timed out",
                   "the master answered " + std::to_string(s) + "; retry with the same Idempotency-Key",
                   {{"upstreamStatus", s}});
  }
  return Problem(502, "upstream-error", "Master error",
                 "the master answered " + std::to_string(s) +
                     ", which is not stored as final; retry with the same Idempotency-Key",
                 {{"upstreamStatus", s}});
}

}  // namespace writ
