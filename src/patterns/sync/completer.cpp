#include "patterns/sync/completer.h"

#include <algorithm>

#include <boost/json.hpp>

#include "core/log.h"
#include "patterns/idempotency/key.h"
#include "upstream/probe.h"

namespace writ {
namespace {

boost::json::object LogFields(const IdempotencyRecord& rec) {
  return {{"route", rec.id.route},
          {"keyHash", KeyHashForLog(rec.id.tenant, rec.id.route, rec.id.key)},
          {"attempts", rec.attempts}};
}

}  // namespace

Completer::Completer(const RouteConfig& route, const UpstreamConfig& upstream, KeyStore& keys,
                     UpstreamClient& client, Scheduler& scheduler, Metrics& metrics)
    : route_(route),
      upstream_(upstream),
      keys_(keys),
      client_(client),
      scheduler_(scheduler),
      parked_(metrics.GetCounter("writ_orphans_total", "In-flight keys whose holder died, by what the completer did",
                                 RouteLabel(route.name) + ",action=\"parked\"")),
      released_(metrics.GetCounter("writ_orphans_total",
                                   "In-flight keys whose holder died, by what the completer did",
                                   RouteLabel(route.name) + ",action=\"released\"")),
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
  for (const auto& rec : *orphans) {
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
  if (!park || !route_.idempotency.probe.enabled()) return;
  auto unknown = keys_.Due(route_.name, KeyState::kUnknown, route_.idempotency.probe.rate);
  if (!unknown.ok()) return;
  for (const auto& rec : *unknown) Probe(rec);
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
