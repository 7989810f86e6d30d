#include "patterns/copy/copy_route.h"

#include "patterns/copy/reconciler.h"
#include "patterns/document/etag.h"

#include <boost/json.hpp>

#include "core/api_params.h"
#include "core/crash_point.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/problem.h"
#include "core/units.h"
#include "store/commands.h"

namespace writ {

namespace json = boost::json;

// The refresh loop's state, shared with its callbacks (which may outlive
// a stopped route's timers).
struct CopyRoute::Refresher : std::enable_shared_from_this<Refresher> {
  const RouteConfig& route;
  const CopySettings& settings;
  const UpstreamConfig& upstream;
  Store& store;
  UpstreamClient& client;
  Scheduler& scheduler;
  EdgeStore& records;
  CopyStore& copy;
  std::function<void(Millis)> on_as_of;  // a pass reached the end
  std::string owner;
  std::string collection;
  std::atomic<bool> stopped{false};
  std::atomic<int> in_flight{0};
  Counter& failures;
  Metrics& metrics;

  Refresher(const RouteConfig& r, const CopySettings& s, const UpstreamConfig& u, Store& st, UpstreamClient& c,
            Scheduler& sc, EdgeStore& rec, CopyStore& cp, Metrics& m, std::string own)
      : route(r),
        settings(s),
        upstream(u),
        store(st),
        client(c),
        scheduler(sc),
        records(rec),
        copy(cp),
        owner(std::move(own)),
        collection(u.base_path + r.upstream_path),
        failures(m.GetCounter("writ_copy_refresh_failures_total", "Refresh passes of a dual copy that failed",
                              RouteLabel(r.name))),
        metrics(m) {}

  void Count(const char* result, int64_t n) {
    if (n > 0)
      metrics
          .GetCounter("writ_copy_refresh_items_total", "Master changes a dual copy's refresh applied, by what they did",
                      RouteLabel(route.name) + ",result=\"" + result + "\"")
          .Inc(static_cast<double>(n));
  }

  void Loop() {
    if (stopped) return;
    auto self = shared_from_this();
    copy.Lease(route.name, owner, settings.refresh.lease, [self](Result<CopyState> st) {
      if (self->stopped) return;
      if (!st.ok() || st->owner != self->owner) {  // another instance refreshes, or the store is down
        if (!st.ok())
          LogJson("warn", "copy refresh: store", {{"route", self->route.name}, {"error", st.status().message()}});
        return self->Next();
      }
      self->Page(st->cursor);
    });
  }

  void Next() {
    if (stopped) return;
    scheduler.After(settings.refresh.interval, [self = shared_from_this()] { self->Loop(); });
  }

  void End(const std::string& error) {
    auto self = shared_from_this();
    if (!error.empty()) {
      failures.Inc();
      LogJson("warn", "copy refresh failed", {{"route", route.name}, {"error", error}});
    }
    copy.Finish(route.name, owner, error, [self, error](Result<CopyState> st) {
      if (st.ok() && error.empty()) {
        self->on_as_of(st->as_of);
        LogJson("info", "copy refreshed",
                {{"route", self->route.name},
                 {"items", st->pass_items},
                 {"pages", st->pass_pages},
                 {"asOf", FormatTimestamp(st->as_of)}});
      }
      self->Next();
    });
  }

