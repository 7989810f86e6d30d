// mode: buffered (CP-3) in the pattern registry: the `buffered:`, `async:`
// and `validate:` keys, and the route: the ingest half (BufferedRoute), the
// worker that drains its items (with the bulk codec and the rate limiter)
// and the jobs API shared by every buffered route.
#include "config/reader.h"
#include "core/rate_limiter.h"
#include "patterns/bulk/buffered_route.h"
#include "patterns/bulk/bulk_codec.h"
#include "patterns/bulk/bulk_config.h"
#include "patterns/bulk/jobs_api.h"
#include "patterns/registry.h"
#include "queue/submissions_api.h"
#include "queue/worker.h"

namespace writ {

bool ParseRate(const std::string& text, double& out) {
  std::string num = text;
  double per = 1;
  if (auto slash = text.find('/'); slash != std::string::npos) {
    num = text.substr(0, slash);
    std::string unit = text.substr(slash + 1);
    if (unit == "s") per = 1;
    else if (unit == "m") per = 60;
    else if (unit == "h") per = 3600;
    else return false;
  }
  if (num.empty() || num.find_first_not_of("0123456789.") != std::string::npos) return false;
  try {
    out = std::stod(num) / per;
  } catch (...) {
    return false;
  }
  return out >= 0;
}

namespace {

void ReadBuffered(Reader& r, const YAML::Node& n, BufferedConfig& b) {
  if (!r.CheckMap(n, "buffered", {"item_key", "max_items", "max_pending_items", "batch_size", "bulk_path", "rate",
                                  "burst", "reject", "dedup_window", "results", "item_status"}))
    return;
  // `item_key: position` says on purpose what leaving it out means.
  if (auto k = n["item_key"]; k && k.IsScalar() && k.Scalar() == "position") b.item_key_position = true;
  else r.Pointer(n, "item_key", b.item_key, "/sku");
  r.Int(n, "max_items", b.max_items, 1, 1'000'000);
  r.Int(n, "max_pending_items", b.max_pending_items, 1, 100'000'000);
  r.Int(n, "batch_size", b.batch_size, 1, 10'000);
  r.Str(n, "bulk_path", b.bulk_path);
  std::string rate;
  if (auto rn = n["rate"]; rn && r.Scalar(rn, "rate", rate) && !ParseRate(rate, b.rate))
    r.Error(rn, "rate must be items per second such as 500/s (or /m, /h), got '" + rate + "'");
  r.Int(n, "burst", b.burst, 0, 1'000'000);
  std::string reject = "item";
  r.Str(n, "reject", reject);
  if (reject != "item" && reject != "batch") r.Error(n["reject"], "reject must be item or batch");
  b.reject_batch = reject == "batch";
  r.Duration(n, "dedup_window", b.dedup_window);
  r.Pointer(n, "results", b.results, "/results");
  r.Pointer(n, "item_status", b.item_status, "/status");
  if (n["bulk_path"] && (b.bulk_path.empty() || b.bulk_path[0] != '/'))
    r.Error(n["bulk_path"], "bulk_path must start with '/'");
}

}  // namespace

ModeSpec BufferedSpec() {
  ModeSpec m;
  m.name = "buffered";
  m.keys = {"async", "buffered", "validate"};
  m.parse = [](ModeContext& ctx) -> std::shared_ptr<const ModeConfig> {
    auto s = std::make_shared<BufferedSettings>();
    if (auto a = ctx.node["async"]) ReadQueueConfig(ctx.reader, a, s->queue);
    if (auto b = ctx.node["buffered"]) ReadBuffered(ctx.reader, b, s->buffered);
    if (s->buffered.burst < 1) s->buffered.burst = s->buffered.batch_size;
    ReadSchemaKey(ctx, s->validate, s->schema);
    CheckQueueLease(ctx.reader, ctx.node, s->queue, ctx.upstream);
    CheckQueueRetention(ctx.reader, ctx.node, ctx.route.idempotency, s->queue);
    // A batch upload is NDJSON or a JSON array: its fingerprint is its bytes.
    // Producer-Id/Producer-Seq can dedupe instead, so a key is optional
    // unless the route says otherwise.
    ctx.route.idempotency.fingerprint = FingerprintMode::kRaw;
    if (!(ctx.node["idempotency"] && ctx.node["idempotency"]["required"])) ctx.route.idempotency.required = false;
    if (s->buffered.item_key.empty() && !s->buffered.item_key_position && !ctx.route.idempotency.required)
      ctx.reader.Warn(ctx.node["buffered"] ? ctx.node["buffered"] : ctx.node,
                      "no item_key: an item's key is its position in its upload, and uploads need no "
                      "Idempotency-Key on this route, so a re-sent upload applies every item again. Set item_key "
                      "(e.g. /sku), or idempotency.required: true, or item_key: position to accept it");
    if (ctx.route.method != "POST" && ctx.node["method"])
      ctx.reader.Error(ctx.node["method"], "buffered routes take batch uploads with POST");
    return s;
  };
  return m;
}

namespace {

class BufferedMode : public Route {
 public:
  BufferedMode(const RouteConfig& rc, RouteServices& s)
      : settings_(rc.settings_as<BufferedSettings>()),
        codec_(settings_.buffered.bulk_path.empty() ? nullptr
                                                    : std::make_unique<JsonBulkCodec>(rc, settings_.buffered)),
        limiter_(settings_.buffered.rate > 0 ? std::make_unique<RateLimiter>(settings_.buffered.rate,
                                                                             settings_.buffered.burst, SystemClock())
                                             : nullptr),
        worker_(Spec(rc, settings_), s.store(), s.client(rc.upstream), s.scheduler(), s.metrics(), s.rng(),
                codec_.get(), limiter_.get()),
        route_(rc, settings_, s.upstream(rc.upstream), s.store(), s.metrics(),
               {[this] { worker_.Wake(); }, [this] { return worker_.DrainRate(); }}),
        store_(s.store()) {
    bool park = rc.idempotency.on_unknown == OnUnknown::kPark;
    const Redactor* redact = &route_.config().redactor;
    s.submissions().AddRoute(rc.name, {false, settings_.queue.retention, [this] { Wake(); }, park, redact});
    JobsApi::RouteHooks jh;
    jh.max_pending = settings_.buffered.max_pending_items;
    jh.configured_rate = settings_.buffered.rate;
    jh.drain_rate = [this] { return worker_.DrainRate(); };
    RateLimiter* limiter = limiter_.get();
    jh.current_rate = [limiter] { return limiter ? limiter->current_rate() : 0.0; };
    jh.set_paused = [this](bool p) { worker_.SetPaused(p); };
    jh.wake = [this] { Wake(); };
    jh.park = park;
    jh.redact = redact;
    Store& store = s.store();
    auto& jobs = static_cast<JobsApi&>(s.Api("jobs", [&store] { return std::make_unique<JobsApi>(store); }));
    jobs.AddRoute(rc.name, std::move(jh));
  }

