#include "patterns/sync/completer.h"

#include <algorithm>

#include <boost/json.hpp>

#include "core/log.h"
#include "patterns/idempotency/key.h"
#include "patterns/idempotency/request.h"
#include "upstream/outcome.h"
#include "upstream/probe.h"
#include "upstream/request_text.h"

namespace writ {
namespace {

boost::json::object LogFields(const IdempotencyRecord& rec) {
  return {{"route", rec.id.route},
          {"keyHash", KeyHashForLog(rec.id.tenant, rec.id.route, rec.id.key)},
          {"attempts", rec.attempts}};
}

}  // namespace

Completer::Completer(const RouteConfig& route, const UpstreamConfig& upstream, OrphanPolicy orphans,
                     KeyStore& keys, UpstreamClient& client, Scheduler& scheduler, Metrics& metrics)
    : route_(route),
      upstream_(upstream),
      orphans_(orphans),
      keys_(keys),
      client_(client),
      scheduler_(scheduler),
      parked_(metrics.GetCounter("writ_orphans_total", "In-flight keys whose holder died, by what the completer did",
                                 RouteLabel(route.name) + ",action=\"parked\"")),
      released_(metrics.GetCounter("writ_orphans_total",
                                   "In-flight keys whose holder died, by what the completer did",
                                   RouteLabel(route.name) + ",action=\"released\"")),
      resent_(metrics.GetCounter("writ_orphans_total", "In-flight keys whose holder died, by what the completer did",
                                 RouteLabel(route.name) + ",action=\"completed\"")),
      found_(metrics.GetCounter("writ_probes_total", "Probes of unknown outcomes by result",
                                RouteLabel(route.name) + ",result=\"found\"")),
      not_found_(metrics.GetCounter("writ_probes_total", "Probes of unknown outcomes by result",
                                    RouteLabel(route.name) + ",result=\"not_found\"")),
      pending_probes_(metrics.GetCounter("writ_probes_total", "Probes of unknown outcomes by result",
                                         RouteLabel(route.name) + ",result=\"settling\"")),
      failed_(metrics.GetCounter("writ_probes_total", "Probes of unknown outcomes by result",
                                 RouteLabel(route.name) + ",result=\"failed\"")) {}

void Completer::Start() {
  if (started_.exchange(true)) return;
  scheduler_.Post([this] { Tick(); });
}

void Completer::Tick() {
  if (stopping_) return;
  // One pass at a time: a pass whose probes are still out is not repeated.
  if (pending_ == 0) Pass();
  scheduler_.After(kTick, [this] { Tick(); });
}

void Completer::Pass() {
  bool park = route_.idempotency.on_unknown == OnUnknown::kPark;
  auto orphans = keys_.Due(route_.name, KeyState::kInFlight, kBatch);
  if (!orphans.ok()) {
    LogJson("warn", "completer cannot read the store", {{"route", route_.name}, {"error", orphans.status().message()}});
    return;
  }
  for (const auto& rec : *orphans) Orphan(rec);
  if (!park || !route_.idempotency.probe.enabled()) return;
  auto unknown = keys_.Due(route_.name, KeyState::kUnknown, route_.idempotency.probe.rate);
  if (!unknown.ok()) return;
  for (const auto& rec : *unknown) Probe(rec);
}

void Completer::Orphan(const IdempotencyRecord& rec) {
  bool park = route_.idempotency.on_unknown == OnUnknown::kPark;
  if (!park && orphans_ == OrphanPolicy::kResend) {
    if (auto request = RequestFromText(rec.request)) return Resend(rec, std::move(*request));
    // No request kept (a record from before `orphans: resend`): release.
  }
  ++pending_;
  auto done = [this, rec, park](Result<bool> r) {
    if (r.ok() && *r) {
      (park ? parked_ : released_).Inc();
      auto f = LogFields(rec);
      f["action"] = park ? "parked as unknown" : "released for the client's retry";
      LogJson(park ? "warn" : "info", "orphaned key", std::move(f));
    }
    Done();
  };
  // The fence read with the record: a client retry that took it over
  // meanwhile wins, and nothing changes.
  if (park) keys_.MarkUnknown(rec.id, rec.fence, std::move(done));
  else keys_.Release(rec.id, rec.fence, std::move(done));
}

void Completer::Resend(IdempotencyRecord rec, UpstreamRequest request) {
  ++pending_;
  request.headers.emplace_back(route_.idempotency.upstream_header,
                               DeriveUpstreamKey(rec.id.tenant, rec.id.route, rec.id.key, rec.generation));
  Millis lease = route_.idempotency.lease;
  keys_.TakeOver(rec, lease, [this, rec, request = std::move(request)](Result<bool> r) mutable {
    // Not taken: a client retry holds the key now (or the store failed; the
    // next pass sees the orphan again).
    if (!r.ok() || !*r) return Done();
    rec.fence += 1;
    ++rec.attempts;
    client_.Send(std::move(request), [this, rec](UpstreamResult u) { OnResend(rec, std::move(u)); });
  });
}

void Completer::OnResend(const IdempotencyRecord& rec, UpstreamResult r) {
  auto f = LogFields(rec);
  if (Classify(r, route_.idempotency) == Outcome::kFinal) {
    keys_.Complete(rec.id, rec.fence, KeptAnswer(r.response, route_.response_headers), route_.idempotency.retention,
                   [this, f = std::move(f), status = r.response.status](Result<bool> done) mutable {
                     if (done.ok() && *done) {
                       resent_.Inc();
                       f["action"] = "completed by a re-send";
                       f["status"] = status;
                       LogJson("info", "orphaned key", std::move(f));
                     }
                     Done();
                   });
    return;
  }
  // Not final: the client's retry sends again, under the same derived key.
  std::string reason = r.error != UpstreamError::kNone ? r.message : "answer " + std::to_string(r.response.status);
  keys_.Release(rec.id, rec.fence, [this, f = std::move(f), reason = std::move(reason)](Result<bool> done) mutable {
    if (done.ok() && *done) {
      released_.Inc();
      f["action"] = "released for the client's retry after a re-send";
      f["reason"] = std::move(reason);
      LogJson("warn", "orphaned key", std::move(f));
    }
    Done();
  });
}

void Completer::Probe(const IdempotencyRecord& rec) {
  ++pending_;
  std::string key = DeriveUpstreamKey(rec.id.tenant, rec.id.route, rec.id.key, rec.generation);
  client_.Send(BuildProbeRequest(route_.idempotency.probe, upstream_.base_path, key),
               [this, rec](UpstreamResult r) { OnProbe(rec, std::move(r)); });
}

void Completer::OnProbe(const IdempotencyRecord& rec, UpstreamResult r) {
  const ProbeConfig& probe = route_.idempotency.probe;
  StoredResponse stored;
  ProbeVerdict v = ReadProbeAnswer(probe, r, &stored);
  Millis now = keys_.Now();
  bool settled = now - rec.updated_at >= probe.settle;
  auto f = LogFields(rec);
  auto after = [this](Result<bool>) { Done(); };
  if (v == ProbeVerdict::kFound) {
    found_.Inc();
    f["result"] = "found";
    LogJson("info", "probe", std::move(f));
    keys_.Resolve(rec.id, /*applied=*/true, std::move(stored), route_.idempotency.retention, after);
    return;
  }
  if (v == ProbeVerdict::kNotFound && settled) {
    not_found_.Inc();
    f["result"] = "not_found";
    LogJson("info", "probe", std::move(f));
    keys_.Resolve(rec.id, /*applied=*/false, {}, route_.idempotency.retention, after);
    return;
  }
  // Still unknown: not found before the master's settle time, or no answer.
  (v == ProbeVerdict::kFailed ? failed_ : pending_probes_).Inc();
  f["result"] = v == ProbeVerdict::kFailed ? "failed" : "settling";
  if (v == ProbeVerdict::kFailed)
    f["reason"] = r.error != UpstreamError::kNone ? r.message : "answer " + std::to_string(r.response.status);
  LogJson(v == ProbeVerdict::kFailed ? "warn" : "info", "probe", std::move(f));
  keys_.DeferProbe(rec.id, now + NextProbeGap(probe, v, now - rec.updated_at), after);
}

}  // namespace writ
