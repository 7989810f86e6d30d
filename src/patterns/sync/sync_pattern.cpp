// mode: sync (CP-1) in the pattern registry: no settings of its own.
#include "patterns/registry.h"
#include "patterns/sync/sync_route.h"

namespace writ {

ModeSpec SyncRoute::Spec() {
  ModeSpec m;
  m.name = "sync";
  m.is_default = true;
  m.probes = true;
  m.parse = [](ModeContext&) { return std::make_shared<const ModeConfig>(); };
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
