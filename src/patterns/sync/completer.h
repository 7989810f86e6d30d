// The completer of a sync route: finishes what crashed holders and absent
// clients leave behind, once a second.
//
//  * Orphans: in-flight keys whose lease ran out (the holder died and the
//    client never came back). On an on_unknown: park route an orphan may
//    have reached the master, so it is parked as unknown (it then shows in
//    `writ keys list --state unknown` and is probed). On a retry route the
//    master honours keys, so the completer finishes the write for the
//    client (`orphans: resend`, the default): it takes the key over, sends
//    the request kept with it once more under the same derived key, and
//    completes the key with a final answer (the client's retry replays
//    it) or releases it (the retry sends again). With `orphans: release`
//    it only releases the key.
//  * Probes (park routes with `idempotency.probe`): each unknown key is
//    looked up at the master by the key Writ sent. Found -> the key is
//    completed with what the master holds (marked `Writ-Reconstructed:
//    probe`) and the client's retry replays it; not found `settle` after the
//    attempt -> released, so the client's retry sends it once more under the
//    same derived key; anything else -> still unknown, probed again later
//    (the gap grows with the key's age, from `interval` to 10x).
//
// Instances sharing a store may probe the same key at once: a probe is a
// read and each resolution applies only to a key still unknown.
// Thread-safety: Start and Stop from the controlling thread; the rest runs
// on the scheduler.
#pragma once

#include <atomic>
#include <string>

#include "config/config.h"
#include "core/scheduler.h"
#include "metrics/metrics.h"
#include "store/key_store.h"
#include "upstream/client.h"
#include "upstream/probe.h"

namespace writ {

// What the completer does with an orphan on an on_unknown: retry route.
enum class OrphanPolicy { kResend, kRelease };

// mode: sync's own setting (`orphans:`).
struct SyncSettings : ModeConfig {
  OrphanPolicy orphans = OrphanPolicy::kResend;
};

class Completer {
 public:
  Completer(const RouteConfig& route, const UpstreamConfig& upstream, OrphanPolicy orphans, KeyStore& keys,
            UpstreamClient& client, Scheduler& scheduler, Metrics& metrics);
  ~Completer() { Stop(); }

  void Start();
  void Stop() { stopping_ = true; }
  int in_flight() const { return pending_; }

  static constexpr Millis kTick = 1'000;
  static constexpr int kBatch = 200;

 private:
  void Tick();
  void Pass();
  void Orphan(const IdempotencyRecord& rec);
  void Resend(IdempotencyRecord rec, UpstreamRequest request);
  void OnResend(const IdempotencyRecord& rec, UpstreamResult r);
  void Probe(const IdempotencyRecord& rec);
  void OnProbe(const IdempotencyRecord& rec, UpstreamResult r);
  void Done() { --pending_; }

  const RouteConfig& route_;
  const UpstreamConfig& upstream_;
  const OrphanPolicy orphans_;
  KeyStore& keys_;
  UpstreamClient& client_;
  Scheduler& scheduler_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> started_{false};
  std::atomic<int> pending_{0};
  Counter& parked_;
  Counter& released_;
  Counter& resent_;
  Counter& found_;
  Counter& not_found_;
  Counter& pending_probes_;
  Counter& failed_;
};

}  // namespace writ
