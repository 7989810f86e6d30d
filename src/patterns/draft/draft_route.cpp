#include "patterns/draft/draft_route.h"

#include <filesystem>

#include <boost/json.hpp>

#include "core/api_params.h"
#include "core/crash_point.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/problem.h"
#include "core/tenant.h"
#include "patterns/draft/draft_http.h"
#include "patterns/document/etag.h"
#include "patterns/document/json_patch.h"
#include "patterns/idempotency/key.h"
#include "patterns/idempotency/request.h"
#include "queue/submissions_api.h"
#include "upstream/outcome.h"

namespace writ {

namespace json = boost::json;

namespace {

enum class Op { kCreate, kList, kGet, kReplace, kPatch, kErase, kSubmit, kVersions, kNone };

}  // namespace

namespace draft_http {

json::object DraftJson(const Draft& d, bool with_data) {
  json::object o{{"draftId", d.id},
                 {"version", d.version},
                 {"status", DraftStatusName(d.status)},
                 {"createdAt", FormatTimestamp(d.created_at)},
                 {"updatedAt", FormatTimestamp(d.updated_at)}};
  if (d.status != DraftStatus::kSubmitting) o["expiresAt"] = FormatTimestamp(d.expires_at);
  if (with_data) {
    auto data = ParseJsonStrict(d.data);
    o["data"] = data.ok() ? std::move(*data) : json::value(nullptr);
  }
  if (!d.submission_id.empty()) {
    o["submissionId"] = d.submission_id;
    o["submissionUrl"] = "/v1/submissions/" + d.submission_id;
  }
  if (!d.canonical_id.empty()) o["canonicalId"] = d.canonical_id;
  if (d.answer_status != 0) {
    json::object answer{{"status", d.answer_status}};
    auto body = ParseJsonStrict(d.answer_body);
    if (body.ok()) answer["body"] = std::move(*body);
    else if (!d.answer_body.empty()) answer["body"] = d.answer_body;
    o[d.status == DraftStatus::kSubmitted ? "masterAnswer" : "lastRefusal"] = std::move(answer);
  }
  return o;
}

Response DraftResponse(int status, const Draft& d) {
  Response r = JsonResponse(status, DraftJson(d, true));
  r.headers.emplace_back("ETag", VersionEtag(d.version));
  return r;
}

StoredResponse ToStored(const Response& r) { return {r.status, r.headers, r.body}; }

Response NotFound(const std::string& id) {
  return Problem(404, "draft-not-found", "No such draft", "no draft has the id '" + id.substr(0, 80) + "'");
}

Response Stale(const Draft& current) {
  Response p = Problem(412, "draft-version-stale", "The draft has changed",
                       "If-Match names a version that is no longer current; read the draft, re-apply your change "
                       "and send it with the current ETag",
                       {{"etag", VersionEtag(current.version)}, {"version", current.version}});
  p.headers.emplace_back("ETag", VersionEtag(current.version));
  return p;
}

Response Frozen(const Draft& d) {
  bool submitted = d.status == DraftStatus::kSubmitted;
  json::object extra{{"status", DraftStatusName(d.status)}};
  if (!d.canonical_id.empty()) extra["canonicalId"] = d.canonical_id;
  if (!d.submission_id.empty()) extra["submissionId"] = d.submission_id;
  return Problem(409, submitted ? "draft-submitted" : "draft-submitting",
                 submitted ? "The draft was submitted" : "The draft is being submitted",
                 submitted ? "a submitted draft can no longer change" : "the draft is frozen while its submit runs",
                 std::move(extra));
}

Response ViolationsProblem(const std::vector<SchemaViolation>& violations, const std::string& schema, bool strict) {
  json::array errors;
  for (const auto& v : violations) errors.push_back({{"pointer", v.pointer}, {"reason", v.reason}});
  return Problem(422, strict ? "draft-incomplete" : "schema-violation",
                 strict ? "The draft does not satisfy the schema" : "Payload violates the route's schema",
                 std::to_string(violations.size()) + " violation(s) of " + schema +
                     (strict ? "; nothing was sent to the master" : ""),
                 {{"errors", std::move(errors)}});
}


}  // namespace draft_http

using namespace draft_http;

DraftRoute::DraftRoute(RouteConfig route, DraftSettings settings, UpstreamConfig upstream, Store& store,
                       UpstreamClient& client, Scheduler& scheduler, Metrics& m, Rng& rng,
                       SubmissionsApi* submissions, const QuotaConfig* quotas)
    : route_(std::move(route)),
      quotas_(quotas),
      settings_(std::move(settings)),
      upstream_(std::move(upstream)),
      store_(store),
      drafts_(store.db()),
      client_(client),
      scheduler_(scheduler),
      metrics_(m),
      saves_(m.GetCounter("writ_draft_saves_total", "Draft creates and saves applied", RouteLabel(route_.name))),
      stale_(m.GetCounter("writ_draft_conflicts_total", "Draft writes refused by their precondition",
                          RouteLabel(route_.name) + ",kind=\"stale\"")),
      precondition_required_(m.GetCounter("writ_draft_conflicts_total", "Draft writes refused by their precondition",
                                          RouteLabel(route_.name) + ",kind=\"if_match_required\"")),
      erasures_(m.GetCounter("writ_draft_erasures_total", "Drafts erased on request", RouteLabel(route_.name))),
      replays_(m.GetCounter("writ_replays_total", "Completed keys answered from the store", RouteLabel(route_.name))),
      invalid_(m.GetCounter("writ_schema_violations_total", "Requests refused by the route's JSON Schema",
                            RouteLabel(route_.name))) {
  if (settings_.submit_async) {
    WorkerSpec spec = MakeWorkerSpec(route_, settings_.queue, false);
    Millis kept = settings_.submitted_retention;
    Store* s = &store_;
    spec.on_terminal = [s, kept](sql::Conn& c, const AttemptOutcome& o) {
      return DraftStore::OnSubmissionFinished(c, o, s->Now(), kept);
    };
    worker_ = std::make_unique<AsyncWorker>(std::move(spec), store, client, scheduler, m, rng);
    if (submissions)
      submissions->AddRoute(route_.name, {false, settings_.queue.retention, [this] { Wake(); }, false, &route_.redactor});
  }
}

DraftRoute::~DraftRoute() = default;

std::vector<Endpoint> DraftRoute::Endpoints() const {
  const std::string& p = route_.path;
  std::string one = p + "/{draftId}";
  return {{"POST", p},   {"GET", p},      {"GET", one},          {"PUT", one},
          {"PATCH", one}, {"DELETE", one}, {"POST", one + "/submit"}, {"GET", one + "/versions"}};
}

void DraftRoute::Start() {
  if (worker_) worker_->Start();
}
void DraftRoute::Stop() {
  if (worker_) worker_->Stop();
}
int DraftRoute::in_flight() const { return worker_ ? worker_->in_flight() : 0; }
void DraftRoute::Wake() {
  if (worker_) worker_->Wake();
}

void DraftRoute::UpdateGauges(Scrape& scrape) {
  auto n = drafts_.Counts(route_.name);
  if (!n.ok()) return;
  std::string route = RouteLabel(route_.name);
  const char* help = "Drafts by status";
  scrape.metrics().GetGauge("writ_drafts", help, route + ",status=\"open\"").Set(n->open);
  scrape.metrics().GetGauge("writ_drafts", help, route + ",status=\"submitting\"").Set(n->submitting);
  scrape.metrics().GetGauge("writ_drafts", help, route + ",status=\"submitted\"").Set(n->submitted);
  if (worker_)
    if (const auto* stats = scrape.queue_stats())
      AsyncWorker::UpdateQueueGauges(scrape.metrics(), route_.name, *stats, scrape.now());
}

void DraftRoute::Handle(Request req, PathParams params, Respond respond) {
  auto call = std::make_shared<Call>();
  call->req = std::move(req);
  call->params = std::move(params);
  call->respond = std::move(respond);
  const Request& r = call->req;
  size_t extra = SegmentsBelow(r.path, route_.path, call->params);
  if (auto it = call->params.find("draftId"); it != call->params.end()) call->id = it->second;
  bool ends_submit = r.path.size() > 7 && r.path.compare(r.path.size() - 7, 7, "/submit") == 0;
  Op op = Op::kNone;
  if (extra == 0) op = r.method == "POST" ? Op::kCreate : Op::kList;
  else if (extra == 1 && r.method == "GET") op = Op::kGet;
  else if (extra == 1 && r.method == "PUT") op = Op::kReplace;
  else if (extra == 1 && r.method == "PATCH") op = Op::kPatch;
  else if (extra == 1 && r.method == "DELETE") op = Op::kErase;
  else if (extra == 2 && ends_submit) op = Op::kSubmit;
  else if (extra == 2) op = Op::kVersions;
  if (op == Op::kNone)
    return Finish(call, Problem(404, "not-found", "No such route", r.method + " " + r.path), "rejected");

  // Preconditions: syntax first (a malformed header is 400, whatever the op).
  auto if_match = RequestIfMatch(r.headers);
  if (!if_match.ok())
    return Finish(call, Problem(400, "if-match-invalid", "Invalid If-Match", if_match.status().message()),
                  "rejected");
  call->if_match = *if_match;

  if (op == Op::kCreate || op == Op::kReplace || op == Op::kPatch || op == Op::kSubmit) {
    // Idempotency-Key (optional on saves, required on submit) and the body's media type.
    IdempotencyConfig idem = route_.idempotency;
    idem.required = op == Op::kSubmit;
    if (op == Op::kSubmit) idem.fingerprint = FingerprintMode::kRaw;  // a submit has no body to canonicalise
    auto prepared = PrepareKeyedRequest(r, idem, route_.name);
    if (!prepared.keyed) return Finish(call, std::move(prepared.problem), "rejected");
    call->keyed = std::move(*prepared.keyed);
    if (call->keyed.has_key)
      call->info.key_hash = KeyHashForLog(call->keyed.id.tenant, route_.name, call->id + ":" + call->keyed.id.key);
  }
  switch (op) {
    case Op::kCreate: return Create(call);
    case Op::kList: return List(call);
    case Op::kGet: return Get(call);
    case Op::kReplace: return Replace(call);
    case Op::kPatch: return Patch(call, 3);
    case Op::kErase: return Erase(call);
    case Op::kSubmit: return Submit(call);
    case Op::kVersions: return Versions(call);
    case Op::kNone: break;
  }
}

void DraftRoute::Finish(CallPtr call, Response resp, const std::string& outcome) {
  call->info.outcome = outcome;
  auto respond = std::move(call->respond);
  respond(std::move(resp), call->info);
}

// --- Reads -----------------------------------------------------------------

void DraftRoute::Get(CallPtr call) {
  auto inm = ParseIfNoneMatch(FindHeader(call->req.headers, "If-None-Match"));
  if (!inm.ok())
    return Finish(call, Problem(400, "if-none-match-invalid", "Invalid If-None-Match", inm.status().message()),
                  "rejected");
  auto d = drafts_.Get(WriteTenant(call->req), route_.name, call->id);
  if (!d.ok()) return Finish(call, StoreProblem(d.status()), "error");
  if (!d->has_value()) return Finish(call, NotFound(call->id), "not_found");
  const Draft& draft = **d;
  if (inm->Matches(draft.version)) {
    Response r;
    r.status = 304;
    r.headers.emplace_back("ETag", VersionEtag(draft.version));
    return Finish(call, std::move(r), "not_modified");
  }
  Finish(call, DraftResponse(200, draft), "read");
}

void DraftRoute::List(CallPtr call) {
  auto q = ParseQuery(call->req.target);
  DraftFilter f;
  f.tenant = WriteTenant(call->req);
  f.route = route_.name;
  if (auto it = q.find("status"); it != q.end() && !it->second.empty()) {
    f.status = ParseDraftStatus(it->second);
    if (!f.status)
      return Finish(call, BadParameter("status must be open, submitting or submitted"), "rejected");
  }
  auto limit = ParseLimit(q["limit"], 50);
  auto cursor = ParseCursor(q["cursor"], 0);
  if (!limit) return Finish(call, BadParameter("limit must be an integer from 1 to 1000"), "rejected");
  if (!cursor) return Finish(call, BadParameter("cursor must be a value from an earlier page's nextCursor"), "rejected");
  f.limit = *limit;
  f.after_seq = *cursor;
  auto rows = drafts_.List(f);
  if (!rows.ok()) return Finish(call, StoreProblem(rows.status()), "error");
  json::array items;
  for (const auto& d : *rows) items.push_back(DraftJson(d, false));
  json::object body{{"drafts", std::move(items)}};
  if (static_cast<int>(rows->size()) == f.limit) body["nextCursor"] = std::to_string(rows->back().seq);
  Finish(call, JsonResponse(200, body), "read");
}

void DraftRoute::Versions(CallPtr call) {
  auto q = ParseQuery(call->req.target);
  auto limit = ParseLimit(q["limit"], settings_.keep_versions);
  if (!limit) return Finish(call, BadParameter("limit must be an integer from 1 to 1000"), "rejected");
  auto d = drafts_.Get(WriteTenant(call->req), route_.name, call->id);
  if (!d.ok()) return Finish(call, StoreProblem(d.status()), "error");
  if (!d->has_value()) return Finish(call, NotFound(call->id), "not_found");
  auto rows = drafts_.Versions(WriteTenant(call->req), route_.name, call->id, *limit);
  if (!rows.ok()) return Finish(call, StoreProblem(rows.status()), "error");
  json::array versions;
  for (const auto& v : *rows) {
    json::object o{{"version", v.version}, {"createdAt", FormatTimestamp(v.created_at)}};
    auto changed = ParseJsonStrict(v.changed);
    o["changed"] = changed.ok() ? std::move(*changed) : json::value(json::array());
    auto data = ParseJsonStrict(v.data);
    o["data"] = data.ok() ? std::move(*data) : json::value(nullptr);
    versions.push_back(std::move(o));
  }
  Response r = JsonResponse(200, json::object{{"draftId", call->id}, {"version", (*d)->version},
                                               {"versions", std::move(versions)}});
  r.headers.emplace_back("ETag", VersionEtag((*d)->version));
  Finish(call, std::move(r), "read");
}

// --- Saves -----------------------------------------------------------------

namespace {
// The body of a create or replace: a JSON object. Empty: the problem to answer.
Result<json::value> ParseDocument(const std::string& body) {
  auto doc = ParseJsonStrict(body);
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) return Status(Code::kConflict, "a draft's data is a JSON object");
  return doc;
}
}  // namespace

