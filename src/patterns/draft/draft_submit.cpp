// The submit of a draft (see draft_route.h): checks, then the sync path
// (begin, the master, finish) or the async one (the command queued with the
// frozen draft). Split from draft_route.cpp, which holds the saves and reads.
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
#include "patterns/draft/draft_route.h"
#include "upstream/outcome.h"

namespace writ {

namespace json = boost::json;
using namespace draft_http;

// --- Submit ----------------------------------------------------------------

void DraftRoute::Submit(CallPtr call) {
  if (!RequireIfMatch(call, "submit")) return;
  // A retry: the key's record answers (sync: unless its holder died, whose
  // submit this one takes over).
  KeyId key{WriteTenant(call->req), route_.name, call->id + ":" + call->keyed.id.key};
  auto rec = store_.keys().Lookup(key);
  if (!rec.ok()) return Finish(call, StoreProblem(rec.status()), "error");
  bool takeover = false;
  if (rec->has_value()) {
    const IdempotencyRecord& r = **rec;
    bool expired = r.state == KeyState::kInFlight && r.lease_until <= store_.Now();
    if (settings_.submit_async || r.fingerprint != call->keyed.fp.digest || !expired) {
      if (r.state == KeyState::kUnknown && r.fingerprint == call->keyed.fp.digest) {
        UpstreamResult none;
        none.message = "an earlier submit with this key ended without an answer";
        return Finish(call, UpstreamProblem(none, Outcome::kUnknown, true), "parked");
      }
      return AnswerKeyed(call, r);
    }
    takeover = true;
  }
  // Without a schema to check, the store checks the version and status as
  // it begins the submit: no read first. With one, the data is read here
  // (no work inside a transaction) and the begin checks the version again.
  if (!settings_.strict && !takeover && !call->if_match.any && call->if_match.versions.size() == 1) {
    int64_t expected = call->if_match.versions.front();
    if (settings_.submit_async) return SubmitAsync(call, expected);
    return SubmitSync(call, expected);
  }
  auto cur = drafts_.Get(WriteTenant(call->req), route_.name, call->id);
  if (!cur.ok()) return Finish(call, StoreProblem(cur.status()), "error");
  if (!cur->has_value()) return Finish(call, NotFound(call->id), "not_found");
  const Draft& draft = **cur;
  int64_t expected = call->if_match.ExpectedVersion(draft.version);
  if (!takeover) {
    if (expected < 0) {
      stale_.Inc();
      return Finish(call, Stale(draft), "stale");
    }
    bool resend = draft.status == DraftStatus::kSubmitting && draft.submit_key == call->keyed.id.key &&
                  draft.submission_id.empty();
    if (draft.status != DraftStatus::kOpen && !resend) return Finish(call, Frozen(draft), "frozen");
    // The whole contract now: every violation, nothing sent.
    if (settings_.strict) {
      auto doc = ParseJsonStrict(draft.data);
      auto violations = doc.ok() ? settings_.strict->Validate(*doc) : std::vector<SchemaViolation>{{"", "not JSON"}};
      if (!violations.empty()) {
        invalid_.Inc();
        return Finish(call, ViolationsProblem(violations, std::filesystem::path(settings_.validate).filename(), true),
                      "rejected");
      }
    }
  }
  if (settings_.submit_async) return SubmitAsync(call, expected);
  SubmitSync(call, expected);
}

void DraftRoute::SubmitAsync(CallPtr call, int64_t expected_version) {
  DraftSubmitAccept a;
  a.tenant = WriteTenant(call->req);
  a.route = route_.name;
  a.id = call->id;
  a.expected_version = expected_version;
  a.key = {true, call->keyed.id.key, call->keyed.fp.digest, call->keyed.fp.detail(), route_.idempotency.retention};
  Command& cmd = a.command;
  cmd.id = TimeOrderedId("sub_", store_.Now());
  cmd.tenant = WriteTenant(call->req);
  cmd.route = route_.name;
  cmd.idem_key = call->id + ":" + call->keyed.id.key;
  cmd.method = "POST";
  cmd.target = upstream_.base_path + SubstituteParams(route_.upstream_path, call->params);
  cmd.headers.emplace_back("Content-Type", "application/json");
  if (!call->req.request_id.empty()) cmd.headers.emplace_back("X-Request-Id", call->req.request_id);
  a.respond = [](const Draft& d, const Command& c) {
    std::string url = "/v1/submissions/" + c.id;
    Response r = JsonResponse(202, json::object{{"draftId", d.id},
                                                {"version", d.version},
                                                {"submissionId", c.id},
                                                {"status", "accepted"},
                                                {"statusUrl", url}});
    r.headers.emplace_back("Location", url);
    return ToStored(r);
  };
  drafts_.AcceptSubmit(std::move(a), [this, call](Result<DraftResult> r) {
    if (!r.ok())
      return Finish(call,
                    Problem(503, "store-unavailable", "Store unavailable",
                            "the submit was not queued (" + r.status().message() +
                                "); retry with the same Idempotency-Key"),
                    "error");
    switch (r->status) {
      case DraftWrite::kDone: {
        WRIT_CRASH_POINT("draft_after_submit_commit");
        metrics_.GetCounter("writ_draft_submits_total", "Draft submits by outcome",
                            RouteLabel(route_.name) + ",outcome=\"accepted\"").Inc();
        LogJson("info", "draft submitted",
                {{"route", route_.name}, {"draft", r->draft.id}, {"version", r->draft.version}, {"outcome", "accepted"},
                 {"submission", r->draft.submission_id}});
        Wake();
        Response resp;
        resp.status = r->response.status;
        resp.headers = r->response.headers;
        resp.body = r->response.body;
        return Finish(call, std::move(resp), "accepted");
      }
      case DraftWrite::kKeyExists: return AnswerKeyed(call, r->existing);
      case DraftWrite::kStale: stale_.Inc(); return Finish(call, Stale(r->draft), "stale");
      case DraftWrite::kNotFound: return Finish(call, NotFound(call->id), "not_found");
      default: return Finish(call, Frozen(r->draft), "frozen");
    }
  });
}

void DraftRoute::SubmitSync(CallPtr call, int64_t expected_version) {
  DraftSubmitBegin b;
  b.tenant = WriteTenant(call->req);
  b.route = route_.name;
  b.id = call->id;
  b.expected_version = expected_version < 0 ? 0 : expected_version;
  b.key = {true, call->keyed.id.key, call->keyed.fp.digest, call->keyed.fp.detail(), route_.idempotency.retention};
  b.lease = route_.idempotency.lease;
  b.park_on_takeover = route_.idempotency.on_unknown == OnUnknown::kPark;
  // As the sync route's claim: at-most-once routes must know after any crash
  // that they may have sent; for key-honouring masters a lost begin only
  // means a resend under the same upstream key.
  b.durable = route_.idempotency.on_unknown == OnUnknown::kPark;
  drafts_.BeginSubmit(std::move(b), [this, call](Result<DraftResult> r) {
    if (!r.ok()) return Finish(call, StoreProblem(r.status()), "error");
    switch (r->status) {
      case DraftWrite::kDone: return CallMaster(call, std::move(r->draft), r->fence);
      case DraftWrite::kKeyExists: {
        const IdempotencyRecord& rec = r->existing;
        if (rec.state == KeyState::kUnknown && rec.fingerprint == call->keyed.fp.digest) {
          UpstreamResult none;
          none.message = "an earlier submit with this key ended without an answer";
          return Finish(call, UpstreamProblem(none, Outcome::kUnknown, true), "parked");
        }
        return AnswerKeyed(call, rec);
      }
      case DraftWrite::kStale: stale_.Inc(); return Finish(call, Stale(r->draft), "stale");
      case DraftWrite::kNotFound: return Finish(call, NotFound(call->id), "not_found");
      default: return Finish(call, Frozen(r->draft), "frozen");
    }
  });
}

void DraftRoute::CallMaster(CallPtr call, Draft draft, int64_t fence) {
  WRIT_CRASH_POINT("draft_after_submit_begin");
  UpstreamRequest u;
  u.method = "POST";
  u.target = upstream_.base_path + SubstituteParams(route_.upstream_path, call->params);
  u.headers.emplace_back("Content-Type", "application/json");
  for (const auto& name : route_.forward_headers)
    if (auto v = FindHeader(call->req.headers, name)) u.headers.emplace_back(name, *v);
  u.headers.emplace_back(route_.idempotency.upstream_header, DraftStore::UpstreamKey(draft));
  if (!call->req.request_id.empty()) u.headers.emplace_back("X-Request-Id", call->req.request_id);
  u.body = draft.data;
  u.fresh_connection = route_.idempotency.on_unknown == OnUnknown::kPark;
  client_.Send(std::move(u), [this, call, draft = std::move(draft), fence](UpstreamResult r) {
    OnMasterAnswer(call, draft, fence, std::move(r));
  });
}

void DraftRoute::OnMasterAnswer(CallPtr call, const Draft& draft, int64_t fence, UpstreamResult r) {
  WRIT_CRASH_POINT("draft_after_master_answer");
  Outcome outcome = Classify(r, route_.idempotency);
  DraftSubmitFinish f;
  f.tenant = WriteTenant(call->req);
  f.route = route_.name;
  f.id = draft.id;
  f.key = call->keyed.id.key;
  f.fence = fence;
  f.key_retention = route_.idempotency.retention;
  f.submitted_retention = settings_.submitted_retention;
  Response answer;
  std::string result;
  if (outcome == Outcome::kFinal) {
    bool ok = r.response.status >= 200 && r.response.status < 300;
    f.outcome = ok ? DraftSubmitFinish::kSucceeded : DraftSubmitFinish::kRefused;
    answer.status = r.response.status;
    answer.body = r.response.body;
    for (const auto& header : r.response.headers) {
      const std::string& k = header.first;  // not a structured binding: clang 14 cannot capture those
      if (IEquals(k, "Content-Type") || IEquals(k, "Location") || IEquals(k, "ETag") ||
          std::any_of(route_.response_headers.begin(), route_.response_headers.end(),
                      [&](const std::string& n) { return IEquals(n, k); }))
        answer.headers.push_back(header);
    }
    f.answer = ToStored(answer);
    if (ok) {
      auto doc = ParseJsonStrict(r.response.body);
      if (doc.ok()) {
        boost::system::error_code ec;
        if (const json::value* v = doc->find_pointer(settings_.canonical_id, ec)) {
          if (v->is_string()) f.canonical_id = std::string(v->get_string());
          else if (v->is_number()) f.canonical_id = CanonicalJson(*v);
        }
      }
    }
    result = ok ? "submitted" : "refused";
  } else if (outcome == Outcome::kUnknown && route_.idempotency.on_unknown == OnUnknown::kPark) {
    f.outcome = DraftSubmitFinish::kPark;
    answer = UpstreamProblem(r, outcome, true);
    result = "parked";
  } else if (outcome == Outcome::kUnknown) {
    // Maybe applied: the draft stays frozen, so the client's retry (same
    // key, same version) resends under the same upstream key and no edit
    // can make a second, different submission.
    f.outcome = DraftSubmitFinish::kRetry;
    answer = UpstreamProblem(r, outcome, false);
    result = "retry";
  } else {
    // Nothing applied: the draft opens again.
    f.outcome = DraftSubmitFinish::kRelease;
    answer = UpstreamProblem(r, outcome, false);
    result = "retry";
  }
  auto resp = std::make_shared<Response>(std::move(answer));
  drafts_.FinishSubmit(std::move(f), [this, call, resp, result, draft](Result<bool> done) {
    if (!done.ok())
      return Finish(call,
                    Problem(503, "store-unavailable", "Store unavailable",
                            "the master answered but Writ could not record the answer (" + done.status().message() +
                                "); retry with the same Idempotency-Key"),
                    "error");
    WRIT_CRASH_POINT("draft_after_submit_commit");
    metrics_.GetCounter("writ_draft_submits_total", "Draft submits by outcome",
                        RouteLabel(route_.name) + ",outcome=\"" + result + "\"").Inc();
    LogJson("info", "draft submitted",
            {{"route", route_.name}, {"draft", draft.id}, {"version", draft.version}, {"outcome", result},
             {"status", resp->status}});
    Finish(call, std::move(*resp), result);
  });
}

}  // namespace writ