  // GET {collection}/{id} at the master: its state of one record.
  void ReadOne(const std::string& id, std::function<void(Result<MasterState>, Millis)> done) {
    UpstreamRequest req;
    req.method = "GET";
    req.target = collection + "/" + PercentEncode(id);
    req.headers = {{"Accept", "application/json"}};
    Millis at = store.Now();
    ++in_flight;
    client.Send(std::move(req), [this, self = shared_from_this(), id, at, done = std::move(done)](UpstreamResult r) {
      --in_flight;
      if (r.error != UpstreamError::kNone) return done(Status(Code::kUnavailable, r.message), at);
      MasterState m;
      m.id = id;
      if (r.response.status == 404 || r.response.status == 410) {
        m.deleted = true;
        return done(m, at);
      }
      if (r.response.status < 200 || r.response.status > 299)
        return done(Status(Code::kUnavailable, "the master answered " + std::to_string(r.response.status)), at);
      auto doc = ParseJsonStrict(r.response.body);
      if (!doc.ok() || !doc->is_object())
        return done(Status(Code::kUnavailable, "the master's record is not a JSON object"), at);
      m.data = json::serialize(*doc);
      m.etag = std::string(FindHeader(r.response.headers, "ETag").value_or(""));
      done(m, at);
    });
  }

  // Records whose item may be older than the copy: read again, one by one.
  void Recheck(std::shared_ptr<std::vector<std::string>> ids, size_t i, std::function<void()> then) {
    if (stopped || i >= ids->size()) return then();
    auto self = shared_from_this();
    ReadOne((*ids)[i], [self, ids, i, then](Result<MasterState> m, Millis at) {
      if (!m.ok()) return self->Recheck(ids, i + 1, then);  // the next pass sees it again
      std::vector<MasterState> one{std::move(*m)};
      self->records.ApplyMaster(CopyRoute::kCopyTenant, self->route.name, self->collection, std::move(one), at, nullptr,
                                [self, ids, i, then](Result<MasterApply> a) {
                                  if (a.ok()) self->Count("rechecked", 1);
                                  self->Recheck(ids, i + 1, then);
                                });
    });
  }

  // The end of a pass: records whose master state was deferred while their
  // local writes were pending, those writes now answered, are read again.
  // An answer can be older than the master (a write applied, its answer
  // lost, the master changed the record, the retry answered from the
  // master's key store); the deferred state would otherwise be lost.
  void RecheckDeferred() {
    auto ids = records.DeferredMasterStates(CopyRoute::kCopyTenant, route.name, 100);
    if (!ids.ok() || ids->empty()) return End("");
    auto self = shared_from_this();
    Recheck(std::make_shared<std::vector<std::string>>(std::move(*ids)), 0, [self] { self->End(""); });
  }

