// `writ reconcile ROUTE | show ID | list`: reconciliations of dual copies.
// A run works from this process: it reads the master over HTTP (the
// route's upstream) and the copy from the store, chunk by chunk, each
// chunk committed with its checkpoint. A run killed mid-way is resumed by
// the next `writ reconcile ROUTE` (or the gateway's runner) from there,
// once its lease (copy.reconcile.lease) ran out.
#include <iostream>

#include <boost/json.hpp>

#include "cli/commands.h"
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

}  // namespace

int RunReconcile(const ReconcileOptions& o) {
  if (o.route.empty()) {
    std::cerr << "name the dual-copy route to reconcile, e.g. writ reconcile /customers -c writ.yaml\n";
    return 1;
  }
  Config config;
  auto store = OpenStoreOrSay(o.config_path, false, &config);
  if (!store) return 1;
  const RouteConfig* route = nullptr;
  for (const auto& r : config.routes)
    if (r.mode == "dual-copy" && r.name == o.route) route = &r;
  if (!route) {
    std::cerr << "'" << o.route << "' is no dual-copy route of the config\n";
    return 1;
  }
  const auto& s = route->settings_as<CopySettings>();
  if (s.reconcile.path.empty()) {
    std::cerr << o.route << " has no copy.reconcile.path: how the master lists its collection in id order, e.g. "
              << "/customers?after={after}&limit={limit}\n";
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
  auto resumed = recs.Resume(o.route, owner, s.reconcile.lease);
  if (!resumed.ok()) {
    std::cerr << resumed.status().message() << "\n";
    return 1;
  }
  Reconciliation r;
  if (resumed->has_value()) {
    r = **resumed;
    std::cerr << "resuming " << r.id << " (its runner stopped) after '" << r.checkpoint << "': " << r.compared
              << " compared so far\n";
  } else {
    auto busy = recs.List(o.route, 5);
    if (busy.ok())
      for (const auto& b : *busy)
        if (b.status == "running") {
          std::cerr << b.id << " is under way (runner " << b.owner << "); follow it with writ reconcile show " << b.id
                    << "\n";
          return 1;
        }
    auto made = recs.Create(o.route, o.dry_run ? "report" : o.repair, o.dry_run, "cli", owner, s.reconcile.lease);
    if (!made.ok()) {
      std::cerr << made.status().message() << "\n";
      return 1;
    }
    r = *made;
    std::cerr << "reconciling " << o.route << " as " << r.id << " (repair " << r.repair << ")\n";
  }
  Runtime rt(1);
  auto client = MakeHttpUpstreamClient(rt, *upstream);
  rt.Start();
  Millis last_said = 0;
  Reconciler reconciler(o.route, upstream->base_path + route->upstream_path, s, *upstream, store->db(), *client);
  r = reconciler.Run(std::move(r), owner, [&](const Reconciliation& now) {
    Millis t = store->Now();
    if (t - last_said < 1000) return;
    last_said = t;
    std::cerr << now.id << ": " << now.compared << " compared, " << now.mismatches() << " mismatches, at '"
              << now.checkpoint << "'\n";
  });
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
