// Classification of an upstream attempt under an idempotency key, and the
// client-facing problem for each non-final outcome.
#pragma once

#include "config/config.h"
#include "core/http_types.h"
#include "upstream/client.h"

namespace writ {

enum class Outcome {
  kFinal,      // deterministic answer: store it and replay it forever
  kTransient,  // the master said "not now" (5xx, 408, 429, ...): nothing applied, client may retry
  kNotSent,    // nothing reached the master: client may retry
  kUnknown,    // the master may or may not have applied it
};

// An answer in `idem.unknown_statuses` is kUnknown (the master may have
// applied the request before failing), whatever `final_statuses` says.
Outcome Classify(const UpstreamResult& r, const IdempotencyConfig& idem);

// A master answer that is not final by the route's `final_statuses` but is
// the master's own verdict on this request (a 4xx other than 408 and 429, or a
// 1xx-3xx): the client gets it as it was, unstored, marked with
// `Writ-Answer-Stored: false`; a retry with the same key sends again.
// 5xx, 408 and 429 get Writ's problem answers (with Retry-After).
bool PassesThroughUnstored(const UpstreamResult& r);
inline constexpr const char* kAnswerStoredHeader = "Writ-Answer-Stored";

// The problem answer for a transient, not-sent or unknown outcome.
// `parked` says the key is now parked as unknown (at-most-once guard).
Response UpstreamProblem(const UpstreamResult& r, Outcome o, bool parked);

}  // namespace writ