  void Page(const std::string& cursor) {
    if (stopped) return End("stopped");
    const RefreshConfig& f = settings.refresh;
    std::string target = upstream.base_path + f.path;
    target.replace(target.find("{cursor}"), 8, PercentEncode(cursor));
    UpstreamRequest req;
    req.method = "GET";
    req.target = std::move(target);
    req.headers = {{"Accept", "application/json"}};
    Millis read_since = store.Now();
    ++in_flight;
    client.Send(std::move(req), [this, self = shared_from_this(), cursor, read_since](UpstreamResult r) {
      --in_flight;
      if (stopped) return End("stopped");
      if (r.error != UpstreamError::kNone) return End("the master's change feed: " + r.message);
      if (r.response.status < 200 || r.response.status > 299)
        return End("the master's change feed answered " + std::to_string(r.response.status));
      auto page = ParseJsonStrict(r.response.body);
      if (!page.ok()) return End("the master's change feed answered no JSON: " + page.status().message());
      const RefreshConfig& f = settings.refresh;
      boost::system::error_code ec;
      const json::value* items = page->find_pointer(f.items, ec);
      if (!items || !items->is_array()) return End("the master's change feed page has no array at " + f.items);
      std::string next = ItemText(*page, f.cursor);
      std::vector<MasterState> states;
      int64_t invalid = 0;
      for (const auto& item : items->get_array()) {
        MasterState m;
        m.id = ItemText(item, f.id);
        m.etag = ItemText(item, f.version);
        boost::system::error_code e2;
        const json::value* del = item.find_pointer(f.deleted, e2);
        m.deleted = del && del->is_bool() && del->get_bool();
        const json::value* data = f.data.empty() ? &item : item.find_pointer(f.data, e2);
        if (m.id.empty() || (!m.deleted && (!data || !data->is_object()))) {
          ++invalid;
          continue;
        }
        if (!m.deleted) m.data = json::serialize(*data);
        states.push_back(std::move(m));
      }
      if (invalid > 0) {
        Count("invalid", invalid);
        LogJson("warn", "copy refresh: items skipped",
                {{"route", route.name},
                 {"skipped", invalid},
                 {"why", "no id at " + f.id + " or no object at " + (f.data.empty() ? "the item" : f.data)}});
      }
      bool last = items->get_array().empty() || next.empty() || next == cursor;
      int64_t n = static_cast<int64_t>(states.size());
      std::string owner_copy = owner, name = route.name;
      Millis lease = settings.refresh.lease;
      std::string advance_to = next.empty() ? cursor : next;
      Store* st = &store;
      WRIT_CRASH_POINT("copy_before_page_apply");
      records.ApplyMaster(
          CopyRoute::kCopyTenant, route.name, collection, std::move(states), read_since,
          [owner_copy, name, advance_to, n, st, lease](sql::Conn& c) {
            return CopyStore::Advance(c, name, owner_copy, advance_to, n, st->Now(), lease);
          },
          [self, last, advance_to](Result<MasterApply> a) {
            if (!a.ok()) return self->End("applying a page: " + a.status().message());
            WRIT_CRASH_POINT("copy_after_page_commit");
            self->Count("inserted", a->inserted);
            self->Count("updated", a->updated);
            self->Count("unchanged", a->unchanged);
            self->Count("deferred", a->deferred);
            self->Count("held", a->held);
            auto ids = std::make_shared<std::vector<std::string>>(std::move(a->recheck));
            self->Recheck(ids, 0, [self, last, advance_to] {
              if (!last) return self->Page(advance_to);
              self->RecheckDeferred();
            });
          });
    });
  }
};

CopyRoute::CopyRoute(RouteConfig route, CopySettings settings, UpstreamConfig upstream, Store& store,
                     UpstreamClient& client, Scheduler& scheduler, Metrics& m, Rng& rng, SubmissionsApi* submissions)
    : route_(std::move(route)),
      settings_(std::move(settings)),
      upstream_(std::move(upstream)),
      store_(store),
      edge_(std::make_unique<EdgeRoute>(route_, settings_, upstream_, store, client, scheduler, m, rng, submissions)),
      copy_(store.db()),
      stale_reads_(m.GetCounter("writ_copy_stale_reads_total", "Reads of a dual copy older than max_staleness",
                                RouteLabel(route_.name) + ",on_stale=\"" + OnStaleName(settings_.on_stale) + "\"")),
      client_(client),
      metrics_(m),
      owner_(RandomId().substr(0, 16)) {
  refresher_ = std::make_shared<Refresher>(route_, settings_, upstream_, store, client, scheduler, edge_->records(),
                                           copy_, m, owner_);
  refresher_->on_as_of = [this](Millis as_of) { as_of_ = as_of; };
}

CopyRoute::~CopyRoute() {
  refresher_->stopped = true;
  reconcile_stop_ = true;
  cv_.notify_all();
  if (reconcile_thread_.joinable()) reconcile_thread_.join();
}

void CopyRoute::Start() {
  edge_->Start();
  refresher_->Loop();
  if (!settings_.reconcile.path.empty()) reconcile_thread_ = std::thread([this] { ReconcileLoop(); });
}

void CopyRoute::Stop() {
  refresher_->stopped = true;
  reconcile_stop_ = true;  // a reconciliation under way stops after its chunk, resumed at the next start
  cv_.notify_all();
  if (reconcile_thread_.joinable()) reconcile_thread_.join();
  edge_->Stop();
}

void CopyRoute::ReconcileLoop() {
  ReconcileStore recs(store_.db());
  const ReconcileConfig& rc = settings_.reconcile;
  while (!reconcile_stop_) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return reconcile_stop_.load(); });
    }
    if (reconcile_stop_) return;
    // One whose runner died (or that the API requested) first, then the schedule's.
    // A read first: the write (a lease) only when there is something to run.
    auto recent = recs.List(route_.name, 5);
    if (!recent.ok()) continue;
    Millis now = store_.Now();
    bool waiting = false;
    for (const auto& r : *recent) waiting |= r.status == "running" && r.lease_until < now;
    std::optional<Reconciliation> run;
    if (waiting) {
      auto next = recs.Resume(route_.name, owner_, rc.lease);
      if (!next.ok()) continue;
      run = std::move(*next);
    }
    if (!run && rc.interval > 0) {
      auto last = recs.LastStarted(route_.name);
      if (last.ok() && store_.Now() - *last >= rc.interval) {
        auto made = recs.Create(route_.name, rc.repair, false, "schedule", owner_, rc.lease);
        if (made.ok()) run = std::move(*made);
      }
    }
    if (!run) continue;
    LogJson("info", "reconciliation started",
            {{"route", route_.name},
             {"reconciliation", run->id},
             {"repair", run->repair},
             {"checkpoint", run->checkpoint}});
    Reconciler(route_.name, collection(), settings_, upstream_, store_.db(), client_, &metrics_)
        .Run(std::move(*run), owner_, nullptr, &reconcile_stop_);
  }
}

