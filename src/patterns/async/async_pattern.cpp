// mode: async (CP-2) in the pattern registry: the `async:`, `notify:` and
// `validate:` keys, and the route: the accepting half (AsyncRoute) with the
// route's worker and, if configured, its webhook.
#include "config/reader.h"
#include "patterns/async/async_config.h"
#include "patterns/async/async_route.h"
#include "patterns/registry.h"
#include "queue/submissions_api.h"
#include "queue/worker.h"

namespace writ {

ModeSpec AsyncSpec() {
  ModeSpec m;
  m.name = "async";
  m.probes = true;
  m.keys = {"async", "notify", "sinks", "events", "validate"};
  m.parse = [](ModeContext& ctx) -> std::shared_ptr<const ModeConfig> {
    auto s = std::make_shared<AsyncSettings>();
    if (auto a = ctx.node["async"]) ReadQueueConfig(ctx.reader, a, s->queue);
    ReadEventSinks(ctx.reader, ctx.node, ctx.nats, s->notify_config, s->nats_sink);
    if (auto e = ctx.node["events"])
      ReadDomainEvents(ctx.reader, e, ctx.route.name, s->nats_sink.enabled ? ctx.nats : nullptr, s->domain_events);
    ReadSchemaKey(ctx, s->validate, s->schema);
    CheckQueueLease(ctx.reader, ctx.node, s->queue, ctx.upstream);
    CheckQueueRetention(ctx.reader, ctx.node, ctx.route.idempotency, s->queue);
    return s;
  };
  return m;
}

namespace {

// Async routes probe dead commands that may have been applied (see
// WorkerSpec::probe); the probe's path is relative to the upstream's base.
WorkerSpec ProbingSpec(WorkerSpec spec, const UpstreamConfig& upstream) {
  spec.probe = spec.idempotency.on_unknown == OnUnknown::kPark && spec.idempotency.probe.enabled();
  spec.base_path = upstream.base_path;
  return spec;
}

// The route's domain events (`events:`) go into the outbox table in the
// transaction that records the outcome they follow.
WorkerSpec DomainEventSpec(WorkerSpec spec, const AsyncSettings& settings) {
  if (settings.domain_events.empty()) return spec;
  const auto* defs = &settings.domain_events;
  bool publish = settings.nats_sink.enabled;
  std::string route = spec.route;
  spec.on_terminal = [defs, publish, route](sql::Conn& c, const AttemptOutcome& o) {
    return InsertDomainEvents(c, o, route, *defs, publish);
  };
  return spec;
}

class AsyncMode : public Route {
 public:
  AsyncMode(const RouteConfig& rc, RouteServices& s)
      : settings_(rc.settings_as<AsyncSettings>()),
        worker_(DomainEventSpec(ProbingSpec(MakeWorkerSpec(rc, settings_.queue, settings_.event_sinks()),
                                            s.upstream(rc.upstream)),
                                settings_),
                s.store(), s.client(rc.upstream), s.scheduler(), s.metrics(), s.rng()),
        route_(rc, settings_, s.upstream(rc.upstream), s.store(), s.metrics(), [this] { worker_.Wake(); }) {
    s.submissions().AddRoute(rc.name, {settings_.event_sinks(), settings_.queue.retention, [this] { Wake(); },
                                       rc.idempotency.on_unknown == OnUnknown::kPark, &route_.config().redactor});
    if (settings_.notify_config.enabled()) s.AddWebhook(rc.name, settings_.notify_config);
    if (settings_.nats_sink.enabled) s.AddNatsSink(rc.name, settings_.nats_sink);
  }

  const RouteConfig& config() const override { return route_.config(); }
  bool QueuesWork() const override { return true; }
  void Handle(Request req, PathParams params, Respond respond) override {
    route_.Handle(std::move(req), std::move(params), std::move(respond));
  }
  void Start() override { worker_.Start(); }
  void Stop() override { worker_.Stop(); }
  int in_flight() const override { return worker_.in_flight(); }
  void Wake() override { worker_.Wake(); }
  void UpdateGauges(Scrape& scrape) override {
    if (const auto* stats = scrape.queue_stats())
      AsyncWorker::UpdateQueueGauges(scrape.metrics(), route_.config().name, *stats, scrape.now());
  }

 private:
  const AsyncSettings settings_;
  AsyncWorker worker_;
  AsyncRoute route_;
};

}  // namespace

Pattern AsyncPattern() {
  Pattern p;
  p.spec = AsyncSpec();
  p.make = [](const RouteConfig& rc, RouteServices& s) -> std::unique_ptr<Route> {
    return std::make_unique<AsyncMode>(rc, s);
  };
  return p;
}

}  // namespace writ