bool DraftRoute::RequireIfMatch(const CallPtr& call, const char* what) {
  if (call->if_match.present) return true;
  precondition_required_.Inc();
  Finish(call,
         Problem(428, "if-match-required", "If-Match required",
                 std::string("a ") + what + " must say which version it changes: send If-Match with the draft's ETag" +
                     (std::string(what) == "submit" ? "" : " (or *)")),
         "rejected");
  return false;
}

std::optional<json::value> DraftRoute::CheckedDocument(const CallPtr& call, const std::string& body) {
  auto doc = ParseDocument(body);
  if (!doc.ok()) {
    Finish(call,
           doc.status().code() == Code::kConflict
               ? Problem(422, "draft-not-object", "Not a JSON object", doc.status().message())
               : Problem(400, "invalid-json", "Invalid JSON body", doc.status().message()),
           "rejected");
    return std::nullopt;
  }
  if (settings_.loose) {
    auto violations = settings_.loose->Validate(*doc);
    if (!violations.empty()) {
      invalid_.Inc();
      Finish(call, ViolationsProblem(violations, std::filesystem::path(settings_.validate).filename(), false),
             "rejected");
      return std::nullopt;
    }
  }
  return std::move(*doc);
}

bool DraftRoute::AnsweredFromKey(const CallPtr& call, const std::string& scoped_key) {
  if (!call->keyed.has_key) return false;
  auto rec = store_.keys().Lookup({WriteTenant(call->req), route_.name, scoped_key});
  if (!rec.ok()) {
    Finish(call, StoreProblem(rec.status()), "error");
    return true;
  }
  if (!rec->has_value()) return false;
  AnswerKeyed(call, **rec);
  return true;
}

