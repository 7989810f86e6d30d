// The queue worker (async routes, CP-2; buffered routes, CP-3; a draft
// route's async submits): one AsyncWorker per route leases
// due commands from the store, sends each to the master with its stable
// derived Idempotency-Key, and records the outcome:
//   success (final 2xx)   -> succeeded, with the answer and a canonical id
//   final failure (4xx)   -> failed, no retry
//   transient / unknown   -> retried with exponential backoff and full jitter
//                            (at least the master's Retry-After), until
//                            max_attempts or max_age: then dead
// Leases are extended by a heartbeat while the master call runs; a command
// whose worker died is claimed again once its lease expires (recovery needs
// no restart), and a late outcome from the old holder is fenced out.
//
// Concurrency: at most `concurrency` master calls per route; commands with
// the same ordering key run one at a time in acceptance order (the store's
// claim query enforces it).
//
// Buffered routes (CP-3) drain their items with the same worker: a
// RateLimiter gates how many items may be claimed, and with a BatchCodec
// each claim of up to batch_size items goes to the master as one request
// whose answer is split back into one result per item. Pausing stops claims.
// Thread-safety: all methods may be called from any thread. The worker must
// be stopped and idle (in_flight() == 0) before it is destroyed.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <vector>
#include <mutex>
#include <string>

#include <boost/json/object.hpp>

#include "config/config.h"
#include "core/clock.h"
#include "queue/queue_config.h"
#include "core/rate_limiter.h"
#include "core/scheduler.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "upstream/client.h"

namespace writ {

// The retry policy as a pure function, for the worker and its tests:
// full-jitter delay before attempt n+1 after attempt n failed (n >= 1), never
// less than `retry_after` (the master's Retry-After, 0 if none).
Millis BackoffDelay(const QueueConfig& policy, int attempts_made, Millis retry_after, double unit_random);
// Retry-After as seconds or an HTTP date; 0 when absent or unparsable.
Millis ParseRetryAfter(const Headers& headers, Millis now);

// One master request for many items (a buffered route's bulk_path).
class BatchCodec {
 public:
  virtual ~BatchCodec() = default;
  virtual UpstreamRequest Encode(const std::vector<Command>& items) const = 0;
  // One result per item, in order, from the master's answer to the batch:
  // the answer itself for items it did not settle one by one.
  virtual std::vector<UpstreamResult> Decode(const UpstreamResult& answer, size_t items) const = 0;
};

// What a route's WorkerSpec::prepare makes of a command about to be sent.
struct Prepared {
  enum Kind {
    kSend,  // send the command (as prepare may have completed it)
    kWait,  // not yet: no call, no attempt counted; looked at again after poll_interval
    kFail,  // failed without a call (a final refusal of Writ's own)
  } kind = kSend;
  std::string reason;  // kWait, kFail: why, shown as lastError
};

// What a worker needs to know of its route.
struct WorkerSpec {
  std::string route;              // route name: the commands it claims, metric labels
  IdempotencyConfig idempotency;  // upstream_header, final_statuses, on_unknown
  QueueConfig queue;
  EventSinks notify = false;  // the route has a webhook: events are to be delivered
  int batch_size = 1;   // with a codec: items per master request
  int burst = 1;        // with a limiter: most items taken at once
  // Optional: work for the transaction that records a command's terminal
  // outcome (see AttemptOutcome::on_terminal), given the outcome.
  std::function<Status(sql::Conn&, const AttemptOutcome&)> on_terminal;
  // Optional: likewise for an outcome that schedules a retry.
  std::function<Status(sql::Conn&, const AttemptOutcome&)> on_retry;
  // Optional: completes a command from the route's own state before each
  // attempt (an edge route puts the master's ids in place of temporary
  // ones). It may rewrite target, headers and body, and must give the same
  // request on every attempt of one command once it has sent it. Runs on
  // the worker's thread; may read the store.
  std::function<Prepared(Command&)> prepare;
  // Probe dead commands that may have been applied (idempotency.probe), once
  // a second: found -> succeeded with the master's record (reconstructed);
  // not found `settle` after the command went dead -> re-driven once, under
  // the same derived key; otherwise probed again later. Async routes only.
  bool probe = false;
  std::string base_path;  // the upstream's, for the probe's path
  Redactor redact;        // the route's redacted fields, kept out of lastError
};
WorkerSpec MakeWorkerSpec(const RouteConfig& route, const QueueConfig& queue, EventSinks notify);

class AsyncWorker {
 public:
  // `codec` and `limiter` are optional (buffered routes) and must outlive
  // the worker.
  AsyncWorker(WorkerSpec spec, Store& store, UpstreamClient& client, Scheduler& scheduler, Metrics& metrics, Rng& rng,
              const BatchCodec* codec = nullptr, RateLimiter* limiter = nullptr);
  ~AsyncWorker();

