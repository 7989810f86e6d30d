// Gateway: the configured routes behind one server, plus the operator
// endpoints (/healthz, /readyz, /metrics, /.well-known/writ/idempotency) and
// the background garbage collector of expired idempotency records.
//
// Ownership: the Gateway borrows the Runtime, Store and Metrics, which must
// outlive it; it owns the routes and the upstream clients.
// Thread-safety: Handle and BodyLimit are called concurrently by the server.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <vector>

#include "config/config.h"
#include "core/http_types.h"
#include "core/status.h"
#include "gateway/router.h"
#include "http/runtime.h"
#include "metrics/metrics.h"
#include "gateway/jobs_api.h"
#include "gateway/submissions_api.h"
#include "outbox/webhook.h"
#include "patterns/async/async_route.h"
#include "patterns/async/worker.h"
#include "patterns/bulk/buffered_route.h"
#include "patterns/sync/sync_route.h"
#include "store/store.h"
#include "upstream/client.h"

namespace writ {

class Gateway {
 public:
  Gateway(const Config& config, Runtime& rt, Store& store, Metrics& metrics);
  // Compiles the routes' JSON Schemas; the error names the file and cause.
  // Call before constructing the Gateway (`writ check-config` uses it too).
  static Status CheckSchemas(const Config& config);
  ~Gateway();

  void Handle(Request req, std::function<void(Response)> done);
  uint64_t BodyLimit(const std::string& method, const std::string& path) const;
  // Starts the garbage collector, the async workers and the webhook relay.
  void StartBackground();
  // No new background work; what is in flight finishes (see active()).
  void StopBackground();
  // Requests accepted and not yet answered plus master calls and webhook
  // deliveries in flight (for draining on shutdown).
  int active() const;

 private:
  Response Operator(const Request& req) const;
  void UpdateQueueGauges() const;
  Counter& RequestCounter(size_t route, int status);
  void CollectGarbage();

  const Config& config_;
  Runtime& rt_;
  Store& store_;
  Metrics& metrics_;
  Router router_;
  std::vector<std::unique_ptr<UpstreamClient>> clients_;
  // One handler per configured route (sync or async), indexed like the router.
  std::vector<const RouteConfig*> route_configs_;
  std::vector<std::function<void(Request, PathParams, SyncRoute::Respond)>> handlers_;
  std::vector<std::unique_ptr<SyncRoute>> sync_routes_;
  std::vector<std::unique_ptr<AsyncRoute>> async_routes_;
  std::vector<std::unique_ptr<BufferedRoute>> buffered_routes_;
  std::vector<std::unique_ptr<BatchCodec>> codecs_;
  std::vector<std::unique_ptr<RateLimiter>> limiters_;
  std::vector<std::unique_ptr<AsyncWorker>> workers_;
  std::map<std::string, AsyncWorker*> buffered_workers_;  // by route name
  std::vector<std::unique_ptr<UpstreamClient>> webhook_clients_;
  std::unique_ptr<WebhookRelay> relay_;
  std::unique_ptr<SubmissionsApi> submissions_;
  std::unique_ptr<JobsApi> jobs_;
  Rng rng_;
  Counter& gc_deleted_;
  // writ_requests_total per route and status (100..599), looked up once.
  using StatusCounters = std::array<std::atomic<Counter*>, 500>;
  std::unique_ptr<StatusCounters[]> request_counters_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};
  mutable std::atomic<Millis> keys_counted_at_{0};  // last writ_keys refresh
};

// `writ serve`: opens the store, starts the server and runs until SIGTERM or
// SIGINT, then drains. Returns the process exit code.
int RunServe(const Config& config);

}  // namespace writ