int CopyRoute::in_flight() const { return edge_->in_flight() + refresher_->in_flight; }

CopyRoute::Window CopyRoute::CurrentWindow() {
  Millis now = store_.Now();
  if (now - as_of_read_at_ > 1000) {  // another instance may have refreshed it
    if (auto st = copy_.Get(route_.name); st.ok()) as_of_ = std::max<Millis>(as_of_, st->as_of);
    as_of_read_at_ = now;
  }
  Window w;
  w.as_of = as_of_;
  w.stale = w.as_of == 0 || now - w.as_of > settings_.max_staleness;
  return w;
}

void CopyRoute::Decorate(Response& resp, Millis as_of, bool stale) const {
  auto& h = resp.headers;
  h.erase(std::remove_if(h.begin(), h.end(), [](const auto& kv) { return IEquals(kv.first, "Age"); }), h.end());
  if (as_of > 0) {
    h.emplace_back("Writ-As-Of", FormatTimestamp(as_of));
    h.emplace_back("Age", std::to_string(std::max<Millis>(0, store_.Now() - as_of) / 1000));
  } else {
    h.emplace_back("Writ-As-Of", "never");
  }
  if (stale) h.emplace_back("Writ-Stale", "true");
}

void CopyRoute::Handle(Request req, PathParams params, Respond respond) {
  req.tenant.clear();  // one copy for every caller: stored under kCopyTenant
  if (req.method != "GET") return edge_->Handle(std::move(req), std::move(params), std::move(respond));
  Window w = CurrentWindow();
  std::string id;
  if (auto it = params.find("recordId"); it != params.end()) id = it->second;
  auto decorated = [this, respond, w](Response resp, RequestInfo info) mutable {
    Decorate(resp, w.as_of, w.stale);
    respond(std::move(resp), std::move(info));
  };
  // Read-your-writes: Writ-Min-Version names a version of the record the
  // client saw (its ETag). The copy takes every local write before
  // answering it, so a version written through Writ is always there; an
  // older copy (a version seen elsewhere) is refused, never served as if
  // it were that version. A copy that has it answers, however stale.
  if (auto want = FindHeader(req.headers, "Writ-Min-Version"); want && !id.empty()) {
    std::string v(*want);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    int64_t min = 0;
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos ||
        (min = std::stoll(v)) < 1) {
      RequestInfo info;
      info.outcome = "rejected";
      return respond(Problem(400, "min-version-invalid", "Invalid Writ-Min-Version",
                             "Writ-Min-Version is a record version: a positive integer, or the ETag that carries it"),
                     info);
    }
    auto rec = edge_->records().Get(kCopyTenant, route_.name, id);
    if (!rec.ok()) {
      RequestInfo info;
      info.outcome = "error";
      return respond(StoreProblem(rec.status()), info);
    }
    if (!rec->has_value() || (*rec)->deleted || (*rec)->version < min) {
      int64_t have = rec->has_value() && !(*rec)->deleted ? (*rec)->version : 0;
      Response p =
          Problem(412, "copy-version-behind", "The copy is older than the version asked for",
                  "the copy holds " + (have ? "version " + std::to_string(have) : std::string("no record")) + " of '" +
                      id.substr(0, 80) + "'; Writ-Min-Version asks for " + std::to_string(min) + " or later",
                  {{"version", have}, {"minVersion", min}});
      if (have) p.headers.emplace_back("ETag", VersionEtag(have));
      Decorate(p, w.as_of, w.stale);
      RequestInfo info;
      info.outcome = "behind";
      return respond(std::move(p), info);
    }
    if (w.stale) stale_reads_.Inc();
    return edge_->Handle(std::move(req), std::move(params), std::move(decorated));
  }
  if (!w.stale || settings_.on_stale == OnStale::kServe) {
    if (w.stale) stale_reads_.Inc();
    return edge_->Handle(std::move(req), std::move(params), std::move(decorated));
  }
  stale_reads_.Inc();
  // A record with local writes still pending is answered from the copy: it
  // holds what the client wrote, which the master does not have yet.
  // A list cannot be read through: answered from the copy, marked stale.
  if (id.empty() && settings_.on_stale == OnStale::kPassthrough)
    return edge_->Handle(std::move(req), std::move(params), std::move(decorated));
  if (!id.empty()) {
    auto rec = edge_->records().Get(kCopyTenant, route_.name, id);
    if (rec.ok() && rec->has_value() && (*rec)->pending > 0)
      return edge_->Handle(std::move(req), std::move(params), std::move(decorated));
    if (settings_.on_stale == OnStale::kPassthrough)
      return ReadThrough(std::move(req), std::move(params), std::move(respond), id);
  }
  Millis retry = std::max<Millis>(1000, settings_.refresh.interval);
  Response p = Problem(503, "copy-stale", "The copy is stale",
                       "the copy of " + route_.name + " was last refreshed " +
                           (w.as_of == 0 ? std::string("never") : FormatTimestamp(w.as_of)) +
                           ", longer ago than max_staleness " + FormatDuration(settings_.max_staleness) +
                           " (on_stale: " + OnStaleName(settings_.on_stale) + ")",
                       {{"asOf", w.as_of == 0 ? json::value(nullptr) : json::value(FormatTimestamp(w.as_of))},
                        {"maxStalenessSeconds", settings_.max_staleness / 1000}});
  p.headers.emplace_back("Retry-After", std::to_string((retry + 999) / 1000));
  RequestInfo info;
  info.outcome = "stale";
  respond(std::move(p), info);
}

