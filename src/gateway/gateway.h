// Gateway: the configured routes behind one server, plus the operator
// endpoints (/healthz, /readyz, /metrics, /.well-known/writ/idempotency, the
// submissions API and each mode's operator API) and the background garbage
// collector. It builds each route with its mode's factory from the pattern
// registry and names no mode itself.
//
// Ownership: the Gateway borrows the Runtime, Store and Metrics, which must
// outlive it; it owns the routes, the upstream clients, the webhook relay and
// the operator APIs.
// Thread-safety: Handle and BodyLimit are called concurrently by the server.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <vector>

#include "config/config.h"
#include "core/http_types.h"
#include "core/status.h"
#include "gateway/auth.h"
#include "gateway/quota.h"
#include "gateway/router.h"
#include "http/runtime.h"
#include "http/server.h"
#include "metrics/metrics.h"
#include "outbox/nats_relay.h"
#include "outbox/webhook.h"
#include "patterns/route.h"
#include "queue/submissions_api.h"
#include "store/store.h"
#include "upstream/client.h"

namespace writ {

class Gateway : private RouteServices {
 public:
  Gateway(const Config& config, Runtime& rt, Store& store, Metrics& metrics);
  ~Gateway() override;

  void Handle(Request req, std::function<void(Response)> done);
  // A call on the admin listener (server.admin_listen): operator endpoints,
  // the status APIs and health; never a route.
  void HandleAdmin(Request req, std::function<void(Response)> done);
  uint64_t BodyLimit(const std::string& method, const std::string& path) const;
  // Before a body is read: 401 for a call that needs a credential and
  // carries none (no Authorization, no auth.api_keys.header, no client
  // certificate), so an unauthenticated caller cannot make Writ read a
  // route's max_body first. `admin`: the admin listener.
  std::optional<Response> CheckHead(const std::string& method, const std::string& path, const HeadFields& fields,
                                    bool client_cert, bool admin) const;
  // Starts the garbage collector, the routes' workers and the webhook relay.
  void StartBackground();
  // No new background work; what is in flight finishes (see active()).
  void StopBackground();
  // Requests accepted and not yet answered plus master calls and webhook
  // deliveries in flight (for draining on shutdown).
  int active() const;

 private:
  // RouteServices, lent to the modes' factories.
  Store& store() override { return store_; }
  Scheduler& scheduler() override { return rt_.scheduler(); }
  Metrics& metrics() override { return metrics_; }
  Rng& rng() override { return rng_; }
  UpstreamClient& client(const std::string& upstream) override { return *clients_.at(upstream); }
  const UpstreamConfig& upstream(const std::string& name) override { return *config_.FindUpstream(name); }
  const QuotaConfig& quotas() override { return config_.quotas; }
  SubmissionsApi& submissions() override { return *submissions_; }
  void AddWebhook(const std::string& route, const NotifyConfig& notify) override;
  void AddNatsSink(const std::string& route, const NatsSinkConfig& sink) override;
  OperatorApi& Api(const std::string& name, const std::function<std::unique_ptr<OperatorApi>()>& make) override;

  // One endpoint of Writ's own API and what serves it: the gateway itself
  // (api null, submissions false), the submissions API, or a mode's API.
  struct Served {
    ApiEndpoint endpoint;
    bool submissions = false;
    OperatorApi* api = nullptr;
  };
  // The endpoint `path` fits with `method`; null if none, and then `allow`
  // lists the methods it has, if any (405).
  const Served* FindEndpoint(const std::string& method, const std::string& path, std::string* allow) const;
  // GET /v1/endpoints: this table and the routes' endpoints, with roles and listener.
  Response EndpointList() const;
  Response Operator(const Request& req) const;
  // `admin`: the call came on the admin listener.
  void Dispatch(Request req, std::function<void(Response)> done, bool admin);
  void UpdateGauges() const;
  Counter& RequestCounter(size_t route, int status);
  void CollectGarbage();
  void RefreshPending();

  const Config& config_;
  Runtime& rt_;
  Store& store_;
  Metrics& metrics_;
  Rng rng_;
  Router router_;
  std::map<std::string, std::unique_ptr<UpstreamClient>> clients_;  // by upstream name
  std::unique_ptr<SubmissionsApi> submissions_;
  std::map<std::string, std::unique_ptr<OperatorApi>> apis_;
  std::vector<std::unique_ptr<UpstreamClient>> webhook_clients_;
  std::map<std::string, WebhookTarget> webhook_targets_;
  // Routes borrow the clients, APIs and webhook clients above; the relay
  // borrows the routes' webhook settings.
  std::vector<std::unique_ptr<Route>> routes_;
  std::vector<size_t> endpoint_route_;  // router index -> routes_ index
  std::vector<Served> endpoints_;       // Writ's own API, built once routes made their APIs
  std::unique_ptr<WebhookRelay> relay_;
  std::map<std::string, NatsTarget> nats_targets_;
  std::unique_ptr<NatsRelay> nats_relay_;
  std::unique_ptr<Authenticator> auth_;  // auth.api_keys: every call but the open ones needs a key
  std::unique_ptr<Quotas> quotas_;       // quotas: requests per second per tenant
  std::unique_ptr<PendingQuota> pending_;  // quotas.max_pending
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
