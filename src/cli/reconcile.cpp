// `writ reconcile ROUTE | show ID | list`: reconciliations of dual copies
// (both sides compared, src/patterns/copy/reconciler.cpp), and of edge and
// async routes (a look-up per acknowledged write, reconcile_lookup.cpp).
// A run works from this process: it reads the master over HTTP (the
// route's upstream) and the store, chunk by chunk, each chunk committed
// with its checkpoint. A run killed mid-way is resumed by the next
// `writ reconcile ROUTE` (or, for a dual copy, the gateway's runner) from
// there, once its lease ran out.
#include <iostream>

#include <boost/json.hpp>

#include "cli/commands.h"
#include "cli/reconcile_lookup.h"
#include "core/hash.h"
#include "core/units.h"
#include "http/runtime.h"
#include "http/upstream_client.h"
#include "patterns/copy/copy_config.h"
#include "patterns/copy/reconcile_api.h"
#include "patterns/copy/reconciler.h"
#include "store/commands.h"

namespace writ {
namespace {

namespace json = boost::json;

void Print(ReconcileStore& recs, const Reconciliation& r, const ReconcileOptions& o) {
  auto mismatches = recs.Mismatches(r.id, 0, o.limit);
  if (o.json) {
    json::object out = ReconciliationJson(r);
    json::array items;
    if (mismatches.ok())
      for (const auto& m : *mismatches) items.push_back(MismatchJson(m));
    out["items"] = std::move(items);
    std::cout << json::serialize(out) << "\n";
    return;
  }
  double ratio = r.compared > 0 ? static_cast<double>(r.mismatches()) / static_cast<double>(r.compared) : 0;
  std::cout << r.id << " " << r.route << ": " << r.status << (r.dry_run ? " (dry run)" : "") << ", repair " << r.repair
            << "\n  compared " << r.compared << ", skipped (writes pending) " << r.skipped << ", mismatches "
            << r.mismatches() << " (ratio " << ratio << "): missing locally " << r.missing_local
            << ", missing at the master " << r.missing_master << ", fields differ " << r.differ << "; repaired "
            << r.repaired << "\n";
  if (!r.error.empty()) std::cout << "  error: " << r.error << "\n";
  if (mismatches.ok())
    for (const auto& m : *mismatches)
      std::cout << "  " << m.entity << "\t" << MismatchKindName(m.kind) << "\t" << m.pointers
                << (m.repaired ? "\trepaired" : "") << "\n";
  if (r.mismatches() > static_cast<int64_t>(mismatches.ok() ? mismatches->size() : 0))
    std::cout << "  ... (writ reconcile show " << r.id << " --limit N, or GET /v1/reconciliations/" << r.id << ")\n";
}

// The route's unfinished run whose runner stopped (resumed, now ours), or a
// new one; nullopt (said on stderr) when another runner holds one.
std::optional<Reconciliation> StartOrResume(ReconcileStore& recs, const ReconcileOptions& o, const std::string& owner,
                                            Millis lease) {
  auto resumed = recs.Resume(o.route, owner, lease);
  if (!resumed.ok()) {
    std::cerr << resumed.status().message() << "\n";
    return std::nullopt;
  }
  if (resumed->has_value()) {
    const Reconciliation& r = **resumed;
    std::cerr << "resuming " << r.id << " (its runner stopped) after '" << r.checkpoint << "': " << r.compared
              << " compared so far\n";
    return r;
  }
  auto busy = recs.List(o.route, 5);
  if (busy.ok())
    for (const auto& b : *busy)
      if (b.status == "running") {
        std::cerr << b.id << " is under way (runner " << b.owner << "); follow it with writ reconcile show " << b.id
                  << "\n";
        return std::nullopt;
      }
  auto made = recs.Create(o.route, o.dry_run ? "report" : o.repair, o.dry_run, "cli", owner, lease);
  if (!made.ok()) {
    std::cerr << made.status().message() << "\n";
    return std::nullopt;
  }
  std::cerr << "reconciling " << o.route << " as " << made->id << " (repair " << made->repair << ")\n";
  return *made;
}

}  // namespace

int RunReconcile(const ReconcileOptions& o) {
  if (o.route.empty()) {
    std::cerr << "name the route to reconcile, e.g. writ reconcile /customers -c writ.yaml\n";
    return 1;
  }
  Config config;
  auto store = OpenStoreOrSay(o.config_path, false, &config);
  if (!store) return 1;
  // By its name ("POST /payments", "/customers"), or by its path when one route has it.
  const RouteConfig* route = nullptr;
  int by_path = 0;
  for (const auto& r : config.routes)
    if (r.name == o.route) route = &r;
  if (!route)
    for (const auto& r : config.routes)
      if (r.path == o.route && ++by_path) route = &r;
  if (!route || by_path > 1) {
    std::cerr << "'" << o.route << "' is "
              << (by_path > 1 ? "the path of more than one route: name one, e.g. 'POST /payments'"
                              : "no route of the config")
              << "\n";
    return 1;
  }
  ReconcileOptions named = o;
  named.route = route->name;
  bool copy = route->mode == "dual-copy";
  bool lookup = route->mode == "edge" || (route->mode == "async" && route->idempotency.probe.enabled());
  if (!copy && !lookup) {
    std::cerr << o.route << " is a " << route->mode << " route: writ reconcile compares dual copies with their "
              << "master, and checks edge routes (a GET per synced record) and async routes with an "
              << "idempotency.probe (a probe per succeeded submission)\n";
    return 1;
  }
  if (copy && route->settings_as<CopySettings>().reconcile.path.empty()) {
    std::cerr << o.route << " has no copy.reconcile.path: how the master lists its collection in id order, e.g. "
              << "/customers?after={after}&limit={limit}\n";
    return 1;
  }
  if (lookup && o.repair != "report" && !o.dry_run) {
    std::cerr << o.route << " is a " << route->mode << " route: its reconciliation reports what the master lacks "
              << "(--repair report); re-send a record with writ edge resync, a submission with writ submissions "
              << "retry\n";
    return 1;
  }
  const UpstreamConfig* upstream = nullptr;
  for (const auto& u : config.upstreams)
    if (u.name == route->upstream) upstream = &u;
  if (!upstream) {
    std::cerr << "the route's upstream '" << route->upstream << "' is not configured\n";
    return 1;
  }
  ReconcileStore recs(store->db());
  std::string owner = "cli-" + RandomId().substr(0, 12);
  Millis lease = copy ? route->settings_as<CopySettings>().reconcile.lease : kLookupLease;
  auto started = StartOrResume(recs, named, owner, lease);
  if (!started) return 1;
  Runtime rt(1);
  auto client = MakeHttpUpstreamClient(rt, *upstream);
  rt.Start();
  Millis last_said = 0;
  auto progress = [&](const Reconciliation& now) {
    Millis t = store->Now();
    if (t - last_said < 1000) return;
    last_said = t;
    std::cerr << now.id << ": " << now.compared << " compared, " << now.mismatches() << " mismatches, at '"
              << now.checkpoint << "'\n";
  };
  Reconciliation r;
  if (copy) {
    Reconciler reconciler(route->name, upstream->base_path + route->upstream_path, route->settings_as<CopySettings>(),
                          *upstream, store->db(), *client);
    r = reconciler.Run(std::move(*started), owner, progress);
  } else {
    r = RunLookups(std::move(*started), owner, *store, *route, *upstream, *client, progress);
  }
  rt.Stop();
  rt.Join();
  Print(recs, r, o);
  if (r.status != "done") return 1;
  return r.mismatches() > 0 ? 2 : 0;
}

int RunReconcileShow(const ReconcileOptions& o) {
  auto store = OpenStoreOrSay(o.config_path, true);
  if (!store) return 1;
  ReconcileStore recs(store->db());
  auto r = recs.Get(o.id);
  if (!r.ok() || !r->has_value()) {
    std::cerr << o.id << ": " << (r.ok() ? "no such reconciliation" : r.status().message()) << "\n";
    return 1;
  }
  Print(recs, **r, o);
  return 0;
}

int RunReconcileList(const ReconcileOptions& o) {
  auto store = OpenStoreOrSay(o.config_path, true);
  if (!store) return 1;
  ReconcileStore recs(store->db());
  auto rows = recs.List(o.route, o.limit);
  if (!rows.ok()) {
    std::cerr << rows.status().message() << "\n";
    return 1;
  }
  if (o.json) {
    json::array all;
    for (const auto& r : *rows) all.push_back(ReconciliationJson(r));
    std::cout << json::serialize(all) << "\n";
    return 0;
  }
  std::cout << "ID\tROUTE\tSTATUS\tREPAIR\tCOMPARED\tMISMATCHES\tREPAIRED\tCREATED\n";
  for (const auto& r : *rows)
    std::cout << r.id << "\t" << r.route << "\t" << r.status << "\t" << r.repair << (r.dry_run ? " (dry run)" : "")
              << "\t" << r.compared << "\t" << r.mismatches() << "\t" << r.repaired << "\t"
              << FormatTimestamp(r.created_at) << "\n";
  return 0;
}

}  // namespace writ
