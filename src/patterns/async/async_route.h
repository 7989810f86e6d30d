// Async mode (CP-2), the accepting half: validate the request (content type,
// Idempotency-Key, JSON Schema, ordering key), then commit the idempotency
// record, the queued command and its first status event in one durable
// transaction, and answer 202 Accepted with the submission's status URL.
// The worker (worker.h) sends the command to the master later.
//
// A retry with the same key and request gets the stored 202 byte for byte
// (Idempotent-Replayed: true); another request under the key gets 422.
//
// Thread-safety: Handle may be called concurrently from any thread.
#pragma once

#include <functional>
#include <memory>

#include "config/config.h"
#include "core/http_types.h"
#include "metrics/metrics.h"
#include "patterns/async/async_config.h"
#include "patterns/idempotency/request.h"
#include "patterns/route.h"
#include "store/store.h"

namespace writ {

class AsyncRoute {
 public:
  // settings.schema may be null (no validate: file). `accepted` runs after
  // each new command has committed (used to wake the route's worker).
  AsyncRoute(RouteConfig route, AsyncSettings settings, UpstreamConfig upstream, Store& store, Metrics& metrics,
             std::function<void()> accepted);

  void Handle(Request req, PathParams params, Respond respond);

  const RouteConfig& config() const { return route_; }

 private:
  struct Call;
  void Finish(Call& call, Response resp, const std::string& outcome);
  void AnswerExisting(Call& call, const IdempotencyRecord& rec);

  RouteConfig route_;
  AsyncSettings settings_;
  UpstreamConfig upstream_;
  Store& store_;
  std::function<void()> accepted_;
  Counter& replays_;
  Counter& mismatches_;
  Counter& invalid_;
  std::string schema_name_;  // the schema file's name, for problem details
  Counter& accepted_count_;
};

}  // namespace writ
