// Route: the seam between the gateway and a write mode. The gateway routes
// each request to the Route its path and method belong to and knows nothing
// else of the mode: a mode is a folder src/patterns/<mode>/ with its config
// block, its Route, its workers and operator API, and one line in the
// registry (patterns/registry.cpp).
//
// Lifecycle: built once from config (the Pattern's factory), Start() after
// the server listens, Stop() on shutdown (no new background work; what is in
// flight finishes, see in_flight()), destroyed after the store is closed.
// Thread-safety: Handle is called concurrently from the server's threads;
// the rest from the controlling thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/endpoint.h"
#include "core/http_types.h"
#include "core/scheduler.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "upstream/client.h"

namespace writ {

class SubmissionsApi;

// What a route tells the gateway's request log about one request.
struct RequestInfo {
  std::string key_hash;  // for the request log, empty without a key
  std::string outcome;   // e.g. "forwarded", "replayed", "conflict"
};
using Respond = std::function<void(Response, RequestInfo)>;

// A method and path template the route serves (most routes: exactly one).
struct Endpoint {
  std::string method;
  std::string path;
};

// Operator endpoints under /v1/ that every route of a mode shares (the jobs
// API of buffered routes, say), created once by the first such route.
class OperatorApi {
 public:
  virtual ~OperatorApi() = default;
  // What it serves and who may call each (core/endpoint.h): the gateway
  // hands it only calls that fit one of them.
  virtual std::vector<ApiEndpoint> Endpoints() const = 0;
  virtual void Handle(const Request& req, std::function<void(Response)> done) = 0;
};

// Called on each /metrics scrape; loads the queue's statistics at most once.
class Scrape {
 public:
  Scrape(Store& store, Metrics& metrics) : store_(store), metrics_(metrics) {}
  // null if the store cannot be read now.
  const std::vector<QueueStat>* queue_stats();
  Millis now() const { return store_.Now(); }
  Metrics& metrics() { return metrics_; }

 private:
  Store& store_;
  Metrics& metrics_;
  bool loaded_ = false, ok_ = false;
  std::vector<QueueStat> stats_;
};

class Route {
 public:
  virtual ~Route() = default;
  virtual const RouteConfig& config() const = 0;
  // Default: the route's method and path.
  virtual std::vector<Endpoint> Endpoints() const { return {{config().method, config().path}}; }
  virtual void Handle(Request req, PathParams params, Respond respond) = 0;
  virtual void Start() {}
  virtual void Stop() {}
  // Background work in flight (master calls of workers), for draining.
  virtual int in_flight() const { return 0; }
  // Another instance sharing the store queued work for this route.
  virtual void Wake() {}
  virtual void UpdateGauges(Scrape& scrape) {}
  // Whether an accepted POST queues work for later (async submissions,
  // buffered items): what quotas.max_pending counts.
  virtual bool QueuesWork() const { return false; }
  // What the mode promises beyond idempotency, published with the route in
  // /.well-known/writ/routes: a JSON object's text ("" for nothing), e.g.
  // an edge route's staleness window and conflict policy.
  virtual std::string ContractJson() const { return ""; }
  // Why the route is degraded though still serving (an edge route with a
  // record waiting past its window), for /readyz?verbose; "" when it is not.
  virtual std::string Degraded() const { return ""; }
};

// What the gateway lends a mode's factory. Everything outlives the routes.
class RouteServices {
 public:
  virtual ~RouteServices() = default;
  virtual Store& store() = 0;
  virtual Scheduler& scheduler() = 0;
  virtual Metrics& metrics() = 0;
  virtual Rng& rng() = 0;
  virtual UpstreamClient& client(const std::string& upstream) = 0;
  virtual const UpstreamConfig& upstream(const std::string& name) = 0;
  // The tenants' quotas (quotas: in the config).
  virtual const struct QuotaConfig& quotas() = 0;
  // The submissions API (/v1/submissions) of routes whose writes are queued.
  virtual SubmissionsApi& submissions() = 0;
  // Status events of `route` go to this webhook (one relay for all routes).
  virtual void AddWebhook(const std::string& route, const struct NotifyConfig& notify) = 0;
  // ... and are published to NATS JetStream (one relay for all routes).
  virtual void AddNatsSink(const std::string& route, const struct NatsSinkConfig& sink) = 0;
  // The operator API named `name`, made by `make` on first use.
  virtual OperatorApi& Api(const std::string& name, const std::function<std::unique_ptr<OperatorApi>()>& make) = 0;
};

}  // namespace writ