// on_stale: passthrough: the record from the master, into the copy, then
// answered from the copy (as fresh as the read).
void CopyRoute::ReadThrough(Request req, PathParams params, Respond respond, const std::string& id) {
  auto self = refresher_;
  refresher_->ReadOne(id, [this, self, req = std::move(req), params = std::move(params), respond = std::move(respond),
                           id](Result<MasterState> m, Millis at) mutable {
    if (self->stopped) return;
    if (!m.ok()) {
      Response p = Problem(503, "copy-stale", "The copy is stale and the master cannot be read",
                           "the copy is older than max_staleness " + FormatDuration(settings_.max_staleness) +
                               " and reading the record from the master failed: " + m.status().message());
      p.headers.emplace_back("Retry-After", "1");
      RequestInfo info;
      info.outcome = "stale";
      return respond(std::move(p), info);
    }
    std::vector<MasterState> one{std::move(*m)};
    edge_->records().ApplyMaster(
        kCopyTenant, route_.name, self->collection, std::move(one), at, nullptr,
        [this, self, req = std::move(req), params = std::move(params), respond = std::move(respond),
         at](Result<MasterApply> a) mutable {
          if (self->stopped) return;
          bool fresh = a.ok();  // the copy took the master's state (or holds newer local writes)
          auto decorated = [this, respond = std::move(respond), at, fresh](Response resp, RequestInfo info) mutable {
            Decorate(resp, at, !fresh);
            resp.headers.emplace_back("Writ-Source", "master");
            respond(std::move(resp), std::move(info));
          };
          edge_->Handle(std::move(req), std::move(params), std::move(decorated));
        });
  });
}