  const RouteConfig& config() const override { return route_.config(); }
  bool QueuesWork() const override { return true; }
  void Handle(Request req, PathParams params, Respond respond) override {
    route_.Handle(std::move(req), std::move(params), std::move(respond));
  }
  void Start() override {
    // A route paused by an operator stays paused across restarts.
    if (auto b = store_.jobs().GetBuffer(config().name); b.ok() && b->paused) worker_.SetPaused(true);
    worker_.Start();
  }
  void Stop() override { worker_.Stop(); }
  int in_flight() const override { return worker_.in_flight(); }
  void Wake() override { worker_.Wake(); }
  void UpdateGauges(Scrape& scrape) override {
    const std::string& name = config().name;
    std::string route = RouteLabel(name);
    Metrics& m = scrape.metrics();
    if (auto b = store_.jobs().GetBuffer(name); b.ok()) {
      m.GetGauge("writ_buffer_pending", "Items queued or in flight in a buffered route", route).Set(b->pending);
      m.GetGauge("writ_buffer_capacity", "A buffered route's max_pending_items", route)
          .Set(settings_.buffered.max_pending_items);
      m.GetGauge("writ_buffer_paused", "1 while an operator has paused the route", route).Set(b->paused ? 1 : 0);
    }
    if (const auto* stats = scrape.queue_stats()) AsyncWorker::UpdateQueueGauges(m, name, *stats, scrape.now());
  }

 private:
  static WorkerSpec Spec(const RouteConfig& rc, const BufferedSettings& s) {
    WorkerSpec w = MakeWorkerSpec(rc, s.queue, false);
    w.batch_size = s.buffered.batch_size;
    w.burst = s.buffered.burst;
    return w;
  }

  const BufferedSettings settings_;
  std::unique_ptr<JsonBulkCodec> codec_;
  std::unique_ptr<RateLimiter> limiter_;
  AsyncWorker worker_;
  BufferedRoute route_;
  Store& store_;
};

}  // namespace

Pattern BufferedPattern() {
  Pattern p;
  p.spec = BufferedSpec();
  p.make = [](const RouteConfig& rc, RouteServices& s) -> std::unique_ptr<Route> {
    return std::make_unique<BufferedMode>(rc, s);
  };
  return p;
}

}  // namespace writ
