#include "upstream/outcome.h"

#include "core/problem.h"

namespace writ {

Outcome Classify(const UpstreamResult& r, const IdempotencyConfig& idem) {
  switch (r.error) {
    case UpstreamError::kNotSent: return Outcome::kNotSent;
    case UpstreamError::kTimeout:
    case UpstreamError::kBrokenAnswer: return Outcome::kUnknown;
    case UpstreamError::kNone: break;
  }
  if (idem.unknown_statuses.Contains(r.response.status)) return Outcome::kUnknown;
  return idem.final_statuses.Contains(r.response.status) ? Outcome::kFinal : Outcome::kTransient;
}

bool PassesThroughUnstored(const UpstreamResult& r) {
  int s = r.response.status;
  return r.error == UpstreamError::kNone && s < 500 && s != 408 && s != 429;
}

Response UpstreamProblem(const UpstreamResult& r, Outcome o, bool parked) {
  if (parked) {
    std::string why = r.error == UpstreamError::kNone ? "the master answered " + std::to_string(r.response.status)
                                                      : r.message;
    Response p = Problem(502, "upstream-outcome-unknown", "Outcome unknown",
                         "the master may have applied this request (" + why +
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
  if (o == Outcome::kUnknown && r.error != UpstreamError::kNone) {
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
