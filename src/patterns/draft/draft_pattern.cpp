// mode: draft (CP-4) in the pattern registry: the `draft:`, `async:` and
// `validate:` keys, the route, the drafts' store concern (schema version 4)
// and the erasure of idle drafts by the garbage collector.
#include "config/reader.h"
#include "patterns/draft/draft_config.h"
#include "patterns/draft/draft_route.h"
#include "patterns/registry.h"

namespace writ {

namespace {

void ReadDraft(Reader& r, const YAML::Node& n, DraftSettings& d) {
  if (!r.CheckMap(n, "draft", {"retention", "submitted_retention", "keep_versions", "submit", "canonical_id",
                               "max_patch_operations"}))
    return;
  r.Duration(n, "retention", d.retention);
  r.Duration(n, "submitted_retention", d.submitted_retention);
  r.Int(n, "keep_versions", d.keep_versions, 1, 1'000);
  r.Int(n, "max_patch_operations", d.max_patch_operations, 1, 100'000);
  r.Pointer(n, "canonical_id", d.canonical_id, "/id");
  std::string submit = "sync";
  r.Str(n, "submit", submit);
  if (submit != "sync" && submit != "async") r.Error(n["submit"], "'submit' must be sync or async");
  d.submit_async = submit == "async";
  if (d.retention <= 0) r.Error(n["retention"], "'retention' must be positive");
}

}  // namespace

ModeSpec DraftSpec() {
  ModeSpec m;
  m.name = "draft";
  m.keys = {"draft", "async", "validate"};
  m.collection = true;
  m.parse = [](ModeContext& ctx) -> std::shared_ptr<const ModeConfig> {
    auto s = std::make_shared<DraftSettings>();
    if (auto d = ctx.node["draft"]) ReadDraft(ctx.reader, d, *s);
    if (auto a = ctx.node["async"]) {
      ReadQueueConfig(ctx.reader, a, s->queue);
      if (!s->submit_async) ctx.reader.Error(a, "'async' applies to drafts with submit: async only");
    }
    s->queue.canonical_id = s->canonical_id;  // the worker of async submits reads it there
    ReadSchemaKey(ctx, s->validate, s->strict);
    if (s->strict) {
      auto loose = LoadLooseJsonSchema(s->validate);
      if (loose.ok()) s->loose = std::move(*loose);
      else ctx.reader.Error(ctx.node["validate"], loose.status().message());
    }
    if (s->submit_async) {
      CheckQueueLease(ctx.reader, ctx.node, s->queue, ctx.upstream);
      CheckQueueRetention(ctx.reader, ctx.node, ctx.route.idempotency, s->queue);
    }
    return s;
  };
  return m;
}

Pattern DraftPattern() {
  Pattern p;
  p.spec = DraftSpec();
  p.make = [](const RouteConfig& rc, RouteServices& s) -> std::unique_ptr<Route> {
    return std::make_unique<DraftRoute>(rc, rc.settings_as<DraftSettings>(), s.upstream(rc.upstream), s.store(),
                                        s.client(rc.upstream), s.scheduler(), s.metrics(), s.rng(), &s.submissions(),
                                        &s.quotas());
  };
  p.schema = {DraftStore::Schema(), DraftStore::TenantSchema()};
  p.collect = &DraftStore::EraseExpired;
  p.collect_erases = true;
  return p;
}

}  // namespace writ
