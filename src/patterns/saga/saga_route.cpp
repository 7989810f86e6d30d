#include "patterns/saga/saga_route.h"

#include <filesystem>
#include <set>

#include <boost/json.hpp>

#include "core/api_key.h"
#include "core/api_params.h"
#include "core/crash_point.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/problem.h"
#include "core/tenant.h"
#include "patterns/idempotency/request.h"
#include "queue/submissions_api.h"
#include "store/command_queue.h"
#include "store/commands.h"

namespace writ {

namespace json = boost::json;

namespace {

constexpr const char* kBase = "/v1/sagas";

json::value Time(Millis ms) { return ms > 0 ? json::value(FormatTimestamp(ms)) : json::value(nullptr); }

}  // namespace

json::object SagaJson(const Saga& g) {
  const SagaState& s = g.state;
  json::array applied;
  for (int i : s.applied) applied.push_back(i);
  return {{"sagaId", g.id},
          {"route", g.route},
          {"status", SagaStatusName(s.status)},
          {"step", s.step},
          {"pivotPassed", s.pivot_passed},
          {"cancelRequested", s.cancel_requested},
          {"reason", s.reason.empty() ? json::value(nullptr) : json::value(s.reason)},
          {"input", s.context.is_object() && s.context.as_object().contains("input") ? s.context.at("input")
                                                                                     : json::value(nullptr)},
          {"steps", s.context.is_object() && s.context.as_object().contains("steps") ? s.context.at("steps")
                                                                                     : json::value(json::object{})},
          {"createdAt", Time(g.created_at)},
          {"updatedAt", Time(g.updated_at)},
          {"finishedAt", Time(g.finished_at)}};
}

json::object AttemptJson(const SagaAttempt& a) {
  return {{"step", a.step},
          {"compensation", a.compensation},
          {"attempt", a.attempt},
          {"status", a.status},
          {"outcome", a.outcome},
          {"error", a.error.empty() ? json::value(nullptr) : json::value(a.error)},
          {"submissionId", a.command_id},
          {"at", Time(a.at)}};
}

namespace {

Response NotFound(const std::string& id) {
  return Problem(404, "saga-not-found", "No such saga", "no saga has the id '" + id.substr(0, 64) + "'");
}

}  // namespace

SagaQueue MakeSagaQueue(const RouteConfig& route, const SagaSettings& settings,
                        const std::function<const UpstreamConfig&(const std::string&)>& upstream) {
  SagaQueue q;
  q.target = {route.name, upstream(route.upstream).base_path};
  q.headers = {{"Content-Type", "application/json"}};
  q.upstream_key = [](const std::string& saga, const std::string& key) { return "writ:" + saga + ":" + key; };
  q.again_delay = settings.again_delay;
  q.deliver_events = settings.event_sinks();
  q.retention = settings.queue.retention;
  for (const auto& step : settings.def.steps)
    if (!step.upstream.empty())
      q.steps[step.name] = {route.name + "@" + step.upstream, upstream(step.upstream).base_path};
  return q;
}

SagaRoute::SagaRoute(RouteConfig route, const SagaSettings& settings, RouteServices& services)
    : route_(std::move(route)),
      settings_(settings),
      store_(services.store()),
      queue_(MakeSagaQueue(route_, settings_,
                           [&services](const std::string& name) -> const UpstreamConfig& {
                             return services.upstream(name);
                           })),
      started_(services.metrics().GetCounter("writ_sagas_started_total", "Sagas started", RouteLabel(route_.name))) {
  std::set<std::string> seen;
  auto add = [&](const SagaRequestDef& r) {
    for (auto& p : r.pointers())
      if ((p == "/input" || p.rfind("/input/", 0) == 0) && seen.insert(p).second) input_pointers_.push_back(p);
  };
  // One worker per queue: per upstream the steps name.
  std::map<std::string, std::string> queues;  // upstream -> the commands' route
  for (const auto& step : settings_.def.steps) {
    add(step.request);
    if (step.compensate) add(*step.compensate);
    queues[step.upstream.empty() ? route_.upstream : step.upstream] = queue_.For(step.name).route;
  }
  Store* s = &store_;
  for (const auto& [upstream, name] : queues) {
    WorkerSpec spec = MakeWorkerSpec(route_, settings_.queue, false);
    spec.route = name;
    spec.on_terminal = [this, s](sql::Conn& c, const AttemptOutcome& o) {
      return SagaStore::OnRequestFinished(c, o, settings_.def, queue_, s->Now());
    };
    spec.on_retry = [s](sql::Conn& c, const AttemptOutcome& o) { return SagaStore::OnRequestRetried(c, o, s->Now()); };
    workers_.push_back(std::make_unique<AsyncWorker>(std::move(spec), store_, services.client(upstream),
                                                     services.scheduler(), services.metrics(), services.rng()));
    services.submissions().AddRoute(
        name, {false, settings_.queue.retention, [this] { Wake(); }, false, &route_.redactor, /*saga=*/true});
  }
}

SagaRoute::~SagaRoute() = default;

void SagaRoute::Start() {
  for (auto& w : workers_) w->Start();
}

void SagaRoute::Stop() {
  for (auto& w : workers_) w->Stop();
}

int SagaRoute::in_flight() const {
  int n = 0;
  for (const auto& w : workers_) n += w->in_flight();
  return n;
}

void SagaRoute::Wake() {
  for (auto& w : workers_) w->Wake();
}

void SagaRoute::UpdateGauges(Scrape& scrape) {
  if (const auto* stats = scrape.queue_stats())
    for (const auto& w : workers_) AsyncWorker::UpdateQueueGauges(scrape.metrics(), w->route_name(), *stats, scrape.now());
  auto counts = SagaStore(store_.db()).CountByStatus(route_.name);
  if (!counts.ok()) return;
  for (auto st : {SagaStatus::kRunning, SagaStatus::kCompensating, SagaStatus::kSucceeded, SagaStatus::kCompensated,
                  SagaStatus::kCompensationFailed, SagaStatus::kCancelled}) {
    int64_t n = 0;
    for (const auto& c : *counts)
      if (c.first == st) n = c.second;
    // compensation_failed above 0 needs an operator (examples/alerts.yaml).
    scrape.metrics()
        .GetGauge("writ_sagas", "Sagas by route and status",
                  RouteLabel(route_.name) + ",status=\"" + SagaStatusName(st) + "\"")
        .Set(n);
  }
}

std::string SagaRoute::ContractJson() const {
  json::array steps;
  for (const auto& s : settings_.def.steps)
    steps.push_back({{"name", s.name}, {"compensated", s.compensate.has_value()}, {"pivot", s.pivot}});
  return json::serialize(json::object{{"steps", std::move(steps)}, {"statusUrl", std::string(kBase) + "/{id}"}});
}

void SagaRoute::Finish(const Respond& respond, RequestInfo& info, Response resp, const std::string& outcome) {
  info.outcome = outcome;
  respond(std::move(resp), info);
}

void SagaRoute::Handle(Request req, PathParams params, Respond respond) {
  (void)params;
  RequestInfo info;
  auto prepared = PrepareKeyedRequest(req, route_.idempotency, route_.name);
  if (!prepared.keyed) return Finish(respond, info, std::move(prepared.problem), "rejected");
  KeyedRequest keyed = std::move(*prepared.keyed);
  if (keyed.has_key) info.key_hash = KeyHashForLog(keyed.id.tenant, route_.name, keyed.id.key);
  auto doc = ParseJsonStrict(req.body);
  if (!doc.ok())
    return Finish(respond, info, Problem(400, "invalid-json", "Invalid JSON body", doc.status().message()), "rejected");
  if (!doc->is_object())
    return Finish(respond, info,
                  Problem(422, "input-not-object", "Not a JSON object", "a saga's input is a JSON object"), "rejected");
  if (settings_.schema) {
    auto violations = settings_.schema->Validate(*doc);
    if (!violations.empty()) {
      json::array errors;
      for (const auto& v : violations) errors.push_back({{"pointer", v.pointer}, {"reason", v.reason}});
      return Finish(respond, info,
                    Problem(422, "schema-violation", "Payload violates the route's schema",
                            std::to_string(violations.size()) + " violation(s) of " +
                                std::filesystem::path(settings_.validate).filename().string() + "; nothing was stored",
                            {{"errors", std::move(errors)}}),
                    "rejected");
    }
  }
  // Every value the steps take from the input must be there: a step that
  // cannot be built would only fail later, after others were applied.
  json::array missing;
  json::value context = json::object{{"input", *doc}};
  for (const auto& p : input_pointers_)
    if (!SagaLookup(context, p).ok()) missing.push_back(json::string(p));
  if (!missing.empty())
    return Finish(respond, info,
                  Problem(422, "input-incomplete", "The input lacks values the steps need",
                          std::to_string(missing.size()) + " value(s) missing; nothing was stored",
                          {{"missing", std::move(missing)}}),
                  "rejected");
  SagaStartRequest start;
  start.tenant = WriteTenant(req);
  start.route = route_.name;
  if (keyed.has_key) start.key = {true, keyed.id.key, keyed.fp.digest, keyed.fp.detail(), route_.idempotency.retention};
  start.input = json::serialize(*doc);
  start.def = &settings_.def;
  start.queue = &queue_;
  start.respond = [](const Saga& g) {
    Response r = JsonResponse(202, json::object{{"sagaId", g.id},
                                                {"status", SagaStatusName(g.state.status)},
                                                {"statusUrl", std::string(kBase) + "/" + g.id}});
    r.headers.emplace_back("Location", std::string(kBase) + "/" + g.id);
    return StoredResponse{r.status, r.headers, r.body};
  };
  SagaStore(store_.db()).Start(std::move(start), [this, respond, info, keyed](Result<SagaStartResult> r) mutable {
    if (!r.ok()) {
      return Finish(respond, info,
                    Problem(503, "store-unavailable", "Store unavailable",
                            "nothing was stored (" + r.status().message() + "); retry (with the same Idempotency-Key)"),
                    "error");
    }
    if (!r->created) {
      std::string outcome;
      Response resp = AnswerAcknowledged(r->existing, keyed.fp, outcome);
      return Finish(respond, info, std::move(resp), outcome);
    }
    WRIT_CRASH_POINT("after_commit_before_response");
    started_.Inc();
    LogJson("info", "saga started", {{"route", route_.name}, {"saga", r->saga.id}});
    Response resp;
    resp.status = r->response.status;
    resp.headers = std::move(r->response.headers);
    resp.body = std::move(r->response.body);
    Finish(respond, info, std::move(resp), "accepted");
    Wake();
  });
}

std::vector<ApiEndpoint> SagaApi::Endpoints() const {
  const std::string one = std::string(kBase) + "/{id}";
  return {{"GET", kBase, kRoleReader | kRoleOperator, false},
          {"GET", one, kRoleClient | kRoleReader | kRoleOperator, false},
          {"GET", one + "/events", kRoleClient | kRoleReader | kRoleOperator, false},
          {"POST", one + "/cancel", kRoleClient | kRoleOperator, false},
          {"POST", one + "/retry-compensation", kRoleOperator, true},
          {"POST", one + "/mark-resolved", kRoleOperator, true}};
}

void SagaApi::Handle(const Request& req, std::function<void(Response)> done) {
  SagaStore store(db_);
  auto q = ParseQuery(req.target);
  const std::string scope = ReadScope(req);  // "" every tenant
  if (req.path == kBase) {
    if (req.method != "GET") return done(Problem(405, "method-not-allowed", "Method not allowed", req.method));
    auto limit = ParseLimit(q["limit"], 20);
    if (!limit) return done(BadParameter("limit must be an integer from 1 to 1000"));
    std::optional<SagaStatus> status;
    if (!q["status"].empty()) {
      status = ParseSagaStatus(q["status"]);
      if (!status)
        return done(BadParameter(
            "status must be running, compensating, succeeded, compensated, compensation_failed or cancelled"));
    }
    // The tenant in the query, so `limit` counts the caller's own sagas.
    auto rows = store.List(q["route"], status, *limit, scope);
    if (!rows.ok()) return done(StoreProblem(rows.status()));
    json::array items;
    for (const auto& g : *rows) items.push_back(SagaJson(g));
    return done(JsonResponse(200, {{"sagas", std::move(items)}}));
  }
  std::string rest = req.path.substr(std::string(kBase).size() + 1);
  std::string id = rest.substr(0, rest.find('/'));
  std::string action = rest.size() > id.size() ? rest.substr(id.size() + 1) : "";
  auto found = store.Get(id);
  if (!found.ok()) return done(StoreProblem(found.status()));
  if (!found->has_value() || !InScope(scope, (*found)->tenant)) return done(NotFound(id));
  const Saga& g = **found;
  auto answer = [done](Result<Saga> r) {
    if (!r.ok() && r.status().code() == Code::kConflict)
      return done(Problem(409, "saga-state", "Not in this state", r.status().message()));
    if (!r.ok()) return done(StoreProblem(r.status()));
    done(JsonResponse(200, SagaJson(*r)));
  };
  auto route = routes_.find(g.route);
  SagaRoute* configured = route == routes_.end() ? nullptr : route->second;
  if (action == "events") {
    if (req.method != "GET") return done(Problem(405, "method-not-allowed", "Method not allowed", req.method));
    auto events = CommandQueue(db_).ListEvents(id, 0);
    if (!events.ok()) return done(StoreProblem(events.status()));
    std::string last(FindHeader(req.headers, "Last-Event-ID").value_or(""));
    if (last.empty()) last = q["lastEventId"];
    size_t from = 0;
    if (!last.empty())
      for (size_t i = 0; i < events->size(); ++i)
        if ((*events)[i].id == last) from = i + 1;
    if (from == events->size() && SagaTerminal(g.state.status)) {
      Response r;  // everything seen and nothing more will come: EventSource stops
      r.status = 204;
      return done(std::move(r));
    }
    Response r;
    r.headers.emplace_back("Content-Type", "text/event-stream");
    r.headers.emplace_back("Cache-Control", "no-store");
    r.body = EventStreamBody(*events, from, configured ? &configured->config().redactor : nullptr);
    return done(std::move(r));
  }
  if (action.empty()) {
    if (req.method != "GET") return done(Problem(405, "method-not-allowed", "Method not allowed", req.method));
    auto log = store.Attempts(id);
    if (!log.ok()) return done(StoreProblem(log.status()));
    json::object o = SagaJson(g);
    json::array attempts;
    for (const auto& a : *log) attempts.push_back(AttemptJson(a));
    o["attempts"] = std::move(attempts);
    return done(JsonResponse(200, o));
  }
  if (req.method != "POST") return done(Problem(405, "method-not-allowed", "Method not allowed", req.method));
  if (action == "cancel") return store.Cancel(id, answer);
  if (action == "mark-resolved") {
    auto body = req.body.empty() ? Result<json::value>(json::value(json::object{})) : ParseJsonStrict(req.body);
    if (!body.ok() || !body->is_object()) return done(BadParameter("the body is {\"note\": \"...\"} or empty"));
    const auto* note = body->as_object().if_contains("note");
    return store.MarkResolved(id, note && note->is_string() ? std::string(note->get_string()) : "",
                              configured ? &configured->queue() : nullptr, answer);
  }
  if (action == "retry-compensation") {
    if (!configured)
      return done(Problem(409, "saga-route-gone", "The saga's route is not configured",
                          "route '" + g.route + "' is not in this config: its steps are unknown"));
    return store.RetryCompensation(id, &configured->def(), &configured->queue(), false,
                                   [answer, configured](Result<Saga> r) {
                                     if (r.ok()) configured->Wake();
                                     answer(std::move(r));
                                   });
  }
  done(Problem(404, "not-found", "No such action",
               "'" + action.substr(0, 40) + "' (events, cancel, retry-compensation, mark-resolved)"));
}

}  // namespace writ
