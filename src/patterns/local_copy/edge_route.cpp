#include "patterns/local_copy/edge_route.h"

#include <filesystem>

#include <boost/json.hpp>

#include "core/api_params.h"
#include "core/crash_point.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/problem.h"
#include "core/tenant.h"
#include "core/units.h"
#include "patterns/document/etag.h"
#include "patterns/document/json_patch.h"
#include "patterns/idempotency/key.h"
#include "patterns/idempotency/request.h"
#include "patterns/local_copy/edge_json.h"
#include "queue/submissions_api.h"

namespace writ {

namespace json = boost::json;

struct EdgeRoute::Call {
  Request req;
  PathParams params;
  Respond respond;
  RequestInfo info;
  std::string id;  // the record's (temporary or canonical), when the path names one
  KeyedRequest keyed;
  IfMatch if_match;
};

namespace {

// A client's own id: what can stand in a path segment and a log line.
bool ValidClientId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char ch : id)
    if (!std::isalnum(ch) && ch != '-' && ch != '.' && ch != '_' && ch != '~') return false;
  return true;
}

// The record with its ETag and sync state in header fields.
Response RecordResponse(int status, const EdgeRecord& r, const std::string& base) {
  Response resp = JsonResponse(status, EdgeRecordJson(r, base, true));
  resp.headers.emplace_back("ETag", VersionEtag(r.version));
  resp.headers.emplace_back("Writ-Sync-Status", SyncStatusName(r.sync_status));
  resp.headers.emplace_back("Writ-Pending-Writes", std::to_string(r.pending));
  if (!r.canonical_id.empty()) {
    resp.headers.emplace_back("Writ-Canonical-Id", r.canonical_id);
    resp.headers.emplace_back("Link", "<" + base + "/" + PercentEncode(r.canonical_id) + ">; rel=\"canonical\"");
  }
  return resp;
}

Response NotFound(const std::string& id) {
  return Problem(404, "record-not-found", "No such record", "no record has the id '" + id.substr(0, 80) + "'");
}

Response Stale(const EdgeRecord& current) {
  Response p = Problem(412, "record-version-stale", "The record has changed",
                       "If-Match names a version that is no longer current; read the record, re-apply your change "
                       "and send it with the current ETag",
                       {{"etag", VersionEtag(current.version)}, {"version", current.version}});
  p.headers.emplace_back("ETag", VersionEtag(current.version));
  return p;
}

}  // namespace

EdgeRoute::EdgeRoute(RouteConfig route, EdgeSettings settings, UpstreamConfig upstream, Store& store,
                     UpstreamClient& client, Scheduler& scheduler, Metrics& m, Rng& rng, SubmissionsApi* submissions)
    : route_(std::move(route)),
      settings_(std::move(settings)),
      upstream_(std::move(upstream)),
      store_(store),
      records_(store.db()),
      scheduler_(scheduler),
      metrics_(m),
      writes_(m.GetCounter("writ_edge_writes_total", "Edge writes committed locally", RouteLabel(route_.name))),
      coalesced_(m.GetCounter("writ_edge_coalesced_total",
                              "Edge writes folded into an unsent change of the same record", RouteLabel(route_.name))),
      stale_(m.GetCounter("writ_edge_stale_total", "Edge writes refused by their If-Match", RouteLabel(route_.name))),
      replays_(m.GetCounter("writ_replays_total", "Completed keys answered from the store", RouteLabel(route_.name))),
      conflicts_(
          m.GetCounter("writ_edge_conflicts_total", "Updates the master refused with 409/412, by policy",
                       RouteLabel(route_.name) + ",policy=\"" + ConflictPolicyName(settings_.on_conflict) + "\"")),
      sync_lag_(m.GetHistogram("writ_edge_sync_lag_seconds",
                               "From a record's oldest unsent write to the master taking its state",
                               CompletionBuckets(), RouteLabel(route_.name))) {
  WorkerSpec spec = MakeWorkerSpec(route_, settings_.queue, false);
  Store* s = &store_;
  spec.on_terminal = [this, s](sql::Conn& c, const AttemptOutcome& o) {
    EdgeFinish finish;
    EdgeSyncRules rules{settings_.on_conflict, settings_.update_method};
    Status st = EdgeStore::OnChangeFinished(c, o, s->Now(), rules, &finish);
    // The read of the master's version it queued is claimed at the
    // worker's next pump (after this outcome, or at the next poll).
    if (st.ok() && finish.conflict) conflicts_.Inc();
    if (st.ok() && finish.lag >= 0) sync_lag_.Observe(static_cast<double>(finish.lag) / 1000.0);
    return st;
  };
  spec.on_retry = [s](sql::Conn& c, const AttemptOutcome& o) { return EdgeStore::OnChangeRetried(c, o, s->Now()); };
  spec.prepare = [this](Command& cmd) { return Prepare(cmd); };
  const OutboundSync& sync = settings_.sync;
  if (sync.rate > 0 || sync.batch_size > 0) {
    spec.burst = sync.batch_size > 0 ? sync.batch_size : std::max(1, settings_.queue.concurrency);
    limiter_ = std::make_unique<RateLimiter>(sync.rate, spec.burst, SystemClock());
  }
  worker_ = std::make_unique<AsyncWorker>(std::move(spec), store, client, scheduler, m, rng, nullptr, limiter_.get());
  if (submissions)
    submissions->AddRoute(route_.name, {false, settings_.queue.retention, [this] { Wake(); }, false, &route_.redactor});
}

