// The settings edge routes and dual copies share (edge_config.h).
#include "patterns/local_copy/edge_config.h"

#include "config/reader.h"

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
}

}  // namespace writ
