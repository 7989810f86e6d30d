// `writ edge list|conflicts|show|resolve|resync`: the records of edge
// routes, their conflicts and what an operator does about them, straight on
// the store (like `writ drafts`). Safe while `writ serve` runs: reads use
// their own connection; a resolution is one transaction that queues the
// change the running sync worker sends at its next poll.
#include <iostream>

#include <boost/json.hpp>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/tenant.h"
#include "patterns/local_copy/edge_config.h"
#include "patterns/local_copy/edge_json.h"

namespace writ {
namespace {

namespace json = boost::json;

// The edge routes of `config` that `o.route` names (all when it names none);
// empty, with a message, when it names no edge route.
std::vector<const RouteConfig*> EdgeRoutes(const Config& config, const std::string& name) {
  std::vector<const RouteConfig*> out;
  for (const auto& r : config.routes)
    if ((r.mode == "edge" || r.mode == "dual-copy") && (name.empty() || r.name == name)) out.push_back(&r);
  if (out.empty())
    std::cerr << (name.empty() ? std::string("the config has no edge or dual-copy route")
                               : "'" + name + "' is no edge or dual-copy route of the config (give its name, e.g. /orders)")
              << "\n";
  return out;
}

// The record as JSON, with the route's redacted fields hidden.
json::object Shown(const Config& config, const RouteConfig& route, const EdgeRecord& r, bool with_data) {
  json::object o = EdgeRecordJson(r, route.path, with_data);
  o["route"] = r.route;
  o["tenant"] = r.tenant;
  if (const Redactor* redact = RouteRedactor(config, r.route)) {
    if (auto* d = o.if_contains("data")) redact->Apply(*d);
    if (auto* c = o.if_contains("conflict"))
      if (auto* m = c->as_object().if_contains("masterVersion")) redact->Apply(*m);
  }
  return o;
}

// The record `o.ids[0]` of the route `o.route` (either id), or nullopt and a message.
std::optional<EdgeRecord> Find(EdgeStore& records, const EdgeOptions& o, const std::string& id) {
  std::string tenant = o.tenant.empty() ? kDefaultTenant : o.tenant;
  auto r = records.Get(tenant, o.route, id);
  if (r.ok() && r->has_value()) return **r;
  std::cerr << id << ": " << (r.ok() ? "no such record on " + o.route + " (tenant " + tenant + ")" : r.status().message())
            << "\n";
  return std::nullopt;
}

}  // namespace

int RunEdgeList(const EdgeOptions& o) {
  Config config;
  auto store = OpenStoreOrSay(o.config_path, true, &config);
  if (!store) return 1;
  auto routes = EdgeRoutes(config, o.route);
  if (routes.empty()) return 1;
  EdgeStore records(store->db());
  json::array all;
  if (!o.json) std::cout << "ROUTE\tID\tCANONICAL_ID\tVERSION\tSTATUS\tPENDING\tUPDATED\tREASON\n";
  size_t n = 0;
  for (const RouteConfig* route : routes) {
    EdgeFilter f;
    f.tenant = o.tenant;
    f.route = route->name;
    f.limit = o.limit;
    if (!o.status.empty()) f.status = ParseSyncStatus(o.status);
    auto rows = records.List(f);
    if (!rows.ok()) {
      std::cerr << rows.status().message() << "\n";
      return 1;
    }
    n += rows->size();
    for (const auto& r : *rows) {
      if (o.json) {
        all.push_back(Shown(config, *route, r, false));
        continue;
      }
      std::cout << r.route << '\t' << r.id << '\t' << (r.canonical_id.empty() ? "-" : r.canonical_id) << '\t'
                << r.version << '\t' << SyncStatusName(r.sync_status) << (r.held ? " (held)" : "") << '\t'
                << r.pending << '\t' << FormatTimestamp(r.updated_at) << '\t' << (r.reason.empty() ? "-" : r.reason)
                << '\n';
    }
  }
  if (o.json) std::cout << json::serialize(all) << "\n";
  std::cerr << n << " record(s)\n";
  return 0;
}

int RunEdgeShow(const EdgeOptions& o) {
  Config config;
  auto store = OpenStoreOrSay(o.config_path, true, &config);
  if (!store) return 1;
  auto routes = EdgeRoutes(config, o.route);
  if (routes.size() != 1) return 1;
  EdgeStore records(store->db());
  int rc = 0;
  for (const auto& id : o.ids) {
    auto r = Find(records, o, id);
    if (!r) {
      rc = 1;
      continue;
    }
    json::object j = Shown(config, *routes[0], *r, true);
    j["deleted"] = r->deleted;
    json::array history;
    auto h = records.History(*r);
    if (h.ok()) {
      for (const auto& e : *h) {
        auto parsed = ParseJsonStrict(e.data);
        json::value data = parsed.ok() ? std::move(*parsed) : json::value(nullptr);
        if (const Redactor* redact = RouteRedactor(config, r->route)) redact->Apply(data);
        history.push_back({{"version", e.version},
                           {"data", std::move(data)},
                           {"deleted", e.deleted},
                           {"overwrittenBy", e.reason},
                           {"at", FormatTimestamp(e.at)}});
      }
    }
    j["history"] = std::move(history);
    std::cout << json::serialize(j) << "\n";
  }
  return rc;
}

namespace {

int Act(const EdgeOptions& o, EdgeResolve::Action action) {
  Config config;
  auto store = OpenStoreOrSay(o.config_path, false, &config);
  if (!store) return 1;
  auto routes = EdgeRoutes(config, o.route);
  if (routes.size() != 1) return 1;
  const auto& settings = routes[0]->settings_as<EdgeSettings>();
  EdgeStore records(store->db());
  int rc = 0;
  for (const auto& id : o.ids) {
    EdgeResolve req;
    req.action = action;
    req.tenant = o.tenant.empty() ? kDefaultTenant : o.tenant;
    req.route = routes[0]->name;
    req.id = id;
    req.update_method = settings.update_method;
    req.command.id = TimeOrderedId("sub_", SystemClock().NowMs());
    req.command.headers.emplace_back("Content-Type", "application/json");
    auto r = records.Resolve(req);
    std::string problem;
    if (!r.ok()) problem = r.status().message();
    else if (*r == EdgeResolveStatus::kNotFound) problem = "no such record on " + req.route + " (tenant " + req.tenant + ")";
    else if (*r == EdgeResolveStatus::kNotHeld) problem = "the record awaits no resolution (see writ edge conflicts)";
    else if (*r == EdgeResolveStatus::kHeld) problem = "the record is in a conflict: resolve it with --take local|master";
    else if (*r == EdgeResolveStatus::kNotUnsynced) problem = "the record is pending or synced already";
    else if (*r == EdgeResolveStatus::kNoMasterVersion)
      problem = "the master's version could not be read; --take local is the way out";
    if (!problem.empty()) {
      std::cerr << id << ": " << problem << "\n";
      rc = 1;
      continue;
    }
    if (action == EdgeResolve::kTakeMaster)
      std::cout << id << ": the master's version replaced the local one (kept in the record's history)\n";
    else
      std::cout << id << ": its local state is queued for the master (writ edge show " << req.route << " " << id
                << ")\n";
  }
  return rc;
}

}  // namespace

int RunEdgeResolve(const EdgeOptions& o) {
  return Act(o, o.take == "master" ? EdgeResolve::kTakeMaster : EdgeResolve::kTakeLocal);
}

int RunEdgeResync(const EdgeOptions& o) { return Act(o, EdgeResolve::kResync); }

}  // namespace writ