EdgeRoute::~EdgeRoute() = default;

std::vector<Endpoint> EdgeRoute::Endpoints() const {
  const std::string& p = route_.path;
  std::string one = p + "/{recordId}";
  return {{"POST", p}, {"GET", p}, {"GET", one}, {"PUT", one}, {"PATCH", one}, {"DELETE", one}};
}

void EdgeRoute::Start() { worker_->Start(); }
void EdgeRoute::Stop() { worker_->Stop(); }
int EdgeRoute::in_flight() const { return worker_->in_flight(); }
void EdgeRoute::Wake() { worker_->Wake(); }

void EdgeRoute::UpdateGauges(Scrape& scrape) {
  auto n = records_.Counts(route_.name);
  if (!n.ok()) return;
  std::string route = RouteLabel(route_.name);
  Metrics& m = scrape.metrics();
  const char* help = "Edge records by sync status";
  m.GetGauge("writ_edge_records", help, route + ",status=\"pending\"").Set(n->pending);
  m.GetGauge("writ_edge_records", help, route + ",status=\"synced\"").Set(n->synced);
  m.GetGauge("writ_edge_records", help, route + ",status=\"rejected\"").Set(n->rejected);
  m.GetGauge("writ_edge_records", help, route + ",status=\"conflict\"").Set(n->conflict);
  m.GetGauge("writ_edge_records", help, route + ",status=\"blocked\"").Set(n->blocked);
  m.GetGauge("writ_edge_records", help, route + ",status=\"dead\"").Set(n->dead);
  m.GetGauge("writ_edge_pending", "Edge records waiting to sync", route).Set(n->pending);
  Millis oldest = n->oldest_pending == 0 ? 0 : std::max<Millis>(0, scrape.now() - n->oldest_pending);
  m.GetGauge("writ_edge_oldest_pending_seconds", "Age of the oldest record waiting to sync", route).Set(oldest / 1000);
  m.GetGauge("writ_edge_over_window", "1 when a record has waited longer than max_sync_delay", route)
      .Set(oldest > settings_.max_sync_delay ? 1 : 0);
  if (const auto* stats = scrape.queue_stats())
    AsyncWorker::UpdateQueueGauges(scrape.metrics(), route_.name, *stats, scrape.now());
}

std::string EdgeRoute::ContractJson() const {
  json::object o{{"maxSyncDelay", FormatDuration(settings_.max_sync_delay)},
                 {"maxSyncDelaySeconds", settings_.max_sync_delay / 1000},
                 {"onConflict", ConflictPolicyName(settings_.on_conflict)},
                 {"updateMethod", settings_.update_method},
                 {"syncStatusHeader", "Writ-Sync-Status"}};
  if (!settings_.client_id.empty()) o["clientId"] = settings_.client_id;
  const OutboundSync& sync = settings_.sync;
  json::object so{{"interval", FormatDuration(sync.interval)}};
  if (sync.batch_size > 0) so["batchSize"] = sync.batch_size;
  if (sync.rate > 0) so["rate"] = sync.rate;
  o["sync"] = std::move(so);
  json::array refs;
  for (const auto& r : settings_.references) refs.push_back({{"pointer", r.pointer}, {"route", r.route}});
  if (!refs.empty()) o["references"] = std::move(refs);
  return json::serialize(o);
}

