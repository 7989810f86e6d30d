// `writ copy status|load|pending`: dual copies, straight on the store. Safe
// while `writ serve` runs: `load` resets the refresh's cursor in one
// transaction, and the running refresh pages the whole collection at its
// next interval (a pass under way stops at its next page).
#include <iostream>

#include <boost/json.hpp>

#include "cli/commands.h"
#include "core/units.h"
#include "patterns/copy/copy_config.h"
#include "patterns/copy/copy_route.h"
#include "patterns/copy/copy_store.h"
#include "patterns/local_copy/edge_json.h"
#include "store/commands.h"

namespace writ {
namespace {

namespace json = boost::json;

std::vector<const RouteConfig*> CopyRoutes(const Config& config, const std::string& name) {
  std::vector<const RouteConfig*> out;
  for (const auto& r : config.routes)
    if (r.mode == "dual-copy" && (name.empty() || r.name == name)) out.push_back(&r);
  if (out.empty())
    std::cerr << (name.empty() ? std::string("the config has no dual-copy route")
                               : "'" + name + "' is no dual-copy route of the config (give its name, e.g. /customers)")
              << "\n";
  return out;
}

json::value Time(Millis ms) { return ms > 0 ? json::value(FormatTimestamp(ms)) : json::value(nullptr); }

}  // namespace

int RunCopyStatus(const CopyOptions& o) {
  Config config;
  auto store = OpenStoreOrSay(o.config_path, true, &config);
  if (!store) return 1;
  auto routes = CopyRoutes(config, o.route);
  if (routes.empty()) return 1;
  CopyStore copy(store->db());
  EdgeStore records(store->db());
  Millis now = store->Now();
  json::array all;
  if (!o.json) std::cout << "ROUTE\tAS_OF\tAGE\tSTALE\tPENDING\tCURSOR\tITEMS\tREFRESHING\tLAST_ERROR\n";
  for (const RouteConfig* route : routes) {
    const auto& s = route->settings_as<CopySettings>();
    auto st = copy.Get(route->name);
    auto n = records.Counts(route->name);
    if (!st.ok() || !n.ok()) {
      std::cerr << (st.ok() ? n.status().message() : st.status().message()) << "\n";
      return 1;
    }
    bool stale = st->as_of == 0 || now - st->as_of > s.max_staleness;
    bool refreshing = st->lease_until > now;
    if (o.json) {
      all.push_back({{"route", route->name},
                     {"asOf", Time(st->as_of)},
                     {"ageSeconds", st->as_of > 0 ? json::value((now - st->as_of) / 1000) : json::value(nullptr)},
                     {"maxStalenessSeconds", s.max_staleness / 1000},
                     {"stale", stale},
                     {"pending", n->pending},
                     {"conflict", n->conflict},
                     {"cursor", st->cursor},
                     {"loading", st->loading},
                     {"refreshing", refreshing},
                     {"passItems", st->pass_items},
                     {"passPages", st->pass_pages},
                     {"totalItems", st->total_items},
                     {"lastSuccess", Time(st->last_success)},
                     {"lastAttempt", Time(st->last_attempt)},
                     {"lastError", st->last_error}});
      continue;
    }
    std::cout << route->name << "\t" << (st->as_of > 0 ? FormatTimestamp(st->as_of) : "never") << "\t"
              << (st->as_of > 0 ? FormatDuration(now - st->as_of) : "-") << "\t" << (stale ? "yes" : "no") << "\t"
              << n->pending << "\t" << (st->cursor.empty() ? "-" : st->cursor) << "\t" << st->pass_items << "\t"
              << (refreshing ? (st->loading ? "loading" : "yes") : (st->loading ? "load requested" : "no")) << "\t"
              << st->last_error << "\n";
  }
  if (o.json) std::cout << json::serialize(all) << "\n";
  return 0;
}

int RunCopyLoad(const CopyOptions& o) {
  Config config;
  auto store = OpenStoreOrSay(o.config_path, false, &config);
  if (!store) return 1;
  auto routes = CopyRoutes(config, o.route);
  if (routes.empty()) return 1;
  CopyStore copy(store->db());
  if (auto s = copy.RequestLoad(o.route); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  const auto& s = routes.front()->settings_as<CopySettings>();
  std::cout << "full load of " << o.route << " requested: the running gateway pages the master's whole collection "
            << "within " << FormatDuration(s.refresh.interval) << "; follow it with `writ copy status " << o.route
            << "`\n";
  return 0;
}

int RunCopyPending(const CopyOptions& o) {
  Config config;
  auto store = OpenStoreOrSay(o.config_path, true, &config);
  if (!store) return 1;
  auto routes = CopyRoutes(config, o.route);
  if (routes.empty()) return 1;
  EdgeStore records(store->db());
  EdgeFilter f;
  f.route = o.route;
  f.status = SyncStatus::kPending;
  f.limit = o.limit;
  auto rows = records.List(f);
  if (!rows.ok()) {
    std::cerr << rows.status().message() << "\n";
    return 1;
  }
  json::array all;
  if (!o.json) std::cout << "ID\tVERSION\tPENDING\tSINCE\tREASON\n";
  for (const auto& r : *rows) {
    if (o.json) {
      all.push_back(EdgeRecordJson(r, routes.front()->path, false));
      continue;
    }
    std::cout << (r.canonical_id.empty() ? r.id : r.canonical_id) << "\t" << r.version << "\t" << r.pending << "\t"
              << (r.oldest_pending > 0 ? FormatTimestamp(r.oldest_pending) : "-") << "\t" << r.reason << "\n";
  }
  if (o.json) std::cout << json::serialize(all) << "\n";
  return 0;
}

}  // namespace writ
