#include "gateway/gateway.h"

#include <csignal>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <chrono>
#include <thread>

#include <boost/json.hpp>

#include "core/api_params.h"
#include "core/json.h"
#include "core/problem.h"
#include "core/tenant.h"
#include "core/units.h"
#include "core/log.h"
#include "http/server.h"
#include "http/upstream_client.h"
#include "patterns/registry.h"

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
  for (const auto& u : config.upstreams) clients_[u.name] = MakeHttpUpstreamClient(rt, u, &metrics);
  if (config.auth.enabled()) auth_ = std::make_unique<Authenticator>(config.auth, store.api_keys(), metrics);
  if (config.quotas.any()) quotas_ = std::make_unique<Quotas>(config.quotas, SystemClock(), metrics);
  if (config.quotas.any_pending())
    pending_ = std::make_unique<PendingQuota>(config.quotas, [&store] { return store.queue().PendingByTenant(); },
                                              metrics);
  submissions_ = std::make_unique<SubmissionsApi>(store, rt.scheduler());
  request_counters_ = std::make_unique<StatusCounters[]>(config.routes.size());
  for (size_t i = 0; i < config.routes.size(); ++i)
    for (auto& c : request_counters_[i]) c.store(nullptr);
  for (const auto& rc : config.routes) {
    const Pattern* p = FindPattern(rc.mode);  // the loader accepted only registered modes
    routes_.push_back(p->make(rc, *this));
    for (const auto& ep : routes_.back()->Endpoints()) {
      router_.Add(ep.method, ep.path);
      endpoint_route_.push_back(routes_.size() - 1);
    }
  }
  if (!webhook_targets_.empty())
    relay_ = std::make_unique<WebhookRelay>(webhook_targets_, store, rt.scheduler(), metrics, rng_);
  if (!nats_targets_.empty()) nats_relay_ = std::make_unique<NatsRelay>(config.nats, nats_targets_, store, metrics);
  // Writ's own API. Routes come first in Dispatch only for paths no
  // endpoint here fits; the loader keeps routes out of /v1/.
  for (const char* open : {"/healthz", "/readyz", "/.well-known/writ/routes", "/.well-known/writ/idempotency"})
    endpoints_.push_back({{"GET", open, 0, false}});
  endpoints_.push_back({{"GET", "/metrics", kRoleOperator, true}});
  endpoints_.push_back({{"GET", "/v1/endpoints", kRoleOperator, true}});
  for (auto& e : SubmissionsApi::Endpoints()) endpoints_.push_back({std::move(e), true});
  for (auto& [name, api] : apis_)
    for (auto& e : api->Endpoints()) endpoints_.push_back({std::move(e), false, api.get()});
}

const Gateway::Served* Gateway::FindEndpoint(const std::string& method, const std::string& path,
                                             std::string* allow) const {
  allow->clear();
  for (const auto& s : endpoints_) {
    if (!PathFits(s.endpoint.pattern, path)) continue;
    if (s.endpoint.method == method) return &s;
    if (allow->find(s.endpoint.method) == std::string::npos) *allow += (allow->empty() ? "" : ", ") + s.endpoint.method;
  }
  return nullptr;
}

Response Gateway::EndpointList() const {
  bool split = config_.server.admin_listen.has_value();
  boost::json::array list;
  for (const auto& s : endpoints_) {
    const auto& e = s.endpoint;
    boost::json::array roles;
    for (unsigned r : {kRoleClient, kRoleReader, kRoleOperator})
      if (e.roles & r) roles.emplace_back(RolesToString(r));
    list.push_back({{"method", e.method},
                    {"path", e.pattern},
                    {"roles", std::move(roles)},
                    {"listener", split && e.admin ? "admin" : "public"}});
  }
  for (const auto& r : routes_)
    for (const auto& ep : r->Endpoints())
      list.push_back({{"method", ep.method},
                      {"path", ep.path},
                      {"roles", boost::json::array{"client"}},
                      {"listener", "public"},
                      {"route", r->config().name}});
  return JsonResponse(200, {{"auth", auth_ != nullptr}, {"endpoints", std::move(list)}});
}

