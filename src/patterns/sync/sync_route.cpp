#include "patterns/sync/sync_route.h"

#include <boost/json.hpp>

#include "core/crash_point.h"
#include "core/problem.h"
#include "patterns/idempotency/fingerprint.h"
#include "patterns/idempotency/key.h"
#include "upstream/outcome.h"
#include "upstream/request_text.h"

namespace writ {
namespace {

constexpr Millis kFirstPoll = 10;
constexpr Millis kMaxPoll = 200;

OrphanPolicy Orphans(const RouteConfig& route) {
  const auto* s = dynamic_cast<const SyncSettings*>(route.settings.get());
  return s ? s->orphans : OrphanPolicy::kResend;
}

Response FromStored(const StoredResponse& s) {
  Response r;
  r.status = s.status;
  r.headers = s.headers;
  r.body = s.body;
  return r;
}

}  // namespace

struct SyncRoute::Call {
  Request req;
  PathParams params;
  Respond respond;
  bool has_key = false;
  KeyId id;
  Fingerprint fp;
  int64_t fence = 0;
  std::string generation;  // of the key's record: part of the derived key
  UpstreamRequest upstream;  // what goes to the master, but the derived key
  Millis wait_deadline = 0;
  Millis next_poll = kFirstPoll;
  RequestInfo info;
};

SyncRoute::SyncRoute(RouteConfig route, UpstreamConfig upstream, Store& store, UpstreamClient& client,
                     Scheduler& scheduler, Metrics& metrics)
    : route_(std::move(route)),
      upstream_(std::move(upstream)),
      store_(store),
      client_(client),
      scheduler_(scheduler),
      metrics_(metrics),
      replays_(metrics.GetCounter("writ_replays_total", "Completed keys answered from the store",
                                  RouteLabel(route_.name))),
      mismatches_(metrics.GetCounter("writ_conflicts_total", "Key conflicts by kind",
                                     RouteLabel(route_.name) + ",kind=\"fingerprint\"")),
      in_flight_conflicts_(metrics.GetCounter("writ_conflicts_total", "Key conflicts by kind",
                                              RouteLabel(route_.name) + ",kind=\"in_flight\"")),
      unknown_(metrics.GetCounter("writ_outcome_unknown_total", "Upstream attempts with unknown outcome",
                                  RouteLabel(route_.name))),
      takeovers_(metrics.GetCounter("writ_lease_takeovers_total", "Expired in-flight keys taken over",
                                    RouteLabel(route_.name))),
      upstream_seconds_(metrics.GetHistogram("writ_upstream_seconds", "Master response time", LatencyBuckets(),
                                             RouteLabel(route_.name))),
      in_flight_(metrics.GetGauge("writ_in_flight_keys", "Requests holding a key while the master is called",
                                  RouteLabel(route_.name))),
      keep_request_(route_.idempotency.on_unknown == OnUnknown::kRetry && Orphans(route_) == OrphanPolicy::kResend),
      completer_(route_, upstream_, Orphans(route_), store.keys(), client, scheduler, metrics) {}

void SyncRoute::Handle(Request req, PathParams params, Respond respond) {
  auto call = std::make_shared<Call>();
  call->req = std::move(req);
  call->params = std::move(params);
  call->respond = std::move(respond);
  auto prepared = PrepareKeyedRequest(call->req, route_.idempotency, route_.name);
  if (!prepared.keyed) return Finish(call, std::move(prepared.problem), "rejected");
  call->fp = std::move(prepared.keyed->fp);
  call->upstream = BuildUpstreamRequest(*call);
  if (!prepared.keyed->has_key) return Forward(call);  // optional key, none given: plain proxy
  call->has_key = true;
  call->id = std::move(prepared.keyed->id);
  call->info.key_hash = KeyHashForLog(call->id.tenant, call->id.route, call->id.key);
  call->wait_deadline = store_.Now() + route_.idempotency.wait_timeout;
  Decide(call);
}

void SyncRoute::Decide(std::shared_ptr<Call> call) {
  // Fast path on a reader connection: completed keys replay without a write.
  auto rec = store_.keys().Lookup(call->id);
  if (!rec.ok())
    return Finish(call, Problem(503, "store-unavailable", "Store unavailable", rec.status().message()), "error");
  if (rec->has_value()) {
    const IdempotencyRecord& r = **rec;
    bool live_lease = r.state == KeyState::kInFlight && r.lease_until > store_.Now();
    if (r.fingerprint != call->fp.digest || r.state != KeyState::kInFlight || live_lease)
      return AnswerExisting(call, r);
  }
  ClaimRequest req;
  req.id = call->id;
  req.fingerprint = call->fp.digest;
  req.fingerprint_detail = call->fp.detail();
  req.lease = route_.idempotency.lease;
  req.retention = route_.idempotency.retention;
  req.park_on_takeover = route_.idempotency.on_unknown == OnUnknown::kPark;
  // At-most-once routes must know they may have sent a request even after a
  // crash; for key-honouring masters a lost claim only means a safe re-send.
  req.durable = route_.idempotency.on_unknown == OnUnknown::kPark;
  // Kept with the key so that the completer can finish the write if this
  // holder dies and the client does not come back.
  if (keep_request_) req.request = RequestToText(call->upstream);
  store_.keys().Claim(std::move(req), [this, call](Result<ClaimResult> r) { OnClaim(call, std::move(r)); });
}

void SyncRoute::OnClaim(std::shared_ptr<Call> call, Result<ClaimResult> r) {
  if (!r.ok())
    return Finish(call, Problem(503, "store-unavailable", "Store unavailable", r.status().message()), "error");
  if (!r->claimed) return AnswerExisting(call, r->existing);
  call->fence = r->fence;
  call->generation = r->generation;
  if (r->took_over) takeovers_.Inc();
  Forward(call);
}

void SyncRoute::AnswerExisting(std::shared_ptr<Call> call, const IdempotencyRecord& rec) {
  if (rec.fingerprint != call->fp.digest) {
    mismatches_.Inc();
    return Finish(call, KeyReusedProblem(rec, call->fp), "mismatch");
  }
  switch (rec.state) {
    case KeyState::kCompleted: {
      replays_.Inc();
      return Finish(call, ReplayStored(rec.response), "replayed");
    }
    case KeyState::kUnknown: {
      UpstreamResult none;
      none.message = "an earlier attempt with this key ended without an answer";
      return Finish(call, UpstreamProblem(none, Outcome::kUnknown, true), "parked");
    }
    case KeyState::kInFlight:
    case KeyState::kReleased:  // not returned by look-ups or claims
    case KeyState::kExpired:
      break;
  }
  Millis now = store_.Now();
  if (route_.idempotency.concurrent == Concurrent::kWait && now < call->wait_deadline) {
    Millis delay = std::min({call->next_poll, call->wait_deadline - now, kMaxPoll});
    call->next_poll = std::min(call->next_poll * 2, kMaxPoll);
    scheduler_.After(delay, [this, call] { Decide(call); });
    return;
  }
  in_flight_conflicts_.Inc();
  Response p = Problem(409, "idempotency-key-in-flight", "Request in progress",
                       "a request with this key is still being processed; retry after a moment with the same key");
  p.headers.emplace_back("Retry-After", "1");
  Finish(call, std::move(p), "in_flight");
}

UpstreamRequest SyncRoute::BuildUpstreamRequest(const Call& call) const {
  UpstreamRequest u;
  u.method = call.req.method;
  u.target = upstream_.base_path + SubstituteParams(route_.upstream_path, call.params);
  if (auto q = call.req.target.find('?'); q != std::string::npos) u.target += call.req.target.substr(q);
  if (auto ct = FindHeader(call.req.headers, "Content-Type")) u.headers.emplace_back("Content-Type", *ct);
  for (const auto& name : route_.forward_headers)
    if (auto v = FindHeader(call.req.headers, name)) u.headers.emplace_back(name, *v);
  if (!call.req.request_id.empty()) u.headers.emplace_back("X-Request-Id", call.req.request_id);
  u.body = call.req.body;
  u.fresh_connection = route_.idempotency.on_unknown == OnUnknown::kPark;
  return u;
}

void SyncRoute::Forward(std::shared_ptr<Call> call) {
  WRIT_CRASH_POINT("after_claim");
  in_flight_.Add(1);
  UpstreamRequest u = std::move(call->upstream);  // sent once per call
  if (call->has_key)
    u.headers.emplace_back(route_.idempotency.upstream_header,
                           DeriveUpstreamKey(call->id.tenant, call->id.route, call->id.key, call->generation));
  client_.Send(std::move(u), [this, call](UpstreamResult r) { OnUpstream(call, std::move(r)); });
}

StoredResponse SyncRoute::Keep(const Response& upstream) const {
  return KeptAnswer(upstream, route_.response_headers);
}

void SyncRoute::OnUpstream(std::shared_ptr<Call> call, UpstreamResult r) {
  in_flight_.Add(-1);
  if (r.error == UpstreamError::kNone || r.error == UpstreamError::kTimeout) upstream_seconds_.Observe(r.seconds);
  WRIT_CRASH_POINT("after_upstream_response");
  Outcome outcome = Classify(r, route_.idempotency);
  if (outcome == Outcome::kUnknown) unknown_.Inc();

  if (!call->has_key) {
    if (r.error != UpstreamError::kNone) return Finish(call, UpstreamProblem(r, outcome, false), "upstream_error");
    return Finish(call, FromStored(Keep(r.response)), "forwarded");
  }

  switch (outcome) {
    case Outcome::kFinal: {
      StoredResponse stored = Keep(r.response);
      auto resp = std::make_shared<Response>(FromStored(stored));
      store_.keys().Complete(call->id, call->fence, std::move(stored), route_.idempotency.retention,
                      [this, call, resp](Result<bool> done) {
                        if (!done.ok())
                          return Finish(call,
                                        Problem(503, "store-unavailable", "Store unavailable",
                                                "the master answered but Writ could not record the answer (" +
                                                    done.status().message() +
                                                    "); retry with the same Idempotency-Key"),
                                        "error");
                        WRIT_CRASH_POINT("after_commit_before_response");
                        Finish(call, std::move(*resp), "forwarded");
                      });
      return;
    }
    case Outcome::kUnknown:
      if (route_.idempotency.on_unknown == OnUnknown::kPark) {
        store_.keys().MarkUnknown(call->id, call->fence, [this, call, r](Result<bool>) {
          Finish(call, UpstreamProblem(r, Outcome::kUnknown, true), "parked");
        });
        return;
      }
      [[fallthrough]];
    case Outcome::kTransient:
    case Outcome::kNotSent:
      // Nothing final to keep: free the key so the client's retry goes through.
      store_.keys().Release(call->id, call->fence, [this, call, r, outcome](Result<bool>) {
        if (PassesThroughUnstored(r)) {
          Response resp = FromStored(Keep(r.response));
          resp.headers.emplace_back(kAnswerStoredHeader, "false");
          return Finish(call, std::move(resp), "unstored");
        }
        Finish(call, UpstreamProblem(r, outcome, false), "upstream_error");
      });
      return;
  }
}

void SyncRoute::Finish(std::shared_ptr<Call> call, Response resp, const std::string& outcome) {
  call->info.outcome = outcome;
  auto respond = std::move(call->respond);
  respond(std::move(resp), call->info);
}

}  // namespace writ
