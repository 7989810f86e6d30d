// mode: dual-copy (CP-6): a maintained copy of a master collection that
// local services read and write at local speed. Writes are edge mode's
// (edge_route.h): committed to the copy with its local version (If-Match,
// 412 when stale), answered at once, and sent to the master later, in
// order per record, always as the record's latest whole state, with
// If-Match of the master's version the copy knows (a master that changed
// the record meets the route's conflict policy).
//
// The master's own changes come back through its change feed: a refresh
// pass pages `refresh.path` from the last cursor every `refresh.interval`
// (one instance at a time, by a lease) and applies each item to the copy
// (EdgeStore::ApplyMaster). A pass that reaches the end makes the copy as
// fresh as the moment it began: its "as of".
//
// Reads are served from the copy with an explicit window:
//   Writ-As-Of: the copy's as-of time (RFC 3339);  Age: seconds since it
//   Writ-Pending-Writes: local writes of the record not yet at the master
// When the copy is older than max_staleness, reads follow on_stale: serve
// (with Writ-Stale: true), refuse (503 copy-stale, Retry-After) or
// passthrough (the record is read from the master, put in the copy, and
// answered). A record with local writes pending is always answered from
// the copy: it holds what this client wrote.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "patterns/copy/copy_config.h"
#include "patterns/copy/copy_store.h"
#include "patterns/local_copy/edge_route.h"

namespace writ {

class CopyRoute : public Route {
 public:
  CopyRoute(RouteConfig route, CopySettings settings, UpstreamConfig upstream, Store& store, UpstreamClient& client,
            Scheduler& scheduler, Metrics& metrics, Rng& rng, SubmissionsApi* submissions);
  // The master's collection path, base path included.
  std::string collection() const { return upstream_.base_path + route_.upstream_path; }
  ~CopyRoute() override;

  const RouteConfig& config() const override { return route_; }
  std::vector<Endpoint> Endpoints() const override { return edge_->Endpoints(); }
  void Handle(Request req, PathParams params, Respond respond) override;
  void Start() override;
  void Stop() override;
  int in_flight() const override;
  void Wake() override { edge_->Wake(); }
  void UpdateGauges(Scrape& scrape) override;
  bool QueuesWork() const override { return true; }
  std::string ContractJson() const override;
  std::string Degraded() const override;

  // The tenant a dual copy's records are stored under: the copy is one,
  // shared by every caller of the route.
  static constexpr const char* kCopyTenant = kDefaultTenant;

 private:
  struct Refresher;
  struct Window {
    Millis as_of = 0;
    bool stale = true;
  };
  Window CurrentWindow();
  void Decorate(Response& resp, Millis as_of, bool stale) const;
  void ReadThrough(Request req, PathParams params, Respond respond, const std::string& id);
  // The reconciliation runner (a thread, with copy.reconcile): resumes
  // reconciliations whose runner died, runs requested and scheduled ones.
  void ReconcileLoop();

  RouteConfig route_;
  CopySettings settings_;
  UpstreamConfig upstream_;
  Store& store_;
  std::unique_ptr<EdgeRoute> edge_;
  mutable CopyStore copy_;
  std::shared_ptr<Refresher> refresher_;
  std::atomic<Millis> as_of_{0}, as_of_read_at_{0};
  Counter& stale_reads_;
  UpstreamClient& client_;
  Metrics& metrics_;
  std::string owner_;
  std::thread reconcile_thread_;
  std::atomic<bool> reconcile_stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace writ