void Gateway::AddWebhook(const std::string& route, const NotifyConfig& notify) {
  UpstreamConfig hook;
  hook.name = "webhook " + route;
  hook.host = notify.host;
  hook.port = notify.port;
  hook.tls = notify.tls;
  hook.ca_file = notify.ca_file;
  hook.request_timeout = notify.timeout;
  hook.pool_size = 8;
  webhook_clients_.push_back(MakeHttpUpstreamClient(rt_, hook, &metrics_));
  const Redactor* redact = nullptr;
  for (const auto& rc : config_.routes)
    if (rc.name == route && notify.redact) redact = &rc.redactor;
  webhook_targets_[route] = {&notify, webhook_clients_.back().get(), redact};
}

void Gateway::AddNatsSink(const std::string& route, const NatsSinkConfig& sink) {
  const Redactor* redact = nullptr;
  for (const auto& rc : config_.routes)
    if (rc.name == route && sink.redact) redact = &rc.redactor;
  nats_targets_[route] = {&sink, redact};
}

OperatorApi& Gateway::Api(const std::string& name, const std::function<std::unique_ptr<OperatorApi>()>& make) {
  auto& api = apis_[name];
  if (!api) api = make();
  return *api;
}

int Gateway::active() const {
  int n = active_.load();
  for (const auto& r : routes_) n += r->in_flight();
  if (relay_ && !relay_->idle()) n += 1;
  if (nats_relay_ && !nats_relay_->idle()) n += 1;
  return n;
}

void Gateway::StopBackground() {
  stopping_ = true;
  for (auto& r : routes_) r->Stop();
  if (relay_) relay_->Stop();
  if (nats_relay_) nats_relay_->Stop();
}

Gateway::~Gateway() { stopping_ = true; }

uint64_t Gateway::BodyLimit(const std::string& method, const std::string& path) const {
  auto m = router_.Match(method, path);
  return m.kind == RouteMatch::kFound ? routes_[endpoint_route_[m.index]]->config().max_body_bytes
                                      : kOperatorBodyLimit;
}

std::optional<Response> Gateway::CheckHead(const std::string& method, const std::string& path,
                                           const HeadFields& fields, bool client_cert, bool admin) const {
  if (!auth_ || client_cert || fields.Find("Authorization")) return std::nullopt;
  if (const auto& h = config_.auth.header; !h.empty() && fields.Find(h)) return std::nullopt;
  std::string allow;
  const Served* own = FindEndpoint(method, path, &allow);
  if (own && own->endpoint.roles == 0) return std::nullopt;
  // The public listener answers 404 for the admin endpoints, keyed or not.
  if (own && own->endpoint.admin && config_.server.admin_listen && !admin) return std::nullopt;
  return auth_->MissingCredentials();
}

void Gateway::HandleAdmin(Request req, std::function<void(Response)> done) {
  std::string allow;
  bool served = FindEndpoint(req.method, req.path, &allow) || !allow.empty() || req.path.rfind("/v1/", 0) == 0;
  if (!served || req.path.rfind("/.well-known/", 0) == 0)
    return done(Problem(404, "not-found", "No such resource",
                        "the admin listener serves /metrics, /v1/ and health; routes are on the public listener"));
  Dispatch(std::move(req), std::move(done), true);
}

void Gateway::Handle(Request req, std::function<void(Response)> done) { Dispatch(std::move(req), std::move(done), false); }

