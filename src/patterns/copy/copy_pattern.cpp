// mode: dual-copy (CP-6) in the pattern registry: the `copy:`, `async:` and
// `validate:` keys, the route, and the refresh's store concern (schema
// version 14). The copy's records are the edge store's.
#include <boost/json.hpp>

#include "config/reader.h"
#include "patterns/copy/copy_config.h"
#include "patterns/copy/copy_route.h"
#include "patterns/copy/copy_store.h"
#include "patterns/copy/reconcile_api.h"
#include "patterns/registry.h"

namespace writ {

std::string ItemText(const boost::json::value& item, const std::string& pointer) {
  boost::system::error_code ec;
  const boost::json::value* x = item.find_pointer(pointer, ec);
  if (!x) return "";
  if (x->is_string()) return std::string(x->get_string());
  if (x->is_int64() || x->is_uint64() || x->is_double()) return boost::json::serialize(*x);
  return "";
}

const char* OnStaleName(OnStale s) {
  switch (s) {
    case OnStale::kServe:
      return "serve";
    case OnStale::kRefuse:
      return "refuse";
    case OnStale::kPassthrough:
      return "passthrough";
  }
  return "?";
}

namespace {

void ReadRefresh(Reader& r, const YAML::Node& n, RefreshConfig& f) {
  if (!r.CheckMap(n, "copy.refresh",
                  {"path", "interval", "cursor", "items", "id", "version", "data", "deleted", "lease"}))
    return;
  r.Str(n, "path", f.path);
  if (f.path.empty() || f.path[0] != '/' || f.path.find("{cursor}") == std::string::npos)
    r.Error(n["path"] ? n["path"] : n,
            "'refresh.path' is the master's change feed with a {cursor} in it, e.g. /customers?updatedSince={cursor}");
  r.Duration(n, "interval", f.interval);
  if (n["interval"] && f.interval < 100) r.Error(n["interval"], "'refresh.interval' must be at least 100ms");
  r.Pointer(n, "cursor", f.cursor, "/nextCursor");
  r.Pointer(n, "items", f.items, "/items");
  r.Pointer(n, "id", f.id, "/id");
  r.Pointer(n, "version", f.version, "/version");
  if (n["data"]) {
    r.Str(n, "data", f.data);
    if (!f.data.empty() && f.data[0] != '/')
      r.Error(n["data"], "'refresh.data' is a JSON Pointer such as /data, or \"\"");
  }
  r.Pointer(n, "deleted", f.deleted, "/deleted");
  r.Duration(n, "lease", f.lease);
  if (n["lease"] && f.lease < 1000) r.Error(n["lease"], "'refresh.lease' must be at least 1s");
}

void ReadReconcile(Reader& r, const YAML::Node& n, ReconcileConfig& c) {
  if (!r.CheckMap(n, "copy.reconcile", {"path", "interval", "chunk", "rate", "ignore_fields", "repair", "lease"}))
    return;
  r.Str(n, "path", c.path);
  if (c.path.empty() || c.path[0] != '/' || c.path.find("{after}") == std::string::npos)
    r.Error(n["path"] ? n["path"] : n,
            "'reconcile.path' lists the master's collection in id order with {after} (and {limit}) in it, e.g. "
            "/customers?after={after}&limit={limit}");
  r.Duration(n, "interval", c.interval);
  r.Int(n, "chunk", c.chunk, 1, 100'000);
  if (auto x = n["rate"]) {
    try {
      c.rate = x.as<double>();
    } catch (const std::exception&) {
      c.rate = -1;
    }
    if (c.rate < 0) r.Error(x, "'reconcile.rate' is entities per second, 0 for no limit");
  }
  r.StrList(n, "ignore_fields", c.ignore_fields);
  for (const auto& f : c.ignore_fields)
    if (f.empty() || f[0] != '/') r.Error(n["ignore_fields"], "'ignore_fields' are JSON Pointers such as /updatedAt");
  r.Enum(n, "repair", c.repair,
         {{"report", std::string("report")},
          {"master-wins", std::string("master-wins")},
          {"local-wins", std::string("local-wins")},
          {"restore", std::string("restore")}});
  r.Duration(n, "lease", c.lease);
  if (n["lease"] && c.lease < 1000) r.Error(n["lease"], "'reconcile.lease' must be at least 1s");
}

void ReadCopy(Reader& r, const YAML::Node& n, CopySettings& s) {
  if (!r.CheckMap(n, "copy",
                  {"refresh", "reconcile", "max_staleness", "on_stale", "client_id", "canonical_id", "update_method",
                   "on_conflict", "max_sync_delay", "sync"}))
    return;
  ReadLocalCopyKeys(r, n, s);
  r.Duration(n, "max_staleness", s.max_staleness);
  if (n["max_staleness"] && s.max_staleness <= 0) r.Error(n["max_staleness"], "'max_staleness' must be positive");
  r.Enum(n, "on_stale", s.on_stale,
         {{"serve", OnStale::kServe}, {"refuse", OnStale::kRefuse}, {"passthrough", OnStale::kPassthrough}});
  if (auto f = n["refresh"])
    ReadRefresh(r, f, s.refresh);
  else
    r.Error(
        n, "a dual copy needs 'refresh' (the master's change feed): refresh: {path: /customers?updatedSince={cursor}}");
  if (auto c = n["reconcile"]) ReadReconcile(r, c, s.reconcile);
}

}  // namespace

ModeSpec CopySpec() {
  ModeSpec m;
  m.name = "dual-copy";
  m.keys = {"copy", "async", "validate"};
  m.collection = true;
  m.parse = [](ModeContext& ctx) -> std::shared_ptr<const ModeConfig> {
    auto s = std::make_shared<CopySettings>();
    s->queue.max_attempts = 1'000;  // as edge: a master that is down is what the copy is for
    if (auto c = ctx.node["copy"])
      ReadCopy(ctx.reader, c, *s);
    else
      ctx.reader.Error(ctx.node, "a dual-copy route needs 'copy' with its 'refresh' (the master's change feed)");
    ReadLocalCopyQueue(ctx, *s, "a dual copy", "copy");
    if (s->refresh.interval > s->max_staleness)
      ctx.reader.Warn(ctx.node["copy"],
                      "refresh.interval is longer than max_staleness: the copy will be stale between refreshes");
    return s;
  };
  return m;
}

Pattern CopyPattern() {
  Pattern p;
  p.spec = CopySpec();
  p.make = [](const RouteConfig& rc, RouteServices& s) -> std::unique_ptr<Route> {
    const auto& settings = rc.settings_as<CopySettings>();
    if (!settings.reconcile.path.empty()) {
      Store& store = s.store();
      auto& api = static_cast<ReconcileApi&>(
          s.Api("reconciliations", [&store] { return std::make_unique<ReconcileApi>(store.db()); }));
      api.AddRoute(rc.name);
    }
    return std::make_unique<CopyRoute>(rc, settings, s.upstream(rc.upstream), s.store(), s.client(rc.upstream),
                                       s.scheduler(), s.metrics(), s.rng(), &s.submissions());
  };
  p.schema = {CopyStore::Schema(), ReconcileStore::Schema()};
  return p;
}

}  // namespace writ
