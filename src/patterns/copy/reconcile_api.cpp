#include "patterns/copy/reconcile_api.h"

#include <boost/json.hpp>

#include "core/api_key.h"
#include "core/api_params.h"
#include "core/json.h"
#include "core/problem.h"
#include "store/commands.h"

namespace writ {

namespace json = boost::json;

namespace {

constexpr const char* kBase = "/v1/reconciliations";

json::value Time(Millis ms) { return ms > 0 ? json::value(FormatTimestamp(ms)) : json::value(nullptr); }

Response NotFound(const std::string& id) {
  return Problem(404, "reconciliation-not-found", "No such reconciliation",
                 "no reconciliation has the id '" + id + "'");
}

}  // namespace

json::object ReconciliationJson(const Reconciliation& r) {
  double ratio = r.compared > 0 ? static_cast<double>(r.mismatches()) / static_cast<double>(r.compared) : 0.0;
  return {{"reconciliationId", r.id},
          {"route", r.route},
          {"status", r.status},
          {"repair", r.repair},
          {"dryRun", r.dry_run},
          {"startedBy", r.trigger},
          {"checkpoint", r.checkpoint},
          {"chunks", r.chunks},
          {"compared", r.compared},
          {"skippedPending", r.skipped},
          {"mismatches", r.mismatches()},
          {"mismatchRatio", ratio},
          {"missingLocal", r.missing_local},
          {"missingMaster", r.missing_master},
          {"differ", r.differ},
          {"repaired", r.repaired},
          {"error", r.error.empty() ? json::value(nullptr) : json::value(r.error)},
          {"createdAt", Time(r.created_at)},
          {"updatedAt", Time(r.updated_at)},
          {"finishedAt", Time(r.finished_at)}};
}

json::object MismatchJson(const Mismatch& m) {
  json::object o{{"id", m.entity}, {"kind", MismatchKindName(m.kind)}, {"repaired", m.repaired}};
  if (!m.pointers.empty()) {
    json::array ptrs;
    for (size_t i = 0; i <= m.pointers.size();) {
      size_t j = m.pointers.find(',', i);
      if (j == std::string::npos) j = m.pointers.size();
      ptrs.push_back(json::string(m.pointers.substr(i, j - i)));
      i = j + 1;
    }
    o["pointers"] = std::move(ptrs);
  }
  return o;
}

std::vector<ApiEndpoint> ReconcileApi::Endpoints() const {
  return {{"GET", kBase, kRoleReader | kRoleOperator, false},
          {"GET", std::string(kBase) + "/{id}", kRoleReader | kRoleOperator, false},
          {"POST", kBase, kRoleOperator, true}};
}

void ReconcileApi::Handle(const Request& req, std::function<void(Response)> done) {
  ReconcileStore store(db_);
  auto q = ParseQuery(req.target);
  if (req.path == kBase && req.method == "POST") {
    auto body = ParseJsonStrict(req.body);
    if (!body.ok() || !body->is_object())
      return done(Problem(400, "invalid-json", "Invalid JSON body", "expected {\"route\", \"repair\", \"dryRun\"}"));
    const auto& o = body->as_object();
    std::string route, repair = "report";
    bool dry_run = false;
    for (const auto& kv : o) {
      if (kv.key() == "route" && kv.value().is_string())
        route = std::string(kv.value().get_string());
      else if (kv.key() == "repair" && kv.value().is_string())
        repair = std::string(kv.value().get_string());
      else if (kv.key() == "dryRun" && kv.value().is_bool())
        dry_run = kv.value().get_bool();
      else
        return done(
            Problem(422, "invalid-field", "Invalid field",
                    "'" + std::string(kv.key()) + "' is not a field (route, repair, dryRun) or has the wrong type"));
    }
    if (!routes_.count(route))
      return done(Problem(422, "route-not-reconcilable", "The route cannot be reconciled",
                          "'" + route.substr(0, 80) + "' is no dual-copy route with copy.reconcile.path"));
    if (repair != "report" && repair != "master-wins" && repair != "local-wins" && repair != "restore")
      return done(
          Problem(422, "invalid-field", "Invalid field", "repair is report, master-wins, local-wins or restore"));
    // Leased to nobody: the route's runner takes it up within a second.
    auto r = store.Create(route, repair, dry_run, "api", "", 0);
    if (!r.ok()) return done(StoreProblem(r.status()));
    Response resp = JsonResponse(202, ReconciliationJson(*r));
    resp.headers.emplace_back("Location", std::string(kBase) + "/" + r->id);
    return done(resp);
  }
  if (req.method != "GET") return done(Problem(405, "method-not-allowed", "Method not allowed", req.method));
  auto limit = ParseLimit(q["limit"], req.path == kBase ? 20 : 100);
  if (!limit) return done(BadParameter("limit must be an integer from 1 to 1000"));
  if (req.path == kBase) {
    auto rows = store.List(q["route"], *limit);
    if (!rows.ok()) return done(StoreProblem(rows.status()));
    json::array items;
    for (const auto& r : *rows) items.push_back(ReconciliationJson(r));
    return done(JsonResponse(200, {{"reconciliations", std::move(items)}}));
  }
  std::string id = req.path.substr(std::string(kBase).size() + 1);
  auto r = store.Get(id);
  if (!r.ok()) return done(StoreProblem(r.status()));
  if (!r->has_value()) return done(NotFound(id.substr(0, 64)));
  auto after = ParseCursor(q["after"], 0);
  if (!after) return done(BadParameter("after must be a value from an earlier page's nextCursor"));
  auto rows = store.Mismatches(id, *after, *limit);
  if (!rows.ok()) return done(StoreProblem(rows.status()));
  json::object o = ReconciliationJson(**r);
  json::array items;
  for (const auto& m : *rows) items.push_back(MismatchJson(m));
  o["items"] = std::move(items);
  if (static_cast<int>(rows->size()) == *limit) o["nextCursor"] = std::to_string(rows->back().seq);
  done(JsonResponse(200, o));
}

}  // namespace writ