std::string EdgeRoute::Degraded() const {
  auto n = records_.Counts(route_.name);
  if (!n.ok()) return "cannot count its records: " + n.status().message();
  Millis oldest = n->oldest_pending == 0 ? 0 : std::max<Millis>(0, store_.Now() - n->oldest_pending);
  if (oldest > settings_.max_sync_delay)
    return std::to_string(n->pending) + " record(s) pending, the oldest for " + FormatDuration(oldest) +
           ", longer than max_sync_delay " + FormatDuration(settings_.max_sync_delay);
  return "";
}

void EdgeRoute::Handle(Request req, PathParams params, Respond respond) {
  auto call = std::make_shared<Call>();
  call->req = std::move(req);
  call->params = std::move(params);
  call->respond = std::move(respond);
  const Request& r = call->req;
  size_t extra = SegmentsBelow(r.path, route_.path, call->params);
  if (auto it = call->params.find("recordId"); it != call->params.end()) call->id = it->second;
  auto if_match = RequestIfMatch(r.headers);
  if (!if_match.ok())
    return Finish(call, Problem(400, "if-match-invalid", "Invalid If-Match", if_match.status().message()), "rejected");
  call->if_match = *if_match;
  bool write = r.method != "GET";
  if (write) {
    // A create needs a key as the route says (a retried POST must not make
    // a second record); PUT, PATCH and DELETE carry whole states or
    // deletions, so their key is optional.
    IdempotencyConfig idem = route_.idempotency;
    if (extra != 0) idem.required = false;
    auto prepared = PrepareKeyedRequest(r, idem, route_.name);
    if (!prepared.keyed) return Finish(call, std::move(prepared.problem), "rejected");
    call->keyed = std::move(*prepared.keyed);
    if (call->keyed.has_key)
      call->info.key_hash = KeyHashForLog(call->keyed.id.tenant, route_.name,
                                          (extra == 0 ? std::string("create") : call->id) + ":" + call->keyed.id.key);
  }
  if (extra == 0 && r.method == "POST") return Create(call);
  if (extra == 0 && r.method == "GET") return List(call);
  if (extra == 1 && r.method == "GET") return Get(call);
  if (extra == 1 && r.method == "PUT") return Replace(call);
  if (extra == 1 && r.method == "PATCH") return Patch(call, 3);
  if (extra == 1 && r.method == "DELETE") return Erase(call);
  Finish(call, Problem(404, "not-found", "No such route", r.method + " " + r.path), "rejected");
}

void EdgeRoute::Finish(CallPtr call, Response resp, const std::string& outcome) {
  call->info.outcome = outcome;
  auto respond = std::move(call->respond);
  respond(std::move(resp), call->info);
}

std::optional<std::string> EdgeRoute::CheckedDocument(const CallPtr& call, const std::string& body) {
  auto doc = ParseJsonStrict(body);
  if (!doc.ok()) {
    Finish(call, Problem(400, "invalid-json", "Invalid JSON body", doc.status().message()), "rejected");
    return std::nullopt;
  }
  if (!doc->is_object()) {
    Finish(call, Problem(422, "record-not-object", "Not a JSON object", "a record is a JSON object"), "rejected");
    return std::nullopt;
  }
  if (settings_.schema) {
    auto violations = settings_.schema->Validate(*doc);
    if (!violations.empty()) {
      json::array errors;
      for (const auto& v : violations) errors.push_back({{"pointer", v.pointer}, {"reason", v.reason}});
      Finish(call,
             Problem(422, "schema-violation", "Payload violates the route's schema",
                     std::to_string(violations.size()) + " violation(s) of " +
                         std::filesystem::path(settings_.validate).filename().string() + "; nothing was stored",
                     {{"errors", std::move(errors)}}),
             "rejected");
      return std::nullopt;
    }
  }
  return json::serialize(*doc);
}

// --- Reads -----------------------------------------------------------------

void EdgeRoute::Get(CallPtr call) {
  auto rec = records_.Get(WriteTenant(call->req), route_.name, call->id);
  if (!rec.ok()) return Finish(call, StoreProblem(rec.status()), "error");
  if (!rec->has_value() || (*rec)->deleted) return Finish(call, NotFound(call->id), "not_found");
  Response resp = RecordResponse(200, **rec, SubstituteParams(route_.path, call->params));
  // Age: how long ago the master last took this record's state.
  if ((*rec)->synced_at != 0)
    resp.headers.emplace_back("Age", std::to_string(std::max<Millis>(0, store_.Now() - (*rec)->synced_at) / 1000));
  Finish(call, std::move(resp), "read");
}

