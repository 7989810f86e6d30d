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

Outcome Classify(const UpstreamResult& r, const StatusSet& final_statuses);

// The problem answer for a transient, not-sent or unknown outcome.
// `parked` says the key is now parked as unknown (at-most-once guard).
Response UpstreamProblem(const UpstreamResult& r, Outcome o, bool parked);

}  // namespace writ