  void Start();  // begins polling; safe to call once
  void Stop();   // no new claims; attempts in flight finish and record
  void Wake();   // new work was accepted: look now instead of at the next poll
  void SetPaused(bool paused);  // paused: no new claims (in-flight work finishes)
  bool paused() const { return paused_.load(); }
  int in_flight() const;
  const std::string& route_name() const { return spec_.route; }
  // Items (commands) that reached a terminal state per second, over the last
  // kDrainWindow seconds.
  double DrainRate() const;
  static constexpr int kDrainWindow = 10;
  // Sets the route's writ_async_queue and writ_async_oldest_pending_seconds
  // gauges from the queue's statistics (on a /metrics scrape).
  static void UpdateQueueGauges(Metrics& metrics, const std::string& route, const std::vector<QueueStat>& stats,
                                Millis now);

 private:
  void Tick();
  void Pump();
  void OnClaimed(Result<std::vector<Command>> r);
  bool BudgetSpent(const Command& cmd);
  bool Prepare(Command& cmd);
  void Attempt(Command cmd);
  void SendBatch(std::vector<Command> items);
  void OnAnswer(const Command& cmd, UpstreamResult r, bool feedback);
  void Feedback(const UpstreamResult& r);
  void CountDrained();
  void Record(AttemptOutcome o, Millis created_at, int attempts);
  boost::json::object LogFields(const Command& cmd, const std::string& reason) const;
  void LogDead(const Command& cmd, const std::string& reason, bool possibly_applied);
  void Heartbeat();
  void ProbePass();
  void OnProbe(const Command& cmd, UpstreamResult r);

  const WorkerSpec spec_;
  Store& store_;
  UpstreamClient& client_;
  Scheduler& scheduler_;
  Rng& rng_;
  Metrics& metrics_;
  const BatchCodec* codec_;
  RateLimiter* limiter_;
  std::atomic<bool> paused_{false};
  mutable std::mutex mu_;
  bool timer_armed_ = false;  // a Pump is scheduled for when tokens are back
  // Terminal items per second: drained_[t % kDrainWindow] for second t.
  std::array<std::pair<int64_t, int64_t>, kDrainWindow> drained_{};
  int in_flight_ = 0;
  bool claiming_ = false;
  bool again_ = false;  // a wake arrived while claiming
  bool stopping_ = false;
  bool started_ = false;
  Millis last_heartbeat_ = 0;
  std::map<std::string, int64_t> held_;  // submission id -> fence
  Millis last_probe_pass_ = 0;
  int probes_out_ = 0;
  std::map<std::string, Millis> next_probe_;  // submission id -> not before (lost on restart: probed at once)

  Counter& attempts_;
  Counter& succeeded_;
  Counter& failed_;
  Counter& dead_;
  Counter& retries_;
  Counter& unknown_;
  Counter& fenced_out_;
  Counter& store_errors_;
  Histogram& attempts_per_command_;
  Histogram& accept_to_terminal_;
  Histogram& upstream_seconds_;
  Gauge& in_flight_gauge_;
  Gauge& rate_gauge_;
  Histogram& batch_seconds_;
};

}  // namespace writ