void EdgeRoute::List(CallPtr call) {
  auto q = ParseQuery(call->req.target);
  EdgeFilter f;
  f.tenant = WriteTenant(call->req);
  f.route = route_.name;
  for (const auto& [k, v] : q)
    if (k != "syncStatus" && k != "limit" && k != "cursor")
      return Finish(call, BadParameter("unknown parameter '" + k + "' (syncStatus, limit, cursor)"), "rejected");
  if (auto it = q.find("syncStatus"); it != q.end() && !it->second.empty()) {
    f.status = ParseSyncStatus(it->second);
    if (!f.status)
      return Finish(call, BadParameter("syncStatus must be pending, synced, rejected, conflict, blocked or dead"),
                    "rejected");
  }
  auto limit = ParseLimit(q["limit"], 50);
  auto cursor = ParseCursor(q["cursor"], 0);
  if (!limit) return Finish(call, BadParameter("limit must be an integer from 1 to 1000"), "rejected");
  if (!cursor)
    return Finish(call, BadParameter("cursor must be a value from an earlier page's nextCursor"), "rejected");
  f.limit = *limit;
  f.after_seq = *cursor;
  auto rows = records_.List(f);
  if (!rows.ok()) return Finish(call, StoreProblem(rows.status()), "error");
  std::string base = SubstituteParams(route_.path, call->params);
  json::array items;
  for (const auto& r : *rows) items.push_back(EdgeRecordJson(r, base, true));
  json::object body{{"records", std::move(items)}};
  if (static_cast<int>(rows->size()) == f.limit) body["nextCursor"] = std::to_string(rows->back().seq);
  Finish(call, JsonResponse(200, body), "read");
}

// --- Writes ----------------------------------------------------------------

void EdgeRoute::Create(CallPtr call) {
  if (call->if_match.present)
    return Finish(call, Problem(400, "precondition-invalid", "Invalid precondition", "a create takes no If-Match"),
                  "rejected");
  auto data = CheckedDocument(call, call->req.body.empty() ? "{}" : call->req.body);
  if (!data) return;
  EdgeWrite w;
  w.kind = EdgeWrite::kCreate;
  w.data = std::move(*data);
  if (!settings_.client_id.empty()) {
    auto doc = ParseJsonStrict(w.data);
    boost::system::error_code ec;
    const json::value* v = doc.ok() ? doc->find_pointer(settings_.client_id, ec) : nullptr;
    if (v) {
      if (!v->is_string() || !ValidClientId(std::string(v->get_string())))
        return Finish(call,
                      Problem(422, "record-id-invalid", "Invalid record id",
                              "the id at " + settings_.client_id +
                                  " must be a string of 1 to 128 letters, digits, '-', '.', '_' or '~'"),
                      "rejected");
      w.id = std::string(v->get_string());
    }
  }
  // Time first, then 128 random bits: new records go to the end of the
  // id indexes instead of a random page each (fewer pages written per commit).
  if (w.id.empty()) w.id = TimeOrderedId("tmp_", store_.Now(), 32);
  call->id = w.id;
  Write(call, std::move(w), nullptr);
}

void EdgeRoute::Replace(CallPtr call) {
  auto data = CheckedDocument(call, call->req.body);
  if (!data) return;
  EdgeWrite w;
  w.kind = EdgeWrite::kReplace;
  w.id = call->id;
  w.data = std::move(*data);
  if (call->if_match.present) {
    auto cur = records_.Get(WriteTenant(call->req), route_.name, call->id);
    if (!cur.ok()) return Finish(call, StoreProblem(cur.status()), "error");
    if (!cur->has_value() || (*cur)->deleted) return Finish(call, NotFound(call->id), "not_found");
    w.expected_version = call->if_match.any ? 0 : call->if_match.ExpectedVersion((*cur)->version);
    if (w.expected_version < 0) {
      stale_.Inc();
      return Finish(call, Stale(**cur), "stale");
    }
  }
  Write(call, std::move(w), nullptr);
}

