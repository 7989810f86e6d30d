#include "gateway/gateway.h"

#include <csignal>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <chrono>
#include <thread>

#include <boost/json.hpp>

#include "core/problem.h"
#include "core/units.h"
#include "gateway/log.h"
#include "http/server.h"
#include "http/upstream_client.h"
#include "patterns/bulk/bulk_codec.h"

namespace writ {

namespace {
constexpr uint64_t kOperatorBodyLimit = 64 * 1024;
constexpr Millis kKeyCountInterval = 10'000;

}  // namespace

Gateway::Gateway(const Config& config, Runtime& rt, Store& store, Metrics& metrics)
    : config_(config),
      rt_(rt),
      store_(store),
      metrics_(metrics),
      gc_deleted_(metrics.GetCounter("writ_gc_deleted_total", "Expired idempotency records deleted")) {
  std::map<std::string, UpstreamClient*> by_name;
  for (const auto& u : config.upstreams) {
    clients_.push_back(MakeHttpUpstreamClient(rt, u, &metrics));
    by_name[u.name] = clients_.back().get();
  }
  request_counters_ = std::make_unique<StatusCounters[]>(config.routes.size());
  for (size_t i = 0; i < config.routes.size(); ++i)
    for (auto& c : request_counters_[i]) c.store(nullptr);
  std::map<std::string, SubmissionsApi::RouteHooks> hooks;
  std::map<std::string, WebhookTarget> targets;
  std::map<std::string, JobsApi::RouteHooks> job_hooks;
  for (const auto& r : config.routes) {
    router_.Add(r.method, r.path);
    const UpstreamConfig& up = *config.FindUpstream(r.upstream);
    if (r.mode == "async") {
      std::shared_ptr<const JsonSchema> schema;
      if (!r.validate.empty()) schema = LoadJsonSchema(r.validate).value();  // checked by CheckSchemas
      workers_.push_back(std::make_unique<AsyncWorker>(r, store, *by_name[r.upstream], rt.scheduler(), metrics, rng_));
      AsyncWorker* worker = workers_.back().get();
      async_routes_.push_back(
          std::make_unique<AsyncRoute>(r, up, store, metrics, std::move(schema), [worker] { worker->Wake(); }));
      route_configs_.push_back(&async_routes_.back()->config());
      AsyncRoute* route = async_routes_.back().get();
      handlers_.push_back([route](Request q, PathParams p, SyncRoute::Respond d) {
        route->Handle(std::move(q), std::move(p), std::move(d));
      });
      hooks[r.name] = {r.notify.enabled(), r.async.retention, [worker] { worker->Wake(); }};
      if (r.notify.enabled()) {
        UpstreamConfig hook;
        hook.name = "webhook " + r.name;
        hook.host = r.notify.host;
        hook.port = r.notify.port;
        hook.request_timeout = r.notify.timeout;
        hook.pool_size = 8;
        webhook_clients_.push_back(MakeHttpUpstreamClient(rt, hook, &metrics));
        targets[r.name] = {&r.notify, webhook_clients_.back().get()};
      }
    } else if (r.mode == "buffered") {
      std::shared_ptr<const JsonSchema> schema;
      if (!r.validate.empty()) schema = LoadJsonSchema(r.validate).value();  // checked by CheckSchemas
      const BatchCodec* codec = nullptr;
      if (!r.buffered.bulk_path.empty()) {
        codecs_.push_back(std::make_unique<JsonBulkCodec>(r));
        codec = codecs_.back().get();
      }
      RateLimiter* limiter = nullptr;
      if (r.buffered.rate > 0) {
        limiters_.push_back(std::make_unique<RateLimiter>(r.buffered.rate, r.buffered.burst, SystemClock()));
        limiter = limiters_.back().get();
      }
      workers_.push_back(std::make_unique<AsyncWorker>(r, store, *by_name[r.upstream], rt.scheduler(), metrics, rng_,
                                                       codec, limiter));
      AsyncWorker* worker = workers_.back().get();
      buffered_workers_[r.name] = worker;
      BufferedRoute::Hooks h{[worker] { worker->Wake(); }, [worker] { return worker->DrainRate(); }};
      buffered_routes_.push_back(std::make_unique<BufferedRoute>(r, up, store, metrics, std::move(schema), h));
      route_configs_.push_back(&buffered_routes_.back()->config());
      BufferedRoute* route = buffered_routes_.back().get();
      handlers_.push_back([route](Request q, PathParams p, SyncRoute::Respond d) {
        route->Handle(std::move(q), std::move(p), std::move(d));
      });
      hooks[r.name] = {false, r.async.retention, [worker] { worker->Wake(); }};
      JobsApi::RouteHooks jh;
      jh.max_pending = r.buffered.max_pending_items;
      jh.configured_rate = r.buffered.rate;
      jh.drain_rate = [worker] { return worker->DrainRate(); };
      jh.current_rate = [limiter] { return limiter ? limiter->current_rate() : 0.0; };
      jh.set_paused = [worker](bool p) { worker->SetPaused(p); };
      jh.wake = [worker] { worker->Wake(); };
      job_hooks[r.name] = std::move(jh);
    } else {
      sync_routes_.push_back(
          std::make_unique<SyncRoute>(r, up, store, *by_name[r.upstream], rt.scheduler(), metrics));
      route_configs_.push_back(&sync_routes_.back()->config());
      SyncRoute* route = sync_routes_.back().get();
      handlers_.push_back([route](Request q, PathParams p, SyncRoute::Respond d) {
        route->Handle(std::move(q), std::move(p), std::move(d));
      });
    }
  }
  submissions_ = std::make_unique<SubmissionsApi>(store, rt.scheduler(), std::move(hooks));
  jobs_ = std::make_unique<JobsApi>(store, std::move(job_hooks));
  if (!targets.empty())
    relay_ = std::make_unique<WebhookRelay>(std::move(targets), store, rt.scheduler(), metrics, rng_);
}

Status Gateway::CheckSchemas(const Config& config) {
  for (const auto& r : config.routes) {
    if (r.validate.empty()) continue;
    if (r.mode == "sync")
      return Status(Code::kInvalidArgument,
                    "route '" + r.name + "': validate is supported on async and buffered routes only");
    auto s = LoadJsonSchema(r.validate);
    if (!s.ok()) return Status(Code::kInvalidArgument, "route '" + r.name + "': " + s.status().message());
  }
  return Status::Ok();
}

int Gateway::active() const {
  int n = active_.load();
  for (const auto& w : workers_) n += w->in_flight();
  if (relay_ && !relay_->idle()) n += 1;
  return n;
}

void Gateway::StopBackground() {
  stopping_ = true;
  for (auto& w : workers_) w->Stop();
  if (relay_) relay_->Stop();
}

Gateway::~Gateway() { stopping_ = true; }

uint64_t Gateway::BodyLimit(const std::string& method, const std::string& path) const {
  auto m = router_.Match(method, path);
  return m.kind == RouteMatch::kFound ? route_configs_[m.index]->max_body_bytes : kOperatorBodyLimit;
}

void Gateway::Handle(Request req, std::function<void(Response)> done) {
  auto t0 = std::chrono::steady_clock::now();
  if (SubmissionsApi::Matches(req.path)) return submissions_->Handle(req, std::move(done));
  if (JobsApi::Matches(req.path)) return jobs_->Handle(req, std::move(done));
  auto m = router_.Match(req.method, req.path);
  if (m.kind != RouteMatch::kFound) {
    Response r = Operator(req);
    if (r.status == 404 && m.kind == RouteMatch::kWrongMethod) {
      r = Problem(405, "method-not-allowed", "Method not allowed", req.method + " is not configured for " + req.path);
      r.headers.emplace_back("Allow", m.allow);
    }
    return done(std::move(r));
  }
  const RouteConfig& config = *route_configs_[m.index];
  size_t index = m.index;
  ++active_;
  std::string request_id = req.request_id, method = req.method, remote = req.remote;
  handlers_[index](std::move(req), std::move(m.params),
               [this, &config, index, t0, request_id, method, remote, done = std::move(done)](Response resp, RequestInfo info) {
                 double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                 const auto& name = config.name;
                 RequestCounter(index, resp.status).Inc();
                 resp.headers.emplace_back("X-Request-Id", request_id);
                 LogRequest({request_id, remote, method, name, info.outcome, info.key_hash, resp.status,
                             static_cast<int64_t>(ms * 1000)});
                 done(std::move(resp));
                 --active_;
               });
}

Counter& Gateway::RequestCounter(size_t route, int status) {
  status = std::clamp(status, 100, 599);
  auto& slot = request_counters_[route][status - 100];
  Counter* c = slot.load(std::memory_order_acquire);
  if (c == nullptr) {
    const auto& rc = *route_configs_[route];
    c = &metrics_.GetCounter("writ_requests_total", "Requests by route, mode and status",
                             RouteLabel(rc.name) + ",mode=\"" + rc.mode + "\",status=\"" +
                                 std::to_string(status) + "\"");
    slot.store(c, std::memory_order_release);
  }
  return *c;
}

Response Gateway::Operator(const Request& req) const {
  if (req.method == "GET" && req.path == "/healthz") return JsonResponse(200, {{"status", "ok"}});
  if (req.method == "GET" && req.path == "/readyz") {
    if (auto s = store_.Ping(); !s.ok()) return Problem(503, "store-unavailable", "Store unavailable", s.message());
    return JsonResponse(200, {{"status", "ready"}});
  }
  if (req.method == "GET" && req.path == "/metrics") {
    if (!workers_.empty()) UpdateQueueGauges();
    // writ_keys is a full scan of the records: refreshed at most every
    // kKeyCountInterval, so frequent scrapes cost the store nothing.
    Millis now = store_.Now(), last = keys_counted_at_.load();
    bool due = last == 0 || now - last >= kKeyCountInterval;
    auto c = due && keys_counted_at_.compare_exchange_strong(last, now) ? store_.keys().Counts()
                                                                         : Result<KeyCounts>(Status(Code::kNotFound, ""));
    if (c.ok()) {
      metrics_.GetGauge("writ_keys", "Stored idempotency records by state", "state=\"in_flight\"").Set(c->in_flight);
      metrics_.GetGauge("writ_keys", "Stored idempotency records by state", "state=\"completed\"").Set(c->completed);
      metrics_.GetGauge("writ_keys", "Stored idempotency records by state", "state=\"unknown\"").Set(c->unknown);
    }
    Response r;
    r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4");
    r.body = metrics_.RenderPrometheus();
    return r;
  }
  if (req.method == "GET" && req.path == "/.well-known/writ/idempotency") {
    boost::json::array routes;
    for (const auto* rc : route_configs_) {
      const auto& c = *rc;
      const auto& i = c.idempotency;
      routes.push_back({{"route", c.name},
                        {"method", c.method},
                        {"path", c.path},
                        {"keyRequired", i.required},
                        {"retention", FormatDuration(i.retention)},
                        {"retentionSeconds", i.retention / 1000},
                        {"fingerprint", i.fingerprint == FingerprintMode::kJson ? "json" : "raw"},
                        {"concurrent", i.concurrent == Concurrent::kWait ? "wait" : "reject"},
                        {"onUnknown", i.on_unknown == OnUnknown::kPark ? "park" : "retry"},
                        {"maxKeyLength", 255}});
    }
    return JsonResponse(200, {{"header", "Idempotency-Key"}, {"routes", std::move(routes)}});
  }
  return Problem(404, "not-found", "No such route", req.method + " " + req.path + " matches no configured route");
}

void Gateway::StartBackground() {
  rt_.scheduler().After(config_.store.gc_interval, [this] { CollectGarbage(); });
  // A route paused by an operator stays paused across restarts.
  for (auto& [name, worker] : buffered_workers_) {
    auto b = store_.jobs().GetBuffer(name);
    if (b.ok() && b->paused) worker->SetPaused(true);
  }
  // Other instances sharing the store queue work too: wake on their notice.
  std::map<std::string, AsyncWorker*> by_route;
  for (size_t i = 0; i < workers_.size(); ++i) by_route[workers_[i]->route_name()] = workers_[i].get();
  store_.OnWork([by_route](const std::string& route) {
    if (auto it = by_route.find(route); it != by_route.end()) it->second->Wake();
  });
  for (auto& w : workers_) w->Start();
  if (relay_) relay_->Start();
}

void Gateway::UpdateQueueGauges() const {
  auto stats = store_.queue().QueueStats();
  if (!stats.ok()) return;
  Millis now = store_.Now();
  for (const auto* rc : route_configs_) {
    if (rc->mode == "sync") continue;
    std::string route = RouteLabel(rc->name);
    if (rc->mode == "buffered") {
      if (auto b = store_.jobs().GetBuffer(rc->name); b.ok()) {
        metrics_.GetGauge("writ_buffer_pending", "Items queued or in flight in a buffered route", route).Set(b->pending);
        metrics_.GetGauge("writ_buffer_capacity", "A buffered route's max_pending_items", route)
            .Set(rc->buffered.max_pending_items);
        metrics_.GetGauge("writ_buffer_paused", "1 while an operator has paused the route", route).Set(b->paused ? 1 : 0);
      }
    }
    Millis oldest = 0;
    for (auto st : {SubmissionStatus::kAccepted, SubmissionStatus::kProcessing, SubmissionStatus::kFailed,
                    SubmissionStatus::kDead}) {
      int64_t count = 0;
      for (const auto& q : *stats) {
        if (q.route != rc->name || q.status != st) continue;
        count = q.count;
        if (!IsTerminal(st) && (oldest == 0 || q.oldest_created_at < oldest)) oldest = q.oldest_created_at;
      }
      metrics_.GetGauge("writ_async_queue", "Async commands by route and status (unfinished, failed and dead)",
                        route + ",status=\"" + SubmissionStatusName(st) + "\"")
          .Set(count);
    }
    metrics_.GetGauge("writ_async_oldest_pending_seconds", "Age of the oldest unfinished command", route)
        .Set(oldest == 0 ? 0 : (now - oldest) / 1000);
  }
}

void Gateway::CollectGarbage() {
  if (stopping_) return;
  store_.CollectGarbage(config_.store.gc_batch, [this](Result<int> r) {
    if (stopping_) return;
    if (!r.ok()) {
      LogJson("warn", "gc failed", {{"error", r.status().message()}});
    } else if (*r > 0) {
      gc_deleted_.Inc(*r);
      // A full batch means more are due: continue soon, in small steps so
      // live traffic keeps sharing the writer.
      if (*r == config_.store.gc_batch) {
        rt_.scheduler().After(10, [this] { CollectGarbage(); });
        return;
      }
    }
    rt_.scheduler().After(config_.store.gc_interval, [this] { CollectGarbage(); });
  });
}

namespace {
// glibc returns freed memory to the kernel eagerly: the writer thread's arena
// is shrunk with madvise after a batch and faulted in again by the next, and
// its mmap threshold moves with the load. A serving gateway allocates the
// same working set over and over, so keep up to 64 MiB free per arena, grow
// the heap 4 MiB at a time and serve blocks under 32 MiB from the heap
// (BENCHMARKS.md, "Where the time goes": page faults and madvise were ~4% of
// an async accept's CPU; 1.13x accepts/s with this, bench/ab.sh s3).
void TuneAllocator() {
#if defined(__GLIBC__)
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 4 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
#endif
}
}  // namespace

int RunServe(const Config& config) {
  TuneAllocator();
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // threads inherit the mask

  if (auto s = Gateway::CheckSchemas(config); !s.ok()) {
    LogJson("error", "invalid config", {{"error", s.message()}});
    return 2;
  }
  Metrics metrics;
  StoreOptions so;
  so.url = config.store.url;
  so.max_batch = config.store.max_batch;
  so.metrics = &metrics;
  auto store = OpenStore(so);
  if (!store.ok()) {
    LogJson("error", "cannot open store", {{"store", config.store.url}, {"error", store.status().message()}});
    return 1;
  }
  for (const auto& w : (*store)->Warnings()) LogJson("warn", "store durability", {{"warning", w}});
  int threads = config.server.threads > 0 ? config.server.threads
                                          : std::max(1u, std::thread::hardware_concurrency());
  Runtime rt(threads);
  auto gateway = std::make_unique<Gateway>(config, rt, **store, metrics);
  ServerOptions opts;
  opts.host = config.server.listen.host;
  opts.port = config.server.listen.port;
  opts.header_timeout = config.server.header_timeout;
  opts.idle_timeout = config.server.idle_timeout;
  opts.max_header_bytes = config.server.max_header_bytes;
  opts.max_header_count = config.server.max_header_count;
  Gateway* g = gateway.get();
  auto server = StartServer(
      rt, opts, [g](Request r, std::function<void(Response)> done) { g->Handle(std::move(r), std::move(done)); },
      [g](const std::string& m, const std::string& p) { return g->BodyLimit(m, p); });
  if (!server.ok()) {
    LogJson("error", "cannot start server", {{"error", server.status().message()}});
    return 1;
  }
  rt.Start();
  gateway->StartBackground();
  LogJson("info", "listening",
          {{"host", opts.host}, {"port", (*server)->port()}, {"store", config.store.url},
           {"routes", static_cast<int64_t>(config.routes.size())}});
  int sig = 0;
  sigwait(&sigs, &sig);
  LogJson("info", "shutting down", {{"signal", sig}});
  (*server)->Stop();
  gateway->StopBackground();
  // Drain: requests in progress finish their master call and commit. The
  // longest a request can take is bounded by the upstream request timeout.
  Millis longest = 0;
  for (const auto& u : config.upstreams) longest = std::max(longest, u.connect_timeout + u.request_timeout);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(longest + 1'000);
  while (gateway->active() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (gateway->active() > 0) LogJson("warn", "shutdown with requests in progress", {{"active", gateway->active()}});
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the last answers reach their sockets
  rt.Stop();
  rt.Join();
  // The store's writer may still run callbacks into the routes: close it
  // while the gateway is alive.
  store.value().reset();
  LogJson("info", "stopped");
  ShutdownLogging();
  return 0;
}

}  // namespace writ