void DraftRoute::Create(CallPtr call) {
  // If-None-Match: * ("only if new") always holds for a create; other
  // preconditions name a draft that cannot exist yet.
  auto inm = ParseIfNoneMatch(FindHeader(call->req.headers, "If-None-Match"));
  if (!inm.ok() || (inm->present && !inm->any) || call->if_match.present)
    return Finish(call,
                  Problem(400, "precondition-invalid", "Invalid precondition",
                          "a create takes no If-Match and at most If-None-Match: *"),
                  "rejected");
  auto doc = CheckedDocument(call, call->req.body.empty() ? "{}" : call->req.body);
  if (!doc) return;
  // Fast path for a retried create: a stored answer replays without a write.
  if (AnsweredFromKey(call, "create:" + call->keyed.id.key)) return;
  call->id = "d_" + RandomId();
  std::string data = json::serialize(*doc);
  std::string changed = ChangedPointers("{}", data);
  Save(call, /*create=*/true, 0, std::move(data), std::move(changed), nullptr);
}

void DraftRoute::Replace(CallPtr call) {
  if (!RequireIfMatch(call, "save")) return;
  auto doc = CheckedDocument(call, call->req.body);
  if (!doc) return;
  if (AnsweredFromKey(call, call->id + ":" + call->keyed.id.key)) return;
  // The pointers changed need the version it replaces: read it (a reader,
  // no lock); the store checks the version again when it writes.
  auto cur = drafts_.Get(WriteTenant(call->req), route_.name, call->id);
  if (!cur.ok()) return Finish(call, StoreProblem(cur.status()), "error");
  if (!cur->has_value()) return Finish(call, NotFound(call->id), "not_found");
  // If-Match: * replaces whatever version is current.
  int64_t expected = call->if_match.any ? 0 : call->if_match.ExpectedVersion((*cur)->version);
  if (expected < 0) {
    stale_.Inc();
    return Finish(call, Stale(**cur), "stale");
  }
  std::string data = json::serialize(*doc);
  std::string changed = ChangedPointers((*cur)->data, data);
  Save(call, false, expected, std::move(data), std::move(changed), nullptr);
}

