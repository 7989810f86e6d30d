#include "patterns/sync/completer.h"

#include <algorithm>

#include <boost/json.hpp>

#include "core/log.h"
#include "patterns/idempotency/key.h"

namespace writ {
namespace {

std::string PercentEncode(const std::string& s) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

boost::json::object LogFields(const IdempotencyRecord& rec) {
  return {{"route", rec.id.route},
          {"keyHash", KeyHashForLog(rec.id.tenant, rec.id.route, rec.id.key)},
          {"attempts", rec.attempts}};
}

}  // namespace

UpstreamRequest BuildProbeRequest(const ProbeConfig& probe, const std::string& base_path,
                                  const std::string& upstream_key) {
  UpstreamRequest u;
  u.method = probe.method;
  std::string path = probe.path;
  for (size_t at; (at = path.find("{key}")) != std::string::npos;) path.replace(at, 5, PercentEncode(upstream_key));
  u.target = base_path + path;
  u.headers.emplace_back("Accept", "application/json");
  return u;
}

ProbeVerdict ReadProbeAnswer(const ProbeConfig& probe, const UpstreamResult& r, StoredResponse* stored) {
  if (r.error != UpstreamError::kNone) return ProbeVerdict::kFailed;
  // A 404 of the lookup itself says nothing: the path may be wrong.
  if (r.response.status < 200 || r.response.status > 299) return ProbeVerdict::kFailed;
  boost::json::error_code ec;
  auto doc = boost::json::parse(r.response.body, ec);
  if (ec) return ProbeVerdict::kFailed;
  const boost::json::value* v = doc.find_pointer(probe.found, ec);
  if (!v || v->is_null()) {
    // The pointer's parent must exist (an empty list, say): otherwise the
    // answer is not the shape the probe expects, which proves nothing.
    std::string parent = probe.found.substr(0, probe.found.rfind('/'));
    if (!parent.empty() && !doc.find_pointer(parent, ec)) return ProbeVerdict::kFailed;
    return ProbeVerdict::kNotFound;
  }
  stored->status = probe.answer_status;
  stored->headers = {{"Content-Type", "application/json"}, {"Writ-Reconstructed", "probe"}};
  stored->body = boost::json::serialize(*v);
  return ProbeVerdict::kFound;
}

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
  Millis age = now - rec.updated_at;
  Millis gap = std::clamp(age / 2, probe.interval, 10 * probe.interval);
  // A settling key is due again when its settle time is up, if that is sooner.
  if (v == ProbeVerdict::kNotFound) gap = std::min(gap, std::max<Millis>(probe.settle - age, 100));
  keys_.DeferProbe(rec.id, now + gap, after);
}

}  // namespace writ