void CopyRoute::UpdateGauges(Scrape& scrape) {
  edge_->UpdateGauges(scrape);
  std::string route = RouteLabel(route_.name);
  Metrics& m = scrape.metrics();
  Window w = CurrentWindow();
  Millis age = w.as_of == 0 ? -1 : std::max<Millis>(0, scrape.now() - w.as_of);
  m.GetGauge("writ_copy_staleness_seconds",
             "Seconds since the dual copy was last known equal to the master (-1: never)", route)
      .Set(age < 0 ? -1 : age / 1000);
  m.GetGauge("writ_copy_stale", "1 when the dual copy is older than max_staleness", route).Set(w.stale ? 1 : 0);
  if (!settings_.reconcile.path.empty())
    if (auto runs = ReconcileStore(store_.db()).List(route_.name, 20); runs.ok())
      for (const auto& r : *runs) {
        if (r.status != "done") continue;
        double ratio = r.compared > 0 ? static_cast<double>(r.mismatches()) / static_cast<double>(r.compared) : 0;
        m.GetGauge("writ_reconcile_mismatch_ratio", "Mismatches per entity compared by the last reconciliation", route)
            .Set(ratio);
        m.GetGauge("writ_reconcile_last_success_timestamp_seconds", "When the last reconciliation ended", route)
            .Set(static_cast<double>(r.finished_at) / 1000.0);
        const char* help = "Mismatches the last reconciliation found, by kind";
        m.GetGauge("writ_reconcile_last_mismatches", help, route + ",kind=\"missing_local\"").Set(r.missing_local);
        m.GetGauge("writ_reconcile_last_mismatches", help, route + ",kind=\"missing_master\"").Set(r.missing_master);
        m.GetGauge("writ_reconcile_last_mismatches", help, route + ",kind=\"differ\"").Set(r.differ);
        break;
      }
  if (auto n = edge_->records().Pending(route_.name); n.ok())
    m.GetGauge("writ_copy_pending", "Records of the dual copy with local writes not yet at the master", route).Set(*n);
}

std::string CopyRoute::ContractJson() const {
  auto o = ParseJsonStrict(edge_->ContractJson());
  json::object out = o.ok() && o->is_object() ? o->get_object() : json::object{};
  out["maxStaleness"] = FormatDuration(settings_.max_staleness);
  out["maxStalenessSeconds"] = settings_.max_staleness / 1000;
  out["onStale"] = OnStaleName(settings_.on_stale);
  out["refreshInterval"] = FormatDuration(settings_.refresh.interval);
  out["asOfHeader"] = "Writ-As-Of";
  return json::serialize(out);
}

std::string CopyRoute::Degraded() const {
  std::string edge = edge_->Degraded();
  Millis as_of = as_of_;
  if (auto st = copy_.Get(route_.name); st.ok()) as_of = std::max(as_of, st->as_of);
  Millis now = store_.Now();
  if (as_of == 0) return "the copy was never refreshed from the master" + (edge.empty() ? "" : "; " + edge);
  if (now - as_of > settings_.max_staleness)
    return "the copy was last refreshed " + FormatDuration(now - as_of) + " ago, longer than max_staleness " +
           FormatDuration(settings_.max_staleness) + (edge.empty() ? "" : "; " + edge);
  return edge;
}

}  // namespace writ
