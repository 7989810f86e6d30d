// The settings edge routes and dual copies share (edge_config.h).
#include "patterns/local_copy/edge_config.h"

#include <algorithm>

#include "config/reader.h"
#include "core/units.h"

namespace writ {

void ReadLocalCopyKeys(Reader& r, const YAML::Node& n, EdgeSettings& e) {
  if (n["client_id"]) r.Pointer(n, "client_id", e.client_id, "/orderNumber");
  r.Pointer(n, "canonical_id", e.canonical_id, "/id");
  r.Str(n, "update_method", e.update_method);
  if (e.update_method != "PUT" && e.update_method != "PATCH")
    r.Error(n["update_method"], "'update_method' must be PUT or PATCH (either sends the record's whole state)");
  if (n["on_conflict"]) {
    std::string policy;
    r.Str(n, "on_conflict", policy);
    if (auto p = ParseConflictPolicy(policy))
      e.on_conflict = *p;
    else
      r.Error(n["on_conflict"], "'on_conflict' must be manual, master_wins or local_wins");
  }
  r.Duration(n, "max_sync_delay", e.max_sync_delay);
  if (n["max_sync_delay"] && e.max_sync_delay <= 0) r.Error(n["max_sync_delay"], "'max_sync_delay' must be positive");
  auto sync = n["sync"];
  if (!sync || !r.CheckMap(sync, "sync", {"interval", "batch_size", "rate"})) return;
  r.Duration(sync, "interval", e.sync.interval);
  if (sync["interval"] && e.sync.interval >= e.max_sync_delay)
    r.Error(sync["interval"], "'sync.interval' must be shorter than max_sync_delay (" +
                                  FormatDuration(e.max_sync_delay) + "), or every record would be over its window");
  r.Int(sync, "batch_size", e.sync.batch_size, 1, 10'000);
  if (auto x = sync["rate"]) {
    try {
      e.sync.rate = x.as<double>();
    } catch (const std::exception&) {
      e.sync.rate = -1;
    }
    if (e.sync.rate < 0) r.Error(x, "'sync.rate' is changes per second, 0 for no limit");
  }
}

void ReadLocalCopyQueue(ModeContext& ctx, EdgeSettings& s, const std::string& route_kind, const std::string& block) {
  if (auto a = ctx.node["async"]) {
    ReadQueueConfig(ctx.reader, a, s.queue);
    if (a.IsMap() && a["ordering_key"])
      ctx.reader.Error(a["ordering_key"], route_kind + " orders its changes per record; drop async.ordering_key");
    if (a.IsMap() && a["canonical_id"])
      ctx.reader.Error(a["canonical_id"], route_kind + " reads the master's id at " + block + ".canonical_id");
  }
  s.queue.canonical_id = s.canonical_id;  // the sync worker reads it there
  // A 409 to an update is a conflict, handled by on_conflict, not retried
  // (unless the route's final_statuses say otherwise).
  auto idem = ctx.node["idempotency"];
  if (!(idem && idem.IsMap() && idem["final_statuses"])) {
    auto& ex = ctx.route.idempotency.final_statuses.exclude;
    ex.erase(std::remove(ex.begin(), ex.end(), 409), ex.end());
  }
  ReadSchemaKey(ctx, s.validate, s.schema);
  CheckQueueLease(ctx.reader, ctx.node, s.queue, ctx.upstream);
  CheckQueueRetention(ctx.reader, ctx.node, ctx.route.idempotency, s.queue);
}

}  // namespace writ
