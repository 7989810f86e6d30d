// Sync mode (CP-1) with idempotency keys: forward the write to the master and
// answer with the master's status, body and selected headers once the
// idempotency record holding that answer has committed.
//
// Per request:  validate -> look up key -> claim (commit) -> call master ->
// complete / release / park (commit) -> respond.
// No network call happens inside a store transaction: the claim commits before
// the master is called, and the outcome is recorded in a later transaction.
//
// Thread-safety: Handle may be called concurrently from any thread; the
// SyncRoute must outlive every request it handles.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "config/config.h"
#include "core/clock.h"
#include "core/http_types.h"
#include "core/scheduler.h"
#include "metrics/metrics.h"
#include "patterns/idempotency/request.h"
#include "patterns/route.h"
#include "patterns/sync/completer.h"
#include "store/store.h"
#include "upstream/client.h"

namespace writ {

class SyncRoute : public Route {
 public:
  SyncRoute(RouteConfig route, UpstreamConfig upstream, Store& store, UpstreamClient& client,
            Scheduler& scheduler, Metrics& metrics);

  void Handle(Request req, PathParams params, Respond respond) override;
  const RouteConfig& config() const override { return route_; }
  void Start() override { completer_.Start(); }
  void Stop() override { completer_.Stop(); }
  int in_flight() const override { return completer_.in_flight(); }

  // mode: sync in the registry (its own setting: `orphans:`).
  static ModeSpec Spec();

 private:
  struct Call;
  void Decide(std::shared_ptr<Call> call);
  void OnClaim(std::shared_ptr<Call> call, Result<ClaimResult> r);
  void Forward(std::shared_ptr<Call> call);
  void OnUpstream(std::shared_ptr<Call> call, UpstreamResult r);
  void AnswerExisting(std::shared_ptr<Call> call, const IdempotencyRecord& rec);
  void Finish(std::shared_ptr<Call> call, Response resp, const std::string& outcome);
  StoredResponse Keep(const Response& upstream) const;
  UpstreamRequest BuildUpstreamRequest(const Call& call) const;

  RouteConfig route_;
  UpstreamConfig upstream_;
  Store& store_;
  UpstreamClient& client_;
  Scheduler& scheduler_;
  Metrics& metrics_;
  Counter& replays_;
  Counter& mismatches_;
  Counter& in_flight_conflicts_;
  Counter& unknown_;
  Counter& takeovers_;
  Histogram& upstream_seconds_;
  Gauge& in_flight_;
  const bool keep_request_;  // the claim keeps the request for the completer
  Completer completer_;  // orphans and probes of this route's keys
};

}  // namespace writ
