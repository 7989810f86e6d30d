// mode: saga: a write that spans several calls to the master (reserve stock,
// charge a card, book a courier), run as a saga (saga_machine.h):
//   POST {path}   (Idempotency-Key, a JSON object: the saga's input)
//     -> schema check, and every /input/... the steps name present (else
//        422 input-incomplete) -> the saga, its key and its first request committed
//        in one transaction -> 202, Location: /v1/sagas/{id}
// Each step is a command on a queue of the route (retries, backoff, leases,
// take-over, derived keys "writ:{sagaId}:{step}"); its final outcome moves
// the saga in the same transaction (saga_store.h). A step may name its own
// upstream: the route runs one queue per upstream its steps name, the
// route's own under the route's name, another as "{route}@{upstream}". The sagas API
// (/v1/sagas) shows a saga with its step log, cancels it, and lets an
// operator retry a parked compensation or mark it resolved.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "patterns/route.h"
#include "patterns/saga/saga_config.h"
#include "patterns/saga/saga_store.h"
#include "queue/worker.h"
#include "store/store.h"

namespace writ {

// A saga as the API (and `writ sagas`) shows it: status, input, answers.
boost::json::object SagaJson(const Saga& g);
// One attempt of the step log.
boost::json::object AttemptJson(const SagaAttempt& a);

// How the route's requests become commands: each step's queue (the route's
// own, or "{route}@{upstream}" for a step on another upstream) and base
// path. `upstream` looks an upstream up by name. The CLI builds the same.
SagaQueue MakeSagaQueue(const RouteConfig& route, const SagaSettings& settings,
                        const std::function<const UpstreamConfig&(const std::string&)>& upstream);

class SagaRoute : public Route {
 public:
  SagaRoute(RouteConfig route, const SagaSettings& settings, RouteServices& services);
  ~SagaRoute() override;

  const RouteConfig& config() const override { return route_; }
  void Handle(Request req, PathParams params, Respond respond) override;
  void Start() override;
  void Stop() override;
  int in_flight() const override;
  void Wake() override;
  bool QueuesWork() const override { return true; }
  void UpdateGauges(Scrape& scrape) override;
  std::string ContractJson() const override;

  const SagaDef& def() const { return settings_.def; }
  const SagaQueue& queue() const { return queue_; }

 private:
  void Finish(const Respond& respond, RequestInfo& info, Response resp, const std::string& outcome);

  RouteConfig route_;
  const SagaSettings& settings_;
  Store& store_;
  SagaQueue queue_;
  std::vector<std::unique_ptr<AsyncWorker>> workers_;  // one per upstream the steps name
  std::vector<std::string> input_pointers_;  // every /input/... the steps name: checked at POST
  Counter& started_;
};

// The sagas API, shared by every saga route:
//   GET  /v1/sagas?route=&status=&limit=            newest first
//   GET  /v1/sagas/{id}                             the saga, its step log
//   GET  /v1/sagas/{id}/events                      its events (text/event-stream, Last-Event-ID)
//   POST /v1/sagas/{id}/cancel                      before the pivot: compensates
//   POST /v1/sagas/{id}/retry-compensation          operators: a parked compensation again
//   POST /v1/sagas/{id}/mark-resolved {"note"}      operators: parked -> compensated
class SagaApi : public OperatorApi {
 public:
  explicit SagaApi(Database& db) : db_(db) {}
  void AddRoute(SagaRoute* route) { routes_[route->config().name] = route; }
  std::vector<ApiEndpoint> Endpoints() const override;
  void Handle(const Request& req, std::function<void(Response)> done) override;

 private:
  Database& db_;
  std::map<std::string, SagaRoute*> routes_;
};

}  // namespace writ
