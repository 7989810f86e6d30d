// The status API of buffered routes (CP-3):
//   GET  /v1/jobs?route=&limit=&cursor=          jobs, newest first
//   GET  /v1/jobs/{id}                           counts by state, progress, rate, ETA
//   GET  /v1/jobs/{id}/items?status=&limit=&cursor=   items in batch order
//   POST /v1/jobs/{id}/replay                    re-queue failed and dead items
//   GET  /v1/routes/{name}/buffer                fill, bound, rate, paused
//   POST /v1/routes/{name}/pause | /resume       stop / restart draining
// Thread-safety: Handle may be called concurrently.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "core/http_types.h"
#include "patterns/route.h"
#include "store/store.h"

namespace writ {

class JobsApi : public OperatorApi {
 public:
  struct RouteHooks {
    int64_t max_pending = 0;
    double configured_rate = 0;                // items/s; 0: unlimited
    std::function<double()> drain_rate;        // items/s finished recently
    std::function<double()> current_rate;      // the limiter's current items/s (0: unlimited)
    std::function<void(bool)> set_paused;      // the worker's pause switch
    std::function<void()> wake;                // items were re-queued
    bool park = false;                         // on_unknown: park: possibly applied items need ?force=unknown
    const Redactor* redact = nullptr;          // the route's redacted fields (routes[].redact)
  };
  explicit JobsApi(Store& store);
  // Before serving: a buffered route whose jobs this API shows.
  void AddRoute(const std::string& route, RouteHooks hooks);

  std::vector<ApiEndpoint> Endpoints() const override;
  void Handle(const Request& req, std::function<void(Response)> done) override;

 private:
  // `scope`: the caller's tenant ("" = every tenant, core/tenant.h); another
  // tenant's job answers 404.
  void Get(const std::string& scope, const std::string& id, std::function<void(Response)> done);
  void List(const Request& req, std::function<void(Response)> done);
  void Items(const std::string& scope, const std::string& id, const Request& req, std::function<void(Response)> done);
  void Replay(const std::string& scope, const std::string& id, bool force, std::function<void(Response)> done);
  void Route(const Request& req, std::function<void(Response)> done);

  Store& store_;
  std::map<std::string, RouteHooks> routes_;
};

}  // namespace writ
