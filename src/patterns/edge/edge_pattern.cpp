// mode: edge (CP-5) in the pattern registry: the `edge:`, `async:` and
// `validate:` keys, the route and the local copy's store concern (schema
// version 11).
#include <algorithm>

#include "config/reader.h"
#include "patterns/local_copy/edge_config.h"
#include "patterns/local_copy/edge_route.h"
#include "patterns/registry.h"

namespace writ {

namespace {

void ReadEdge(Reader& r, const YAML::Node& n, EdgeSettings& e) {
  if (!r.CheckMap(
          n, "edge",
          {"client_id", "canonical_id", "update_method", "on_conflict", "references", "max_sync_delay", "sync"}))
    return;
  ReadLocalCopyKeys(r, n, e);
  auto refs = n["references"];
  if (!refs) return;
  if (!refs.IsSequence()) {
    r.Error(refs, "'references' lists {pointer, route}: e.g. [{pointer: /orderId, route: /orders}]");
    return;
  }
  for (const auto& ref : refs) {
    if (!r.CheckMap(ref, "edge.references[]", {"pointer", "route"})) continue;
    EdgeReference e_ref;
    r.Str(ref, "pointer", e_ref.pointer);
    r.Str(ref, "route", e_ref.route);
    if (!PointerPattern::Valid(e_ref.pointer)) {
      r.Error(ref["pointer"] ? ref["pointer"] : ref,
              "a reference's pointer is a JSON Pointer such as /orderId or /lines/*/productId");
      continue;
    }
    if (e_ref.route.empty()) {
      r.Error(ref, "a reference names the edge route whose records it holds: route: /orders");
      continue;
    }
    e_ref.pattern = PointerPattern(e_ref.pointer);
    e_ref.line = ref["route"].Mark().line + 1;
    e_ref.column = ref["route"].Mark().column + 1;
    e.references.push_back(std::move(e_ref));
  }
}

}  // namespace

ModeSpec EdgeSpec() {
  ModeSpec m;
  m.name = "edge";
  m.keys = {"edge", "async", "validate"};
  m.collection = true;
  m.parse = [](ModeContext& ctx) -> std::shared_ptr<const ModeConfig> {
    auto s = std::make_shared<EdgeSettings>();
    // A master that is down is what an edge route is for: its changes keep
    // trying (every backoff_max at most) until max_age, 24 h by default.
    s->queue.max_attempts = 1'000;
    if (auto e = ctx.node["edge"]) ReadEdge(ctx.reader, e, *s);
    ReadLocalCopyQueue(ctx, *s, "an edge route", "edge");
    return s;
  };
  m.check = [](Reader& r, const RouteConfig& route, const std::vector<RouteConfig>& routes) {
    for (const auto& ref : route.settings_as<EdgeSettings>().references) {
      const RouteConfig* target = nullptr;
      for (const auto& other : routes)
        if (other.name == ref.route) target = &other;
      if (!target || target->mode != "edge")
        r.ErrorAt(ref.line, ref.column,
                  "reference route '" + ref.route + "' is no edge route of this config (name an edge route by " +
                      "its name, which is its path unless it sets one)");
    }
  };
  return m;
}

Pattern EdgePattern() {
  Pattern p;
  p.spec = EdgeSpec();
  p.make = [](const RouteConfig& rc, RouteServices& s) -> std::unique_ptr<Route> {
    return std::make_unique<EdgeRoute>(rc, rc.settings_as<EdgeSettings>(), s.upstream(rc.upstream), s.store(),
                                       s.client(rc.upstream), s.scheduler(), s.metrics(), s.rng(), &s.submissions());
  };
  p.schema = EdgeStore::Schema();
  return p;
}

}  // namespace writ
