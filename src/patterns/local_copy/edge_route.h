// mode: edge (CP-5): a collection written locally and synced to the master
// later. Every write commits the record and its change in one transaction
// and is answered at once, whether the master is up or not:
//   POST   {path}        -> 201, Location {path}/{tempId}, the record
//   GET    {path}        -> the records (?syncStatus=pending, limit, cursor)
//   GET    {path}/{id}   -> the record by temporary or canonical id, with
//                           ETag (local version), Writ-Sync-Status,
//                           Writ-Canonical-Id and Link rel=canonical,
//                           Writ-Pending-Writes
//   PUT    {path}/{id}   -> replace (If-Match: the local version; 412 if stale)
//   PATCH  {path}/{id}   -> RFC 7396 merge patch, likewise
//   DELETE {path}/{id}   -> a local tombstone; the delete is synced
// The sync worker (the async queue machinery: leases, fences, derived keys,
// backoff, budgets) sends each record's changes in order, always with the
// record's latest whole state (edge_store.h), and puts the master's ids in
// place of temporary ones: in the path of updates and deletes, and in the
// fields `references` names, whose change waits until the referenced
// record has its master id (never a dangling reference at the master).
#pragma once

#include <memory>
#include <string>

#include "patterns/local_copy/edge_config.h"
#include "patterns/local_copy/edge_store.h"
#include "patterns/route.h"
#include "queue/worker.h"
#include "store/store.h"

namespace writ {

class SubmissionsApi;

class EdgeRoute : public Route {
 public:
  // `submissions` may be null (tests): the changes then have no status API.
  EdgeRoute(RouteConfig route, EdgeSettings settings, UpstreamConfig upstream, Store& store, UpstreamClient& client,
            Scheduler& scheduler, Metrics& metrics, Rng& rng, SubmissionsApi* submissions);
  ~EdgeRoute() override;

  const RouteConfig& config() const override { return route_; }
  std::vector<Endpoint> Endpoints() const override;
  void Handle(Request req, PathParams params, Respond respond) override;
  void Start() override;
  void Stop() override;
  int in_flight() const override;
  void Wake() override;
  void UpdateGauges(Scrape& scrape) override;
  bool QueuesWork() const override { return true; }
  std::string ContractJson() const override;
  std::string Degraded() const override;

  EdgeStore& records() { return records_; }
  // What the sync worker sends for `cmd` (public for tests).
  Prepared Prepare(Command& cmd);

 private:
  struct Call;
  using CallPtr = std::shared_ptr<Call>;
  void Create(CallPtr call);
  void List(CallPtr call);
  void Get(CallPtr call);
  void Replace(CallPtr call);
  void Patch(CallPtr call, int attempts_left);
  void Erase(CallPtr call);
  // The body as a JSON object within the route's schema; nullopt when the
  // request was answered (400/422).
  std::optional<std::string> CheckedDocument(const CallPtr& call, const std::string& body);
  void Write(CallPtr call, EdgeWrite w, std::function<void()> on_stale);
  void Finish(CallPtr call, Response resp, const std::string& outcome);

  RouteConfig route_;
  EdgeSettings settings_;
  UpstreamConfig upstream_;
  Store& store_;
  mutable EdgeStore records_;
  Scheduler& scheduler_;
  Metrics& metrics_;
  std::unique_ptr<RateLimiter> limiter_;  // with sync.rate or sync.batch_size; outlives worker_
  std::unique_ptr<AsyncWorker> worker_;
  Counter& writes_;
  Counter& coalesced_;
  Counter& stale_;
  Counter& replays_;
  Counter& conflicts_;
  Histogram& sync_lag_;
};

}  // namespace writ
