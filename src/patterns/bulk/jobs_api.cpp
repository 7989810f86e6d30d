#include "patterns/bulk/jobs_api.h"

#include <cmath>

#include <boost/json.hpp>
#include <boost/url/decode_view.hpp>
#include <boost/url/pct_string_view.hpp>

#include "core/problem.h"
#include "core/api_params.h"
#include "core/log.h"
#include "core/api_key.h"
#include "core/tenant.h"

namespace writ {
namespace {

namespace json = boost::json;

constexpr const char* kJobs = "/v1/jobs";
constexpr const char* kRoutes = "/v1/routes/";

Response NotFound(const std::string& id) {
  return Problem(404, "job-not-found", "No such job", "no job has the id '" + id + "'");
}

Response WrongMethod(const char* allow) {
  Response r = Problem(405, "method-not-allowed", "Method not allowed", std::string("use ") + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

bool ValidId(const std::string& id) {
  return !id.empty() && id.size() <= 64 &&
         id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
}

}  // namespace

JobsApi::JobsApi(Store& store) : store_(store) {}

void JobsApi::AddRoute(const std::string& route, RouteHooks hooks) { routes_[route] = std::move(hooks); }

std::vector<ApiEndpoint> JobsApi::Endpoints() const {
  constexpr unsigned kAny = kRoleClient | kRoleReader | kRoleOperator;
  return {{"GET", "/v1/jobs", kAny, false},
          {"GET", "/v1/jobs/{id}", kAny, false},
          {"GET", "/v1/jobs/{id}/items", kAny, false},
          {"POST", "/v1/jobs/{id}/replay", kRoleOperator, true},
          {"GET", "/v1/routes/{route}/buffer", kAny, false},
          // A route's buffer is every tenant's: a key of tenant "*" only (403 otherwise).
          {"POST", "/v1/routes/{route}/pause", kRoleOperator, true},
          {"POST", "/v1/routes/{route}/resume", kRoleOperator, true}};
}

void JobsApi::Handle(const Request& req, std::function<void(Response)> done) {
  if (req.path.rfind(kRoutes, 0) == 0) return Route(req, std::move(done));
  if (req.path == kJobs) {
    if (req.method != "GET") return done(WrongMethod("GET"));
    return List(req, std::move(done));
  }
  std::string tail = req.path.substr(std::string(kJobs).size() + 1);
  auto slash = tail.find('/');
  std::string id = tail.substr(0, slash);
  std::string rest = slash == std::string::npos ? "" : tail.substr(slash + 1);
  if (!ValidId(id)) return done(NotFound(id.substr(0, 64)));
  const char* allow = rest.empty() || rest == "items" ? "GET" : rest == "replay" ? "POST" : nullptr;
  if (!allow)
    return done(Problem(404, "not-found", "No such resource", req.method + " " + req.path + " is not part of the API"));
  if (req.method != allow) return done(WrongMethod(allow));
  std::string scope = ReadScope(req);
  if (rest == "items") return Items(scope, id, req, std::move(done));
  if (rest == "replay") {
    bool force = false;
    for (const auto& [k, v] : ParseQuery(req.target)) {
      if (k == "force" && v == "unknown") {
        force = true;
        continue;
      }
      return done(Problem(400, "invalid-parameter", "Invalid parameter", "the only parameter of replay is force=unknown"));
    }
    return Replay(scope, id, force, std::move(done));
  }
  Get(scope, id, std::move(done));
}

void JobsApi::Get(const std::string& scope, const std::string& id, std::function<void(Response)> done) {
  auto job = store_.jobs().GetJob(id);
  if (!job.ok()) return done(StoreProblem(job.status()));
  if (!job->has_value() || !InScope(scope, (*job)->tenant)) return done(NotFound(id));
  const Job& j = **job;
  json::object o = JobToJson(j);
  auto hooks = routes_.find(j.route);
  double rate = hooks != routes_.end() && hooks->second.drain_rate ? hooks->second.drain_rate() : 0;
  o["rate"] = static_cast<int64_t>(std::llround(rate));  // items/s the route drained recently
  // ETA: everything queued before this job's last item drains first.
  if (j.remaining() == 0) o["etaSeconds"] = 0;
  else if (rate > 0) o["etaSeconds"] = static_cast<int64_t>(std::ceil(static_cast<double>(j.ahead) / rate));
  else o["etaSeconds"] = nullptr;
  o["itemsAhead"] = j.ahead;
  done(JsonResponse(200, o));
}

void JobsApi::List(const Request& req, std::function<void(Response)> done) {
  auto q = ParseQuery(req.target);
  for (const auto& [k, v] : q)
    if (k != "route" && k != "limit" && k != "cursor")
      return done(BadParameter("unknown parameter '" + k + "' (use route, limit, cursor)"));
  JobFilter f;
  f.tenant = ReadScope(req);
  f.route = q["route"];
  if (!f.route.empty() && !routes_.count(f.route))
    return done(BadParameter("no buffered route is named '" + f.route + "'"));
  auto limit = ParseLimit(q["limit"], f.limit);
  if (!limit) return done(BadParameter("limit must be an integer from 1 to 1000"));
  f.limit = *limit;
  auto cursor = ParseCursor(q["cursor"], 0);
  if (!cursor) return done(BadParameter("cursor must be a value returned as nextCursor"));
  f.before_seq = *cursor;
  auto rows = store_.jobs().ListJobs(f);
  if (!rows.ok()) return done(StoreProblem(rows.status()));
  json::array items;
  for (const auto& j : *rows) items.push_back(JobToJson(j));
  json::value next = nullptr;
  if (static_cast<int>(rows->size()) == f.limit) next = std::to_string(rows->back().seq);
  done(JsonResponse(200, {{"items", std::move(items)}, {"nextCursor", next}}));
}

void JobsApi::Items(const std::string& scope, const std::string& id, const Request& req,
                    std::function<void(Response)> done) {
  auto q = ParseQuery(req.target);
  for (const auto& [k, v] : q)
    if (k != "status" && k != "limit" && k != "cursor")
      return done(BadParameter("unknown parameter '" + k + "' (use status, limit, cursor)"));
  CommandFilter f;
  f.job_id = id;
  if (auto& s = q["status"]; !s.empty()) {
    f.status = ParseSubmissionStatus(s);
    if (!f.status || *f.status == SubmissionStatus::kCancelled)
      return done(BadParameter("status must be accepted, processing, succeeded, failed, dead or duplicate"));
  }
  auto limit = ParseLimit(q["limit"], f.limit);
  if (!limit) return done(BadParameter("limit must be an integer from 1 to 1000"));
  f.limit = *limit;
  auto cursor = ParseCursor(q["cursor"], 0);
  if (!cursor) return done(BadParameter("cursor must be a value returned as nextCursor"));
  f.after_seq = *cursor;
  auto job = store_.jobs().GetJob(id);
  if (!job.ok()) return done(StoreProblem(job.status()));
  if (!job->has_value() || !InScope(scope, (*job)->tenant)) return done(NotFound(id));
  auto rows = store_.queue().ListCommands(f);
  if (!rows.ok()) return done(StoreProblem(rows.status()));
  json::array items;
  for (const auto& c : *rows) {
    auto hooks = routes_.find(c.route);
    json::object o = SubmissionToJson(c, hooks == routes_.end() ? nullptr : hooks->second.redact);
    o.erase("statusUrl");
    items.push_back(std::move(o));
  }
  json::value next = nullptr;
  if (static_cast<int>(rows->size()) == f.limit) next = std::to_string(rows->back().item_pos + 1);
  done(JsonResponse(200, {{"jobId", id}, {"items", std::move(items)}, {"nextCursor", next}}));
}

void JobsApi::Replay(const std::string& scope, const std::string& id, bool force, std::function<void(Response)> done) {
  auto job = store_.jobs().GetJob(id);
  if (!job.ok()) return done(StoreProblem(job.status()));
  if (!job->has_value() || !InScope(scope, (*job)->tenant)) return done(NotFound(id));
  std::string route = (*job)->route;
  auto hooks = routes_.find(route);
  bool allow_unknown = force || hooks == routes_.end() || !hooks->second.park;
  store_.jobs().ReplayJob(id, allow_unknown, [this, id, route, force, done = std::move(done)](Result<JobReplay> r) {
    if (!r.ok()) return done(StoreProblem(r.status()));
    if (auto h = routes_.find(route); h != routes_.end() && h->second.wake) h->second.wake();
    LogJson("info", "job replayed",
            {{"job", id}, {"route", route}, {"requeued", r->requeued}, {"held", r->held}, {"forced", force}});
    json::object body{{"jobId", id}, {"requeued", r->requeued}, {"statusUrl", "/v1/jobs/" + id}};
    // Items that may have been applied stay dead on an at-most-once route.
    body["heldPossiblyApplied"] = r->held;
    if (r->held > 0)
      body["detail"] = std::to_string(r->held) +
                       " item(s) may have been applied (an attempt's outcome was unknown) and were not re-queued; "
                       "check the master, then replay with ?force=unknown if they were not applied";
    done(JsonResponse(200, std::move(body)));
  });
}

void JobsApi::Route(const Request& req, std::function<void(Response)> done) {
  std::string tail = req.path.substr(std::string(kRoutes).size());
  auto slash = tail.rfind('/');
  std::string action = slash == std::string::npos ? "" : tail.substr(slash + 1);
  std::string name = slash == std::string::npos ? tail : tail.substr(0, slash);
  // Route names may hold spaces and slashes ("POST /products/bulk"): percent-encoded.
  auto encoded = boost::urls::make_pct_string_view(name);
  if (!encoded) return done(Problem(404, "route-not-found", "No such buffered route", "malformed route name"));
  name = std::string(boost::urls::decode_view(*encoded).begin(), boost::urls::decode_view(*encoded).end());
  auto hooks = routes_.find(name);
  if (hooks == routes_.end())
    return done(Problem(404, "route-not-found", "No such buffered route",
                        "no buffered route is named '" + name.substr(0, 200) + "'"));
  if (action != "buffer" && action != "pause" && action != "resume")
    return done(Problem(404, "not-found", "No such resource", "use /buffer, /pause or /resume"));
  const char* allow = action == "buffer" ? "GET" : "POST";
  if (req.method != allow) return done(WrongMethod(allow));
  // A route's buffer is shared by every tenant: pausing it is for an
  // operator of the whole gateway.
  if (action != "buffer" && !ReadScope(req).empty())
    return done(Problem(403, "forbidden", "Forbidden",
                        "pausing or resuming a route affects every tenant; it needs an operator key of tenant '*'"));
  auto answer = [this, name, done](bool) {
    auto b = store_.jobs().GetBuffer(name);
    if (!b.ok()) return done(StoreProblem(b.status()));
    const RouteHooks& h = routes_.at(name);
    double current = h.current_rate ? h.current_rate() : 0;
    double drain = h.drain_rate ? h.drain_rate() : 0;
    done(JsonResponse(200, {{"route", name},
                            {"pending", b->pending},
                            {"maxPendingItems", h.max_pending},
                            {"fillPercent", h.max_pending > 0 ? b->pending * 100 / h.max_pending : 0},
                            {"paused", b->paused},
                            {"rateLimit", h.configured_rate > 0 ? json::value(std::llround(h.configured_rate))
                                                                : json::value(nullptr)},
                            {"currentRate", h.configured_rate > 0 ? json::value(std::llround(current))
                                                                  : json::value(nullptr)},
                            {"drainRate", std::llround(drain)}}));
  };
  if (action == "buffer") return answer(false);
  bool pause = action == "pause";
  store_.jobs().SetPaused(name, pause, [hooks, pause, answer, done](Result<bool> r) {
    if (!r.ok()) return done(StoreProblem(r.status()));
    if (hooks->second.set_paused) hooks->second.set_paused(pause);
    answer(true);
  });
}

}  // namespace writ