void DraftRoute::Patch(CallPtr call, int attempts_left) {
  if (!RequireIfMatch(call, "save")) return;
  auto ct = std::string(FindHeader(call->req.headers, "Content-Type").value_or(""));
  std::string media = ct.substr(0, ct.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  bool merge = IEquals(media, "application/merge-patch+json");
  bool json_patch = IEquals(media, "application/json-patch+json");
  if (!merge && !json_patch) {
    Response p = Problem(415, "unsupported-media-type", "Unsupported media type",
                         "PATCH takes application/merge-patch+json (RFC 7396) or application/json-patch+json "
                         "(RFC 6902); got '" + ct + "'");
    p.headers.emplace_back("Accept-Patch", "application/merge-patch+json, application/json-patch+json");
    return Finish(call, std::move(p), "rejected");
  }
  auto patch = ParseJsonStrict(call->req.body);
  if (!patch.ok()) return Finish(call, Problem(400, "invalid-json", "Invalid JSON body", patch.status().message()), "rejected");
  if (json_patch && (!patch->is_array() || patch->as_array().size() > static_cast<size_t>(settings_.max_patch_operations)))
    return Finish(call,
                  Problem(422, "patch-invalid", "Invalid JSON patch",
                          "a JSON patch is an array of at most " + std::to_string(settings_.max_patch_operations) +
                              " operations"),
                  "rejected");
  if (attempts_left == 3 && AnsweredFromKey(call, call->id + ":" + call->keyed.id.key)) return;
  auto cur = drafts_.Get(WriteTenant(call->req), route_.name, call->id);
  if (!cur.ok()) return Finish(call, StoreProblem(cur.status()), "error");
  if (!cur->has_value()) return Finish(call, NotFound(call->id), "not_found");
  const Draft& draft = **cur;
  int64_t expected = call->if_match.ExpectedVersion(draft.version);
  if (expected < 0) {
    stale_.Inc();
    return Finish(call, Stale(draft), "stale");
  }
  if (draft.status != DraftStatus::kOpen) return Finish(call, Frozen(draft), "frozen");
  PatchOutcome out = merge ? ApplyMergePatch(draft.data, call->req.body) : ApplyJsonPatch(draft.data, call->req.body);
  if (!out.ok) {
    json::object extra;
    if (out.op_index >= 0) extra["operation"] = out.op_index;
    return Finish(call, Problem(out.status, out.type, "The patch cannot be applied", out.detail, std::move(extra)),
                  "rejected");
  }
  auto doc = CheckedDocument(call, out.doc);  // the patched document: still an object, within the limits
  if (!doc) return;
  std::string data = json::serialize(*doc);
  std::string changed = ChangedPointers(draft.data, data);
  // If-Match: * patched the version it read; if another save landed since,
  // patch that one instead (a few times), never the stale base.
  bool any = call->if_match.any;
  std::function<void()> again;
  if (any && attempts_left > 1) again = [this, call, attempts_left] { Patch(call, attempts_left - 1); };
  Save(call, false, expected, std::move(data), std::move(changed), std::move(again));
}

void DraftRoute::Save(CallPtr call, bool create, int64_t expected_version, std::string data, std::string changed,
                      std::function<void()> on_stale) {
  DraftSave s;
  s.tenant = WriteTenant(call->req);
  s.route = route_.name;
  s.id = call->id;
  s.create = create;
  s.expected_version = expected_version;
  s.data = std::move(data);
  s.changed = std::move(changed);
  s.retention = settings_.retention;
  s.keep_versions = settings_.keep_versions;
  if (create && quotas_) s.max_live = quotas_->Of(s.tenant).max_drafts;
  if (call->keyed.has_key) {
    s.key.has_key = true;
    s.key.key = call->keyed.id.key;
    s.key.fingerprint = call->keyed.fp.digest;
    s.key.fingerprint_detail = call->keyed.fp.detail();
    s.key.retention = route_.idempotency.retention;
  }
  std::string base = SubstituteParams(route_.path, call->params);
  s.respond = [create, base](const Draft& d) {
    Response r = DraftResponse(create ? 201 : 200, d);
    if (create) r.headers.emplace_back("Location", base + "/" + d.id);
    return ToStored(r);
  };
  drafts_.Save(std::move(s), [this, call, on_stale = std::move(on_stale)](Result<DraftResult> r) mutable {
    if (!r.ok()) return Finish(call, StoreProblem(r.status()), "error");
    AnswerSaved(call, std::move(*r), std::move(on_stale));
  });
}

void DraftRoute::AnswerSaved(CallPtr call, DraftResult r, std::function<void()> on_stale) {
  switch (r.status) {
    case DraftWrite::kDone: {
      saves_.Inc();
      LogJson("info", "draft saved",
              {{"route", route_.name}, {"draft", r.draft.id}, {"version", r.draft.version}, {"outcome", "saved"}});
      Response resp;
      resp.status = r.response.status;
      resp.headers = std::move(r.response.headers);
      resp.body = std::move(r.response.body);
      return Finish(call, std::move(resp), "saved");
    }
    case DraftWrite::kStale:
      if (on_stale) return scheduler_.Post(std::move(on_stale));
      stale_.Inc();
      LogJson("info", "draft saved",
              {{"route", route_.name}, {"draft", r.draft.id}, {"version", r.draft.version}, {"outcome", "stale"}});
      return Finish(call, Stale(r.draft), "stale");
    case DraftWrite::kNotFound: return Finish(call, NotFound(call->id), "not_found");
    case DraftWrite::kFrozen: return Finish(call, Frozen(r.draft), "frozen");
    case DraftWrite::kKeyExists: return AnswerKeyed(call, r.existing);
    case DraftWrite::kNotOpen: return Finish(call, Frozen(r.draft), "frozen");
    case DraftWrite::kQuota: {
      std::string tenant = WriteTenant(call->req);
      metrics_.GetCounter("writ_quota_drafts_refused_total", "Draft creates refused for quotas.max_drafts").Inc();
      return Finish(call,
                    Problem(429, "too-many-drafts", "Too many drafts",
                            "tenant '" + tenant + "' has " + std::to_string(r.live) +
                                " drafts open or submitting (quotas.max_drafts: " +
                                std::to_string(quotas_->Of(tenant).max_drafts) +
                                "); submit or delete some before creating more"),
                    "quota");
    }
  }
}

void DraftRoute::AnswerKeyed(CallPtr call, const IdempotencyRecord& rec) {
  std::string outcome;
  Response r = AnswerAcknowledged(rec, call->keyed.fp, outcome);
  if (outcome == "replayed") replays_.Inc();
  Finish(call, std::move(r), outcome);
}

void DraftRoute::Erase(CallPtr call) {
  int64_t expected = 0;
  if (call->if_match.present) {
    auto cur = drafts_.Get(WriteTenant(call->req), route_.name, call->id);
    if (!cur.ok()) return Finish(call, StoreProblem(cur.status()), "error");
    if (!cur->has_value()) return Finish(call, NotFound(call->id), "not_found");
    expected = call->if_match.ExpectedVersion((*cur)->version);
    if (expected < 0) {
      stale_.Inc();
      return Finish(call, Stale(**cur), "stale");
    }
  }
  drafts_.Erase(WriteTenant(call->req), route_.name, call->id, expected, [this, call](Result<DraftResult> r) {
    if (!r.ok()) return Finish(call, StoreProblem(r.status()), "error");
    switch (r->status) {
      case DraftWrite::kDone: {
        erasures_.Inc();
        LogJson("info", "draft erased",
                {{"route", route_.name}, {"draft", r->draft.id}, {"version", r->draft.version}, {"outcome", "erased"}});
        Response resp;
        resp.status = 204;
        return Finish(call, std::move(resp), "erased");
      }
      case DraftWrite::kStale: stale_.Inc(); return Finish(call, Stale(r->draft), "stale");
      case DraftWrite::kFrozen: return Finish(call, Frozen(r->draft), "frozen");
      default: return Finish(call, NotFound(call->id), "not_found");
    }
  });
}

}  // namespace writ