void Gateway::Dispatch(Request req, std::function<void(Response)> done, bool admin) {
  auto t0 = std::chrono::steady_clock::now();
  std::string allow;
  const Served* own = FindEndpoint(req.method, req.path, &allow);
  if (own && own->endpoint.admin && config_.server.admin_listen && !admin)
    return done(Problem(404, "not-found", "No such resource",
                        req.method + " " + req.path + " is served on the admin listener (server.admin_listen) only"));
  RouteMatch m;
  if (!own && allow.empty()) m = router_.Match(req.method, req.path);
  // The roles a call needs: its endpoint's; a route's: client; anything
  // else (an unknown path, a wrong method): any authenticated caller, who
  // then gets the 404 or 405, so a caller without a key learns nothing.
  constexpr unsigned kAnyRole = kRoleClient | kRoleReader | kRoleOperator;
  unsigned need = own ? own->endpoint.roles : m.kind == RouteMatch::kFound ? unsigned{kRoleClient} : kAnyRole;
  std::optional<Principal> principal;
  if (auth_ && need) {
    auto who = auth_->Authenticate(req);
    if (!who.principal) return done(std::move(who.problem));
    principal = std::move(who.principal);
  }
  // Every operator action (a change on the admin API), done or refused
  // for its role, leaves an audit line: who, from where, what on which id,
  // and the answer.
  if (own && own->endpoint.admin && req.method != "GET")
    done = [actor = principal ? principal->key_id : "anonymous",
            tenant = principal ? principal->tenant : std::string(kDefaultTenant),
            what = req.method + " " + req.target, rid = req.request_id, remote = req.remote,
            done = std::move(done)](Response r) {
      LogJson("info", "audit",
              {{"actor", actor}, {"tenant", tenant}, {"action", what}, {"status", r.status}, {"request_id", rid},
               {"remote", remote}});
      done(std::move(r));
    };
  if (principal) {
    if (!(principal->roles & need)) return done(Authenticator::Forbidden(*principal, need));
    req.tenant = std::move(principal->tenant);
  }
  if (quotas_ && need) {
    std::string tenant = WriteTenant(req);
    auto quota = quotas_->Take(tenant);
    if (!quota.allowed) return done(Quotas::Refusal(tenant, quota));
    if (quota.limited)
      done = [quota, done = std::move(done)](Response r) {
        Quotas::AddFields(quota, r);
        done(std::move(r));
      };
  }
  if (own && own->submissions) return submissions_->Handle(req, std::move(done));
  if (own && own->api) return own->api->Handle(req, std::move(done));
  if (own && own->endpoint.pattern == "/v1/endpoints") return done(EndpointList());
  if (!own && !allow.empty()) {
    Response r = Problem(405, "method-not-allowed", "Method not allowed", "use " + allow + " for " + req.path);
    r.headers.emplace_back("Allow", allow);
    return done(std::move(r));
  }
  if (m.kind != RouteMatch::kFound) {
    Response r = Operator(req);
    if (r.status == 404 && m.kind == RouteMatch::kWrongMethod) {
      r = Problem(405, "method-not-allowed", "Method not allowed", req.method + " is not configured for " + req.path);
      r.headers.emplace_back("Allow", m.allow);
    }
    return done(std::move(r));
  }
  size_t index = endpoint_route_[m.index];
  if (pending_ && req.method == "POST" && routes_[index]->QueuesWork()) {
    std::string tenant = WriteTenant(req);
    if (auto refused = pending_->Check(tenant)) {
      // A retry of a write already accepted is no new work: it goes on to
      // its replay. Looked up on this (rare) path only.
      auto key = FindHeader(req.headers, "Idempotency-Key");
      auto rec = key ? store_.keys().Lookup({tenant, routes_[index]->config().name, std::string(*key)})
                     : Result<std::optional<IdempotencyRecord>>(std::nullopt);
      if (!rec.ok() || !rec->has_value()) return done(std::move(*refused));
    }
    done = [this, tenant, done = std::move(done)](Response r) {
      if (r.status == 202) pending_->Added(tenant);
      done(std::move(r));
    };
  }
  const RouteConfig& config = routes_[index]->config();
  ++active_;
  std::string request_id = req.request_id, method = req.method, remote = req.remote;
  routes_[index]->Handle(std::move(req), std::move(m.params),
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
    const auto& rc = routes_[route]->config();
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
    if (!ParseQuery(req.target).count("verbose")) return JsonResponse(200, {{"status", "ready"}});
    // Still ready (every write is taken), but say which routes lag behind
    // what they promise.
    boost::json::array routes;
    bool degraded = false;
    for (const auto& route : routes_) {
      std::string why = route->Degraded();
      boost::json::object o{{"route", route->config().name}, {"status", why.empty() ? "ok" : "degraded"}};
      if (!why.empty()) o["reason"] = why;
      degraded |= !why.empty();
      routes.push_back(std::move(o));
    }
    return JsonResponse(200, {{"status", degraded ? "degraded" : "ready"}, {"routes", std::move(routes)}});
  }
  if (req.method == "GET" && req.path == "/metrics") {
    UpdateGauges();
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
  // The routes' contracts; /.well-known/writ/idempotency is its first name.
  if (req.method == "GET" && (req.path == "/.well-known/writ/routes" || req.path == "/.well-known/writ/idempotency")) {
    boost::json::array routes;
    for (const auto& route : routes_) {
      const auto& c = route->config();
      const auto& i = c.idempotency;
      routes.push_back({{"route", c.name},
                        {"mode", c.mode},
                        {"method", c.method},
                        {"path", c.path},
                        {"keyRequired", i.required},
                        {"retention", FormatDuration(i.retention)},
                        {"retentionSeconds", i.retention / 1000},
                        {"fingerprint", i.fingerprint == FingerprintMode::kJson ? "json" : "raw"},
                        {"concurrent", i.concurrent == Concurrent::kWait ? "wait" : "reject"},
                        {"onUnknown", i.on_unknown == OnUnknown::kPark ? "park" : "retry"},
                        {"maxKeyLength", 255}});
      if (auto more = route->ContractJson(); !more.empty()) {
        auto v = ParseJsonStrict(more);
        if (v.ok() && v->is_object()) routes.back().as_object()["promises"] = std::move(*v);
      }
    }
    return JsonResponse(200, {{"header", "Idempotency-Key"}, {"routes", std::move(routes)}});
  }
  return Problem(404, "not-found", "No such route", req.method + " " + req.path + " matches no configured route");
}

void Gateway::RefreshPending() {
  if (stopping_) return;
  pending_->Refresh();
  rt_.scheduler().After(1'000, [this] { RefreshPending(); });
}

void Gateway::StartBackground() {
  rt_.scheduler().After(config_.store.gc_interval, [this] { CollectGarbage(); });
  if (pending_) RefreshPending();
  // Other instances sharing the store queue work too: wake on their notice.
  std::map<std::string, Route*> by_name;
  for (auto& r : routes_) by_name[r->config().name] = r.get();
  store_.OnWork([by_name](const std::string& route) {
    if (auto it = by_name.find(route); it != by_name.end()) it->second->Wake();
  });
  for (auto& r : routes_) r->Start();
  if (relay_) relay_->Start();
  if (nats_relay_) nats_relay_->Start();
}

void Gateway::UpdateGauges() const {
  Scrape scrape(store_, metrics_);
  for (const auto& r : routes_) r->UpdateGauges(scrape);
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
  sigaddset(&sigs, SIGHUP);  // reload the TLS certificates
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // threads inherit the mask

  Metrics metrics;
  StoreOptions so;
  so.url = config.store.url;
  so.max_batch = config.store.max_batch;
  so.metrics = &metrics;
  auto store = OpenPatternStore(so);
  if (!store.ok()) {
    LogJson("error", "cannot open store", {{"store", config.store.url}, {"error", store.status().message()}});
    return 1;
  }
  for (const auto& w : (*store)->Warnings()) LogJson("warn", "store durability", {{"warning", w}});
  auto is_loopback = [](const std::string& h) { return h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0; };
  const std::string& host = config.server.listen.host;
  bool loopback = is_loopback(host);
  if (const auto& a = config.server.admin_listen; a && !config.auth.enabled() && !is_loopback(a->host))
    LogJson("warn", "NO AUTHENTICATION on the admin listener " + a->host + ":" + std::to_string(a->port) +
                        ": anyone who reaches it can retry, cancel, replay and pause; configure auth.api_keys or "
                        "keep admin_listen on 127.0.0.1",
            {{"admin_listen", a->host}});
  if (!config.auth.enabled() && !loopback)
    LogJson("warn", "NO AUTHENTICATION: anyone who reaches " + host + ":" +
                        std::to_string(config.server.listen.port) +
                        " can write through every route, read every submission, and retry, cancel or pause; "
                        "configure auth.api_keys or listen on 127.0.0.1",
            {{"listen", host}});
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
  const auto& tls = config.server.tls;
  opts.tls = {tls.cert, tls.key, tls.client_ca, tls.client_cert_required};
  Gateway* g = gateway.get();
  opts.head_check = [g](const std::string& m, const std::string& p, const HeadFields& f, bool cert) {
    return g->CheckHead(m, p, f, cert, false);
  };
  auto server = StartServer(
      rt, opts, [g](Request r, std::function<void(Response)> done) { g->Handle(std::move(r), std::move(done)); },
      [g](const std::string& m, const std::string& p) { return g->BodyLimit(m, p); });
  if (!server.ok()) {
    LogJson("error", "cannot start server", {{"error", server.status().message()}});
    return 1;
  }
  // The admin listener: the same limits, operator endpoints only.
  std::unique_ptr<Server> admin;
  if (const auto& a = config.server.admin_listen) {
    ServerOptions aopts = opts;
    aopts.host = a->host;
    aopts.port = a->port;
    aopts.head_check = [g](const std::string& m, const std::string& p, const HeadFields& f, bool cert) {
      return g->CheckHead(m, p, f, cert, true);
    };
    auto started = StartServer(
        rt, aopts, [g](Request r, std::function<void(Response)> done) { g->HandleAdmin(std::move(r), std::move(done)); },
        [g](const std::string& m, const std::string& p) { return g->BodyLimit(m, p); });
    if (!started.ok()) {
      LogJson("error", "cannot start the admin listener",
              {{"admin_listen", a->host + ":" + std::to_string(a->port)}, {"error", started.status().message()}});
      (*server)->Stop();
      return 1;
    }
    admin = std::move(*started);
  }
  rt.Start();
  gateway->StartBackground();
  boost::json::object line{{"host", opts.host},
                           {"port", (*server)->port()},
                           {"store", config.store.url},
                           {"routes", static_cast<int64_t>(config.routes.size())}};
  if (admin) {
    line["admin_host"] = config.server.admin_listen->host;
    line["admin_port"] = admin->port();
  }
  if (tls.enabled()) line["tls"] = tls.client_ca.empty() ? "on" : tls.client_cert_required ? "mtls" : "mtls-optional";
  LogJson("info", "listening", std::move(line));
  int sig = 0;
  for (;;) {
    sigwait(&sigs, &sig);
    if (sig != SIGHUP) break;
    if (!tls.enabled()) {
      LogJson("info", "SIGHUP: nothing to reload (no server.tls)");
      continue;
    }
    // Both listeners or neither: a half-reloaded pair would serve two certificates.
    Status s = (*server)->ReloadTls();
    if (s.ok() && admin) s = admin->ReloadTls();
    if (s.ok()) LogJson("info", "TLS certificates reloaded", {{"cert", tls.cert}});
    else LogJson("error", "TLS reload failed; the previous certificate stays in use", {{"error", s.message()}});
  }
  LogJson("info", "shutting down", {{"signal", sig}});
  (*server)->Stop();
  if (admin) admin->Stop();
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
