// Buffered mode (CP-3), the ingest half: a batch upload (NDJSON or a JSON
// array) is split into items; each item is checked (JSON, item key, the
// route's JSON Schema) and the valid ones are committed as one job in one
// durable transaction, answered 202 Accepted with Location: /v1/jobs/{id}.
// The route's AsyncWorker (queue/worker.h) drains the items.
//
// Refusals change nothing: 415 (media type), 400 (framing, empty batch,
// producer headers), 413 (too many items), 422 (reject: batch, or no valid
// item), 429 + Retry-After (buffer full), 409 (producer sequence gap).
// Retries: the same Idempotency-Key, or a Producer-Seq already used, gets
// the original job's 202 with Idempotent-Replayed: true.
//
// Thread-safety: Handle may be called concurrently from any thread.
#pragma once

#include <functional>
#include <memory>

#include "config/config.h"
#include "core/http_types.h"
#include "metrics/metrics.h"
#include "patterns/bulk/bulk_config.h"
#include "patterns/idempotency/request.h"
#include "patterns/route.h"
#include "store/store.h"

namespace writ {

class BufferedRoute {
 public:
  struct Hooks {
    std::function<void()> accepted;     // new items committed: wake the worker
    std::function<double()> drain_rate;  // items/s recently finished, for Retry-After
  };
  // settings.schema may be null (no validate: file).
  BufferedRoute(RouteConfig route, BufferedSettings settings, UpstreamConfig upstream, Store& store,
                Metrics& metrics, Hooks hooks);

  void Handle(Request req, PathParams params, Respond respond);

  const RouteConfig& config() const { return route_; }

 private:
  struct Call;
  void Finish(Call& call, Response resp, const std::string& outcome);
  void OnStored(Call& call, Result<JobAcceptResult> r);
  Response BufferFull(int64_t pending, int64_t items);

  RouteConfig route_;
  BufferedSettings settings_;
  UpstreamConfig upstream_;
  Store& store_;
  Hooks hooks_;
  Counter& items_in_;
  Counter& duplicates_;
  Counter& rejected_;
  Counter& refused_full_;
  Counter& replays_;
};

// Producer-Id / Producer-Seq of a batch upload: none, both valid, or the
// 400 to answer.
struct ProducerHeaders {
  std::string id;  // "" when absent
  int64_t seq = 0;
  std::string error;
};
ProducerHeaders ParseProducerHeaders(const Headers& headers);

}  // namespace writ