void EdgeRoute::Patch(CallPtr call, int attempts_left) {
  auto ct = std::string(FindHeader(call->req.headers, "Content-Type").value_or(""));
  std::string media = ct.substr(0, ct.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  if (!IEquals(media, "application/merge-patch+json")) {
    Response p = Problem(415, "unsupported-media-type", "Unsupported media type",
                         "PATCH takes application/merge-patch+json (RFC 7396); got '" + ct + "'");
    p.headers.emplace_back("Accept-Patch", "application/merge-patch+json");
    return Finish(call, std::move(p), "rejected");
  }
  auto cur = records_.Get(WriteTenant(call->req), route_.name, call->id);
  if (!cur.ok()) return Finish(call, StoreProblem(cur.status()), "error");
  if (!cur->has_value() || (*cur)->deleted) return Finish(call, NotFound(call->id), "not_found");
  const EdgeRecord& r = **cur;
  int64_t expected = r.version;  // the version patched: a save in between is seen by the store
  if (call->if_match.present && !call->if_match.any && call->if_match.ExpectedVersion(r.version) < 0) {
    stale_.Inc();
    return Finish(call, Stale(r), "stale");
  }
  PatchOutcome out = ApplyMergePatch(r.data, call->req.body);
  if (!out.ok)
    return Finish(call, Problem(out.status, out.type, "The patch cannot be applied", out.detail), "rejected");
  auto data = CheckedDocument(call, out.doc);
  if (!data) return;
  EdgeWrite w;
  w.kind = EdgeWrite::kReplace;
  w.id = r.id;
  w.expected_version = expected;
  w.data = std::move(*data);
  // Without If-Match (or with *), a write that landed in between is patched
  // in turn (a few times), never overwritten with a stale base.
  std::function<void()> again;
  if ((!call->if_match.present || call->if_match.any) && attempts_left > 1)
    again = [this, call, attempts_left] { Patch(call, attempts_left - 1); };
  Write(call, std::move(w), std::move(again));
}

void EdgeRoute::Erase(CallPtr call) {
  EdgeWrite w;
  w.kind = EdgeWrite::kDelete;
  w.id = call->id;
  if (call->if_match.present && !call->if_match.any) {
    auto cur = records_.Get(WriteTenant(call->req), route_.name, call->id);
    if (!cur.ok()) return Finish(call, StoreProblem(cur.status()), "error");
    if (!cur->has_value() || (*cur)->deleted) return Finish(call, NotFound(call->id), "not_found");
    w.expected_version = call->if_match.ExpectedVersion((*cur)->version);
    if (w.expected_version < 0) {
      stale_.Inc();
      return Finish(call, Stale(**cur), "stale");
    }
  }
  Write(call, std::move(w), nullptr);
}

void EdgeRoute::Write(CallPtr call, EdgeWrite w, std::function<void()> on_stale) {
  w.tenant = WriteTenant(call->req);
  w.route = route_.name;
  if (call->keyed.has_key)
    w.key = {true, call->keyed.id.key, call->keyed.fp.digest, call->keyed.fp.detail(), route_.idempotency.retention};
  Command& cmd = w.command;
  cmd.id = TimeOrderedId("sub_", store_.Now());
  cmd.upstream_key = EdgeChangeKey(w.tenant, w.route, cmd.id);
  cmd.headers.emplace_back("Content-Type", "application/json");
  if (!call->req.request_id.empty()) cmd.headers.emplace_back("X-Request-Id", call->req.request_id);
  for (const auto& name : route_.forward_headers)
    if (auto v = FindHeader(call->req.headers, name)) cmd.headers.emplace_back(name, std::string(*v));
  std::string base = SubstituteParams(route_.path, call->params);
  w.collection = upstream_.base_path + SubstituteParams(route_.upstream_path, call->params);
  w.update_method = settings_.update_method;
  w.send_delay = settings_.sync.interval;
  EdgeWrite::Kind kind = w.kind;
  w.respond = [kind, base](const EdgeRecord& r) {
    if (kind == EdgeWrite::kDelete) {
      Response resp;
      resp.status = 204;
      resp.headers.emplace_back("Writ-Sync-Status", SyncStatusName(r.sync_status));
      return StoredResponse{resp.status, resp.headers, resp.body};
    }
    Response resp = RecordResponse(kind == EdgeWrite::kCreate ? 201 : 200, r, base);
    if (kind == EdgeWrite::kCreate) resp.headers.emplace_back("Location", base + "/" + PercentEncode(r.id));
    return StoredResponse{resp.status, resp.headers, resp.body};
  };
  records_.Write(std::move(w), [this, call, on_stale = std::move(on_stale)](Result<EdgeWriteResult> r) mutable {
    if (!r.ok())
      return Finish(call,
                    Problem(503, "store-unavailable", "Store unavailable",
                            "nothing was stored (" + r.status().message() + "); retry (with the same Idempotency-Key)"),
                    "error");
    switch (r->status) {
      case EdgeWriteStatus::kDone: {
        WRIT_CRASH_POINT("edge_after_write_commit");
        writes_.Inc();
        if (r->coalesced) coalesced_.Inc();
        LogJson("info", "edge write",
                {{"route", route_.name},
                 {"record", r->record.id},
                 {"version", r->record.version},
                 {"coalesced", r->coalesced}});
        Response resp;
        resp.status = r->response.status;
        resp.headers = std::move(r->response.headers);
        resp.body = std::move(r->response.body);
        bool queued = r->queued;
        Finish(call, std::move(resp), "stored");  // the answer first, then the sync worker
        if (queued) Wake();
        return;
      }
      case EdgeWriteStatus::kStale:
        if (on_stale) return scheduler_.Post(std::move(on_stale));
        stale_.Inc();
        return Finish(call, Stale(r->record), "stale");
      case EdgeWriteStatus::kNotFound:
        return Finish(call, NotFound(call->id), "not_found");
      case EdgeWriteStatus::kIdTaken:
        return Finish(call,
                      Problem(409, "record-exists", "The id is taken",
                              "a record with the id '" + call->id + "' exists on this route"),
                      "rejected");
      case EdgeWriteStatus::kKeyExists: {
        std::string outcome;
        Response resp = AnswerAcknowledged(r->existing, call->keyed.fp, outcome);
        if (outcome == "replayed") replays_.Inc();
        return Finish(call, std::move(resp), outcome);
      }
    }
  });
}

// --- Sync ------------------------------------------------------------------

Prepared EdgeRoute::Prepare(Command& cmd) {
  auto rec = records_.Get(cmd.tenant, route_.name, cmd.ordering_key);
  if (!rec.ok()) return {Prepared::kWait, "store: " + rec.status().message()};
  if (!rec->has_value()) return {Prepared::kFail, "the record is gone"};
  const EdgeRecord& r = **rec;
  if (auto at = cmd.target.rfind("{id}"); at != std::string::npos) {
    if (r.canonical_id.empty()) {
      if (r.sync_status == SyncStatus::kPending)
        return {Prepared::kWait, "waiting for the record's create to be answered"};
      return {Prepared::kFail,
              "the record was never created at the master (" + std::string(SyncStatusName(r.sync_status)) + ")"};
    }
    cmd.target.replace(at, 4, PercentEncode(r.canonical_id));
    if (!r.master_etag.empty() && cmd.method != "GET" && !FindHeader(cmd.headers, "If-Match"))
      cmd.headers.emplace_back("If-Match", r.master_etag);
  }
  if (settings_.references.empty() || cmd.body.empty()) {
    WRIT_CRASH_POINT("edge_before_send");
    return {};
  }
  auto doc = ParseJsonStrict(cmd.body);
  if (!doc.ok()) return {};
  Prepared out;
  bool changed = false;
  for (const auto& ref : settings_.references) {
    ref.pattern.ForEach(*doc, [&](json::value& v) {
      if (out.kind != Prepared::kSend || !v.is_string()) return;
      std::string id(v.get_string());
      auto target = records_.Get(cmd.tenant, ref.route, id);
      if (!target.ok()) {
        out = {Prepared::kWait, "store: " + target.status().message()};
        return;
      }
      if (!target->has_value() || (*target)->id != id) return;  // not a temporary id of that route
      const EdgeRecord& t = **target;
      if (!t.canonical_id.empty()) {
        v = t.canonical_id;
        changed = true;
      } else if (t.sync_status == SyncStatus::kPending) {
        out = {Prepared::kWait, "waiting for " + ref.route + " " + id + " (" + ref.pointer + ") to be created"};
      } else {
        out = {Prepared::kFail, ref.pointer + " references " + ref.route + " " + id + ", which is " +
                                    SyncStatusName(t.sync_status) + " and never reached the master"};
      }
    });
  }
  if (out.kind == Prepared::kSend && changed) cmd.body = json::serialize(*doc);
  if (out.kind == Prepared::kSend) WRIT_CRASH_POINT("edge_before_send");
  return out;
}

}  // namespace writ
