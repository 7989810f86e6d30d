#include "queue/submissions_api.h"

#include <boost/json.hpp>

#include "core/json.h"
#include "core/problem.h"
#include "core/units.h"
#include "core/api_params.h"
#include "core/log.h"
#include "core/api_key.h"
#include "core/tenant.h"
#include "queue/queue_config.h"

namespace writ {
namespace {

namespace json = boost::json;

constexpr const char* kPrefix = "/v1/submissions";
constexpr Millis kMaxWait = 60'000;
constexpr Millis kPoll = 25;
constexpr Millis kSseHold = 25'000;

Response NotFound(const std::string& id) {
  return Problem(404, "submission-not-found", "No such submission", "no submission has the id '" + id + "'");
}

// Splits "/v1/submissions/ID/rest" into ID and rest ("" if none).
void SplitId(const std::string& path, std::string& id, std::string& rest) {
  std::string tail = path.substr(std::string(kPrefix).size() + 1);
  auto slash = tail.find('/');
  id = tail.substr(0, slash);
  rest = slash == std::string::npos ? "" : tail.substr(slash + 1);
}

}  // namespace

SubmissionsApi::SubmissionsApi(Store& store, Scheduler& scheduler) : store_(store), scheduler_(scheduler) {}

const Redactor* SubmissionsApi::RedactorFor(const std::string& route) const {
  auto it = routes_.find(route);
  return it == routes_.end() ? nullptr : it->second.redact;
}

void SubmissionsApi::AddRoute(const std::string& route, RouteHooks hooks) { routes_[route] = std::move(hooks); }

std::vector<ApiEndpoint> SubmissionsApi::Endpoints() {
  constexpr unsigned kAny = kRoleClient | kRoleReader | kRoleOperator;
  return {{"GET", "/v1/submissions", kAny, false},
          {"GET", "/v1/submissions/{id}", kAny, false},
          {"GET", "/v1/submissions/{id}/events", kAny, false},
          {"POST", "/v1/submissions/{id}/retry", kRoleOperator, true},
          {"POST", "/v1/submissions/{id}/cancel", kRoleOperator, true}};
}

void SubmissionsApi::Handle(const Request& req, std::function<void(Response)> done) {
  if (req.path == kPrefix) {
    if (req.method != "GET") {
      Response r = Problem(405, "method-not-allowed", "Method not allowed", "use GET to list submissions");
      r.headers.emplace_back("Allow", "GET");
      return done(std::move(r));
    }
    return List(req, std::move(done));
  }
  std::string id, rest;
  SplitId(req.path, id, rest);
  if (id.empty() || id.size() > 64 || id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
    return done(NotFound(id.substr(0, 64)));
  const char* allow = rest.empty() || rest == "events" ? "GET" : (rest == "retry" || rest == "cancel") ? "POST" : nullptr;
  if (!allow)
    return done(Problem(404, "not-found", "No such resource", req.method + " " + req.path + " is not part of the API"));
  if (req.method != allow) {
    Response r = Problem(405, "method-not-allowed", "Method not allowed", std::string("use ") + allow);
    r.headers.emplace_back("Allow", allow);
    return done(std::move(r));
  }
  auto query = ParseQuery(req.target);
  std::string scope = ReadScope(req);
  if (rest == "retry" || rest == "cancel") {
    bool force = false;
    for (const auto& [k, v] : query) {
      if (rest == "retry" && k == "force" && v == "unknown") {
        force = true;
        continue;
      }
      return done(Problem(400, "invalid-parameter", "Invalid parameter",
                          rest == "retry" ? "the only parameter of retry is force=unknown"
                                          : "cancel takes no parameters"));
    }
    return Action(scope, id, rest, force, std::move(done));
  }
  if (rest == "events") {
    std::string last(FindHeader(req.headers, "Last-Event-ID").value_or(""));
    if (last.empty() && query.count("lastEventId")) last = query["lastEventId"];
    return Events(scope, id, last, store_.Now() + kSseHold, std::move(done));
  }
  Millis wait = 0;
  if (auto it = query.find("wait"); it != query.end()) {
    auto d = ParseDuration(it->second);
    if (!d || *d < 0)
      return done(Problem(400, "invalid-parameter", "Invalid parameter",
                          "wait must be a duration such as 30s, got '" + it->second + "'"));
    wait = std::min(*d, kMaxWait);
  }
  Get(scope, id, wait > 0 ? store_.Now() + wait : 0, std::move(done));
}

void SubmissionsApi::Get(const std::string& scope, const std::string& id, Millis deadline,
                         std::function<void(Response)> done) {
  auto c = store_.queue().GetCommand(id);
  if (!c.ok()) return done(StoreProblem(c.status()));
  if (!c->has_value() || !InScope(scope, (*c)->tenant)) return done(NotFound(id));
  if (deadline == 0 || IsTerminal((*c)->status) || store_.Now() >= deadline)
    return done(JsonResponse(200, SubmissionToJson(**c, RedactorFor((*c)->route))));
  scheduler_.After(kPoll, [this, scope, id, deadline, done = std::move(done)]() mutable {
    Get(scope, id, deadline, std::move(done));
  });
}

void SubmissionsApi::List(const Request& req, std::function<void(Response)> done) {
  auto q = ParseQuery(req.target);
  auto bad = [&](const std::string& detail) {
    done(Problem(400, "invalid-parameter", "Invalid parameter", detail));
  };
  for (const auto& [k, v] : q)
    if (k != "route" && k != "status" && k != "limit" && k != "cursor" && k != "key")
      return bad("unknown parameter '" + k + "' (use route, status, limit, cursor, key)");
  std::string scope = ReadScope(req);
  CommandFilter f;
  f.tenant = scope;
  f.route = q["route"];
  if (!f.route.empty() && !routes_.count(f.route)) return bad("no async route is named '" + f.route + "'");
  if (q.count("key")) {
    if (f.route.empty()) return bad("key needs route: keys are scoped per route");
    auto rec = store_.keys().Lookup({scope.empty() ? kDefaultTenant : scope, f.route, q["key"]});
    if (!rec.ok()) return done(StoreProblem(rec.status()));
    std::string id;
    if (rec->has_value()) {
      auto body = ParseJsonStrict((*rec)->response.body);
      if (body.ok() && body->is_object())
        if (auto* s = body->as_object().if_contains("submissionId"); s && s->is_string()) id = s->get_string();
    }
    if (id.empty())
      return done(Problem(404, "submission-not-found", "No such submission",
                          "no submission was accepted with this key on route '" + f.route + "'"));
    return Get(scope, id, 0, std::move(done));
  }
  if (auto& s = q["status"]; !s.empty()) {
    f.status = ParseSubmissionStatus(s);
    if (!f.status) return bad("status must be accepted, processing, succeeded, failed, dead, cancelled or duplicate");
  }
  auto limit = ParseLimit(q["limit"], f.limit);
  if (!limit) return bad("limit must be an integer from 1 to 1000");
  f.limit = *limit;
  auto cursor = ParseCursor(q["cursor"], 0);
  if (!cursor) return bad("cursor must be a value returned as nextCursor");
  f.after_seq = *cursor;
  auto rows = store_.queue().ListCommands(f);
  if (!rows.ok()) return done(StoreProblem(rows.status()));
  json::array items;
  for (const auto& c : *rows) items.push_back(SubmissionToJson(c, RedactorFor(c.route)));
  json::value next = nullptr;
  if (static_cast<int>(rows->size()) == f.limit) next = std::to_string(rows->back().seq);
  done(JsonResponse(200, {{"items", std::move(items)}, {"nextCursor", next}}));
}

void SubmissionsApi::Action(const std::string& scope, const std::string& id, const std::string& action, bool force,
                            std::function<void(Response)> done) {
  auto c = store_.queue().GetCommand(id);
  if (!c.ok()) return done(StoreProblem(c.status()));
  if (!c->has_value() || !InScope(scope, (*c)->tenant)) return done(NotFound(id));
  std::string route = (*c)->route;
  auto hooks = routes_.find(route);
  EventSinks notify = hooks != routes_.end() ? hooks->second.notify : 0;
  Millis retention = hooks != routes_.end() ? hooks->second.retention : QueueConfig().retention;
  // Re-sending is safe where the master honours keys (the same derived key
  // again); on park routes only after a probe or an operator said so.
  bool allow_unknown = force || hooks == routes_.end() || !hooks->second.park;
  if (hooks != routes_.end() && hooks->second.saga) {
    std::string saga = (*c)->ordering_key;
    return done(Problem(409, "submission-owned-by-saga", "The submission is a saga's request",
                        "it is a step or compensation of saga " + saga + ", which retries and compensates it itself; " +
                            (action == "retry" ? "for a parked compensation use POST /v1/sagas/" + saga +
                                                     "/retry-compensation"
                                               : "to stop the saga use POST /v1/sagas/" + saga + "/cancel"),
                        {{"sagaId", saga}}));
  }
  int unknown_attempt = (*c)->unknown_attempt;
  auto after = [this, id, action, route, force, unknown_attempt, done = std::move(done)](Result<ActionResult> r) {
    if (!r.ok()) return done(StoreProblem(r.status()));
    if (*r == ActionResult::kNotFound) return done(NotFound(id));
    if (*r == ActionResult::kPossiblyApplied) {
      LogJson("warn", "redrive refused: possibly applied", {{"submission", id}, {"route", route}});
      return done(Problem(409, "submission-possibly-applied", "Submission may have been applied",
                          "an attempt of this submission ended with an unknown outcome, so the master may have "
                          "applied it; this route never sends twice on its own. Check the master, then retry with "
                          "?force=unknown (or writ dead replay --unknown-ok) if it was not applied",
                          {{"possiblyAppliedAttempt", unknown_attempt}}));
    }
    auto now = store_.queue().GetCommand(id);
    if (!now.ok() || !now->has_value()) return done(StoreProblem(now.ok() ? Status(Code::kInternal, "gone") : now.status()));
    if (*r == ActionResult::kWrongState) {
      std::string status = SubmissionStatusName((*now)->status);
      return done(action == "retry"
                      ? Problem(409, "submission-not-retryable", "Submission cannot be retried",
                                "only failed or dead submissions can be retried; this one is " + status,
                                {{"status", status}})
                      : Problem(409, "submission-not-cancellable", "Submission cannot be cancelled",
                                "only accepted submissions that were never attempted can be cancelled; this one is " +
                                    status,
                                {{"status", status}}));
    }
    LogJson("info", action == "retry" ? "submission redriven" : "submission cancelled",
            {{"submission", id}, {"route", route}, {"redrives", (*now)->redrives}, {"forced", force}});
    if (action == "retry")
      if (auto it = routes_.find(route); it != routes_.end() && it->second.wake) it->second.wake();
    done(JsonResponse(200, SubmissionToJson(**now, RedactorFor((*now)->route))));
  };
  if (action == "retry") store_.queue().Redrive(id, notify, allow_unknown, std::move(after));
  else store_.queue().Cancel(id, notify, retention, std::move(after));
}

void SubmissionsApi::Events(const std::string& scope, const std::string& id, const std::string& last_event_id,
                            Millis deadline, std::function<void(Response)> done) {
  auto c = store_.queue().GetCommand(id);
  if (!c.ok()) return done(StoreProblem(c.status()));
  if (!c->has_value() || !InScope(scope, (*c)->tenant)) return done(NotFound(id));
  auto events = store_.queue().ListEvents(id, 0);
  if (!events.ok()) return done(StoreProblem(events.status()));
  size_t from = 0;
  if (!last_event_id.empty())
    for (size_t i = 0; i < events->size(); ++i)
      if ((*events)[i].id == last_event_id) from = i + 1;
  bool terminal = IsTerminal((*c)->status);
  if (from == events->size()) {
    if (terminal) {  // everything seen and nothing more will come: tell EventSource to stop
      Response r;
      r.status = 204;
      return done(std::move(r));
    }
    if (store_.Now() < deadline) {
      scheduler_.After(kPoll * 2, [this, scope, id, last_event_id, deadline, done = std::move(done)]() mutable {
        Events(scope, id, last_event_id, deadline, std::move(done));
      });
      return;
    }
  }
  Response r;
  r.headers.emplace_back("Content-Type", "text/event-stream");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = EventStreamBody(*events, from, RedactorFor((*c)->route));
  done(std::move(r));
}

}  // namespace writ
