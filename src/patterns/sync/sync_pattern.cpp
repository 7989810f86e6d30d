// mode: sync (CP-1) in the pattern registry: its one setting, `orphans:`.
#include "config/reader.h"
#include "patterns/registry.h"
#include "patterns/sync/sync_route.h"

namespace writ {

ModeSpec SyncRoute::Spec() {
  ModeSpec m;
  m.name = "sync";
  m.is_default = true;
  m.probes = true;
  m.keys = {"orphans"};
  m.parse = [](ModeContext& ctx) -> std::shared_ptr<const ModeConfig> {
    auto s = std::make_shared<SyncSettings>();
    if (auto n = ctx.node["orphans"]) {
      if (ctx.route.idempotency.on_unknown == OnUnknown::kPark)
        ctx.reader.Error(n, "an on_unknown: park route parks its orphans as unknown and never re-sends them; "
                            "orphans: applies to on_unknown: retry routes");
      else
        ctx.reader.Enum(ctx.node, "orphans", s->orphans,
                        {{"resend", OrphanPolicy::kResend}, {"release", OrphanPolicy::kRelease}});
    }
    return s;
  };
  return m;
}

Pattern SyncPattern() {
  Pattern p;
  p.spec = SyncRoute::Spec();
  p.make = [](const RouteConfig& rc, RouteServices& s) -> std::unique_ptr<Route> {
    return std::make_unique<SyncRoute>(rc, s.upstream(rc.upstream), s.store(), s.client(rc.upstream), s.scheduler(),
                                       s.metrics());
  };
  return p;
}

}  // namespace writ
