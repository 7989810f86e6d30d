#include "queue/worker.h"

#include "upstream/probe.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <set>
#include <utility>

#include <boost/json.hpp>

#include "core/crash_point.h"
#include "core/json.h"
#include "core/hash.h"
#include "core/log.h"
#include "upstream/outcome.h"

namespace writ {
namespace {

std::vector<double> AttemptBuckets() { return {1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 50, 100}; }

std::string Snippet(const std::string& body) {
  std::string s = body.substr(0, 200);
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return body.size() > 200 ? s + "..." : s;
}

// The canonical id from the master's JSON answer ("" if absent).
std::string CanonicalId(const std::string& body, const std::string& pointer) {
  if (pointer.empty()) return "";
  auto doc = ParseJsonStrict(body);
  if (!doc.ok()) return "";
  boost::system::error_code ec;
  const boost::json::value* v = doc->find_pointer(pointer, ec);
  if (!v) return "";
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_number()) return CanonicalJson(*v);
  return "";
}

}  // namespace

Millis BackoffDelay(const QueueConfig& p, int attempts_made, Millis retry_after, double unit_random) {
  double cap = static_cast<double>(p.backoff_base) * std::pow(2.0, std::max(0, attempts_made - 1));
  cap = std::min(cap, static_cast<double>(p.backoff_max));
  Millis jittered = static_cast<Millis>(unit_random * cap);
  return std::max(jittered, retry_after);
}

Millis ParseRetryAfter(const Headers& headers, Millis now) {
  auto v = FindHeader(headers, "Retry-After");
  if (!v || v->empty()) return 0;
  std::string s(*v);
  if (s.find_first_not_of("0123456789") == std::string::npos) {
    if (s.size() > 7) return 0;  // absurd; ignore rather than wait for days
    return std::stoll(s) * 1000;
  }
  std::tm tm{};
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return 0;
  Millis at = static_cast<Millis>(timegm(&tm)) * 1000;
  return std::max<Millis>(0, at - now);
}

AsyncWorker::AsyncWorker(WorkerSpec spec, Store& store, UpstreamClient& client, Scheduler& scheduler, Metrics& m,
                         Rng& rng, const BatchCodec* codec, RateLimiter* limiter)
    : spec_(std::move(spec)),
      store_(store),
      client_(client),
      scheduler_(scheduler),
      rng_(rng),
      metrics_(m),
      codec_(codec),
      limiter_(limiter),
      attempts_(m.GetCounter("writ_async_attempts_total", "Master calls made by async workers",
                             RouteLabel(spec_.route))),
      succeeded_(m.GetCounter("writ_async_finished_total", "Commands that reached a terminal state",
                              RouteLabel(spec_.route) + ",status=\"succeeded\"")),
      failed_(m.GetCounter("writ_async_finished_total", "Commands that reached a terminal state",
                           RouteLabel(spec_.route) + ",status=\"failed\"")),
      dead_(m.GetCounter("writ_async_finished_total", "Commands that reached a terminal state",
                         RouteLabel(spec_.route) + ",status=\"dead\"")),
      retries_(m.GetCounter("writ_async_retries_total", "Attempts that will be retried",
                            RouteLabel(spec_.route))),
      unknown_(m.GetCounter("writ_async_outcome_unknown_total",
                            "Attempts whose outcome is unknown: the master may have applied them",
                            RouteLabel(spec_.route))),
      fenced_out_(m.GetCounter("writ_async_fenced_out_total",
                               "Outcomes discarded because another worker took the command over",
                               RouteLabel(spec_.route))),
      store_errors_(m.GetCounter("writ_async_store_errors_total", "Worker store operations that failed",
                                 RouteLabel(spec_.route))),
      attempts_per_command_(m.GetHistogram("writ_async_attempts", "Attempts a command needed to finish",
                                           AttemptBuckets(), RouteLabel(spec_.route))),
      accept_to_terminal_(m.GetHistogram("writ_async_accept_to_terminal_seconds",
                                         "Time from acceptance to a terminal state", CompletionBuckets(),
                                         RouteLabel(spec_.route))),
      upstream_seconds_(m.GetHistogram("writ_upstream_seconds", "Master response time", LatencyBuckets(),
                                       RouteLabel(spec_.route))),
      in_flight_gauge_(m.GetGauge("writ_async_in_flight", "Commands being sent to the master",
                                  RouteLabel(spec_.route))),
      rate_gauge_(m.GetGauge("writ_bulk_rate_limit", "Current items/s limit towards the master (0: unlimited)",
                             RouteLabel(spec_.route))),
      batch_seconds_(m.GetHistogram("writ_bulk_batch_seconds", "Master response time for one bulk request",
                                    LatencyBuckets(), RouteLabel(spec_.route))) {
  if (limiter_) rate_gauge_.Set(static_cast<int64_t>(limiter_->current_rate()));
}

AsyncWorker::~AsyncWorker() { Stop(); }

void AsyncWorker::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
  }
  // Recovery: commands left processing by a crashed writ are due again once
  // their lease has expired; the first pump finds those already due.
  scheduler_.Post([this] { Tick(); });
}

void AsyncWorker::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
}

int AsyncWorker::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_ + probes_out_ + (claiming_ ? 1 : 0);
}

void AsyncWorker::Wake() {
  scheduler_.Post([this] { Pump(); });
}

void AsyncWorker::Tick() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
  }
  Pump();
  Heartbeat();
  if (spec_.probe) ProbePass();
  scheduler_.After(spec_.queue.poll_interval, [this] { Tick(); });
}

void AsyncWorker::ProbePass() {
  Millis now = store_.Now();
  {
    std::lock_guard lock(mu_);
    if (probes_out_ > 0 || now - last_probe_pass_ < 1'000) return;
    last_probe_pass_ = now;
  }
  CommandFilter f;
  f.route = spec_.route;
  f.status = SubmissionStatus::kDead;
  f.possibly_applied = true;  // refused ones, however many, never crowd these out
  f.limit = 1'000;
  auto dead = store_.queue().ListCommands(f);
  if (!dead.ok()) return;
  int budget = spec_.idempotency.probe.rate;
  std::vector<Command> due;
  {
    std::lock_guard lock(mu_);
    // Forget commands no longer dead (re-driven, resolved, collected).
    std::set<std::string> still;
    for (const auto& cmd : *dead) still.insert(cmd.id);
    std::erase_if(next_probe_, [&](const auto& e) { return !still.count(e.first); });
    for (auto& cmd : *dead) {
      auto it = next_probe_.find(cmd.id);
      if (it != next_probe_.end() && it->second > now) continue;
      if (budget-- == 0) break;
      due.push_back(std::move(cmd));
    }
    probes_out_ += static_cast<int>(due.size());
  }
  for (auto& cmd : due) {
    std::string key = cmd.upstream_key;
    client_.Send(BuildProbeRequest(spec_.idempotency.probe, spec_.base_path, key),
                 [this, cmd = std::move(cmd)](UpstreamResult r) { OnProbe(cmd, std::move(r)); });
  }
}

void AsyncWorker::OnProbe(const Command& cmd, UpstreamResult r) {
  const ProbeConfig& probe = spec_.idempotency.probe;
  StoredResponse stored;
  ProbeVerdict v = ReadProbeAnswer(probe, r, &stored);
  Millis now = store_.Now();
  Millis age = now - cmd.updated_at;  // since the command went dead
  auto done = [this](Result<ActionResult>) {
    std::lock_guard lock(mu_);
    --probes_out_;
  };
  auto f = LogFields(cmd, "probe");
  auto count = [&](const char* result) {
    metrics_.GetCounter("writ_probes_total", "Probes of unknown outcomes by result",
                        RouteLabel(spec_.route) + ",result=\"" + result + "\"")
        .Inc();
    f["result"] = result;
  };
  if (v == ProbeVerdict::kFound) {
    count("found");
    LogJson("info", "probe", std::move(f));
    {
      std::lock_guard lock(mu_);
      next_probe_.erase(cmd.id);
    }
    std::string canonical = CanonicalId(stored.body, spec_.queue.canonical_id);
    store_.queue().ResolveApplied(cmd.id, stored.status, stored.headers, stored.body, canonical, spec_.notify,
                                  spec_.queue.retention, done);
    return;
  }
  if (v == ProbeVerdict::kNotFound && age >= probe.settle) {
    count("not_found");
    LogJson("info", "probe", std::move(f));
    {
      std::lock_guard lock(mu_);
      next_probe_.erase(cmd.id);
    }
    // Not applied: sent once more, under the same derived key.
    store_.queue().Redrive(cmd.id, spec_.notify, /*allow_unknown=*/true, done,
                           "redriven: a probe found it not applied at the master");
    return;
  }
  count(v == ProbeVerdict::kFailed ? "failed" : "settling");
  if (v == ProbeVerdict::kFailed)
    f["error"] = r.error != UpstreamError::kNone ? r.message : "answer " + std::to_string(r.response.status);
  LogJson(v == ProbeVerdict::kFailed ? "warn" : "info", "probe", std::move(f));
  {
    std::lock_guard lock(mu_);
    next_probe_[cmd.id] = now + NextProbeGap(probe, v, age);
  }
  done(ActionResult::kDone);
}

void AsyncWorker::SetPaused(bool paused) {
  paused_ = paused;
  if (!paused) Wake();
}

void AsyncWorker::Pump() {
  int capacity;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || paused_) return;
    if (claiming_) {
      again_ = true;
      return;
    }
    // In items: a bulk route has `concurrency` requests of batch_size items.
    int batch = codec_ ? spec_.batch_size : 1;
    int slots = spec_.queue.concurrency * batch;
    capacity = slots - in_flight_;
    // Claim in batches: while enough is in flight, wait until a quarter of
    // the slots are free, so one claim transaction leases many commands.
    if (capacity <= 0 || (in_flight_ > 0 && capacity < std::max(batch, slots / 4))) return;
    if (limiter_) {
      int granted = limiter_->Take(std::min(capacity, spec_.burst));
      rate_gauge_.Set(static_cast<int64_t>(limiter_->current_rate()));
      if (granted == 0) {
        if (!timer_armed_) {
          timer_armed_ = true;
          Millis wait = std::max<Millis>(1, limiter_->WaitFor(std::min(capacity, batch)));
          scheduler_.After(wait, [this] {
            {
              std::lock_guard lock(mu_);
              timer_armed_ = false;
            }
            Pump();
          });
        }
        return;
      }
      capacity = granted;
    }
    claiming_ = true;
    again_ = false;
  }
  store_.queue().ClaimCommands(spec_.route, capacity, spec_.queue.lease, spec_.notify,
                       [this, capacity](Result<std::vector<Command>> r) {
    // Runs on the store's writer thread: hand the work to the I/O threads.
    if (limiter_) limiter_->Return(capacity - (r.ok() ? static_cast<int>(r->size()) : 0));
    auto shared = std::make_shared<Result<std::vector<Command>>>(std::move(r));
    scheduler_.Post([this, shared] { OnClaimed(std::move(*shared)); });
  });
}

void AsyncWorker::OnClaimed(Result<std::vector<Command>> r) {
  bool more;
  {
    std::lock_guard lock(mu_);
    claiming_ = false;
    if (!r.ok()) {
      store_errors_.Inc();
      return;  // the next tick tries again
    }
    in_flight_ += static_cast<int>(r->size());
    for (const auto& c : *r) held_[c.id] = c.fence;
    // A full batch or a wake during the claim: there may be more to do.
    more = again_ || (!r->empty() && in_flight_ < spec_.queue.concurrency);
  }
  in_flight_gauge_.Add(static_cast<int64_t>(r->size()));
  if (codec_) {
    std::vector<Command> batch;
    for (auto& c : *r) {
      if (BudgetSpent(c)) continue;
      batch.push_back(std::move(c));
      if (static_cast<int>(batch.size()) == spec_.batch_size) SendBatch(std::exchange(batch, {}));
    }
    if (!batch.empty()) SendBatch(std::move(batch));
  } else {
    for (auto& c : *r) Attempt(std::move(c));
  }
  if (more) Pump();
}

// A command whose holder died during its last allowed attempt (or that
// waited past max_age while writ was down) is claimed once more: its budget
// is spent, so it is dead without another call to the master.
bool AsyncWorker::BudgetSpent(const Command& cmd) {
  Millis now = store_.Now();
  bool over_attempts = cmd.attempts > spec_.queue.max_attempts;
  if (!over_attempts && now <= cmd.budget_from + spec_.queue.max_age) return false;
  AttemptOutcome o;
  o.id = cmd.id;
  o.fence = cmd.fence;
  o.status = SubmissionStatus::kDead;
  o.notify = spec_.notify;
  o.retention = spec_.queue.retention;
  // The claim counted an attempt that is not made; so may earlier claims of
  // this command, if writ stopped again between such a claim and this
  // record. No claim past max_attempts ever reached the master.
  o.attempts = std::min(cmd.attempts - 1, spec_.queue.max_attempts);
  o.response_status = cmd.response_status;
  o.response_headers = cmd.response_headers;
  o.response_body = cmd.response_body;
  o.outcome_unknown = over_attempts;  // writ stopped during the last attempt
  LogDead(cmd, over_attempts ? "max_attempts spent; writ stopped during the last attempt" : "max_age reached",
          over_attempts || cmd.unknown_attempt > 0);
  o.error = over_attempts ? "gave up after " + std::to_string(o.attempts) +
                                " attempt(s) (max_attempts); the outcome of the last one is unknown: writ "
                                "stopped during it"
                          : "gave up: max_age (" + std::to_string(spec_.queue.max_age / 1000) +
                                "s) passed before the next attempt";
  if (!cmd.last_error.empty()) o.error += "; last: " + cmd.last_error;
  int made = o.attempts;
  Record(std::move(o), cmd.created_at, made);
  return true;
}

// False when the command is not sent now: its wait or failure is recorded.
bool AsyncWorker::Prepare(Command& cmd) {
  Prepared p = spec_.prepare(cmd);
  if (p.kind == Prepared::kSend) return true;
  AttemptOutcome o;
  o.id = cmd.id;
  o.fence = cmd.fence;
  o.notify = spec_.notify;
  o.retention = spec_.queue.retention;
  o.error = p.reason;
  o.attempts = cmd.attempts - 1;  // the claim counted an attempt that is not made
  if (p.kind == Prepared::kWait) {
    o.response_status = cmd.response_status;  // kept from an earlier attempt, if any
    o.response_headers = cmd.response_headers;
    o.response_body = cmd.response_body;
    o.status = SubmissionStatus::kProcessing;
    o.next_attempt_at = store_.Now() + spec_.queue.poll_interval;
    o.event = false;
  } else {
    o.status = SubmissionStatus::kFailed;
    LogJson("warn", "submission failed", LogFields(cmd, p.reason));
  }
  int made = o.attempts;
  Record(std::move(o), cmd.created_at, made);
  return false;
}

void AsyncWorker::Attempt(Command cmd) {
  if (BudgetSpent(cmd)) return;
  if (spec_.prepare && !Prepare(cmd)) return;
  attempts_.Inc();
  UpstreamRequest u;
  u.method = cmd.method;
  u.target = cmd.target;
  u.headers = cmd.headers;
  u.headers.emplace_back(spec_.idempotency.upstream_header, cmd.upstream_key);
  u.body = cmd.body;
  u.fresh_connection = spec_.idempotency.on_unknown == OnUnknown::kPark;
  auto shared = std::make_shared<Command>(std::move(cmd));
  client_.Send(std::move(u), [this, shared](UpstreamResult r) { OnAnswer(*shared, std::move(r), true); });
}

void AsyncWorker::SendBatch(std::vector<Command> items) {
  attempts_.Inc(items.size());
  UpstreamRequest u = codec_->Encode(items);
  u.fresh_connection = spec_.idempotency.on_unknown == OnUnknown::kPark;
  auto shared = std::make_shared<std::vector<Command>>(std::move(items));
  client_.Send(std::move(u), [this, shared](UpstreamResult r) {
    if (r.error == UpstreamError::kNone || r.error == UpstreamError::kTimeout) batch_seconds_.Observe(r.seconds);
    Feedback(r);
    auto results = codec_->Decode(r, shared->size());
    for (size_t i = 0; i < shared->size(); ++i) OnAnswer((*shared)[i], std::move(results[i]), false);
  });
}

// The master's push-back slows the route's limiter; its acceptance speeds it up.
void AsyncWorker::Feedback(const UpstreamResult& r) {
  if (!limiter_) return;
  if (r.error == UpstreamError::kNone && (r.response.status == 429 || r.response.status == 503))
    limiter_->OnThrottled();
  else if (r.error == UpstreamError::kNone && r.response.status < 300)
    limiter_->OnAccepted();
  rate_gauge_.Set(static_cast<int64_t>(limiter_->current_rate()));
}

void AsyncWorker::CountDrained() {
  int64_t sec = store_.Now() / 1000;
  std::lock_guard lock(mu_);
  auto& slot = drained_[static_cast<size_t>(sec % kDrainWindow)];
  if (slot.first != sec) slot = {sec, 0};
  ++slot.second;
}

double AsyncWorker::DrainRate() const {
  int64_t sec = store_.Now() / 1000;
  std::lock_guard lock(mu_);
  int64_t n = 0;
  // The current second is partial: count the full seconds before it.
  for (const auto& [at, count] : drained_)
    if (at < sec && at >= sec - kDrainWindow) n += count;
  return static_cast<double>(n) / kDrainWindow;
}

void AsyncWorker::OnAnswer(const Command& cmd, UpstreamResult r, bool feedback) {
  if (feedback) {
    if (r.error == UpstreamError::kNone || r.error == UpstreamError::kTimeout) upstream_seconds_.Observe(r.seconds);
    Feedback(r);
  }
  WRIT_CRASH_POINT("after_upstream_response");
  Outcome outcome = Classify(r, spec_.idempotency);
  Millis now = store_.Now();
  AttemptOutcome o;
  o.id = cmd.id;
  o.fence = cmd.fence;
  o.notify = spec_.notify;
  o.retention = spec_.queue.retention;
  o.response_status = r.error == UpstreamError::kNone ? r.response.status : 0;
  o.response_headers = r.response.headers;
  o.response_body = r.response.body;
  if (outcome == Outcome::kFinal) {
    if (r.response.status >= 200 && r.response.status < 300) {
      o.status = SubmissionStatus::kSucceeded;
      o.canonical_id = CanonicalId(r.response.body, spec_.queue.canonical_id);
    } else {
      o.status = SubmissionStatus::kFailed;
      o.error =
          "master answered " + std::to_string(r.response.status) + ": " + Snippet(spec_.redact.Text(r.response.body));
    }
    return Record(std::move(o), cmd.created_at, cmd.attempts);
  }
  o.error = r.error == UpstreamError::kNone
                ? "master answered " + std::to_string(r.response.status) + ": " +
                      Snippet(spec_.redact.Text(r.response.body))
                : r.message;
  // For logs: why, without any body.
  std::string reason = r.error == UpstreamError::kNone ? "master answered " + std::to_string(r.response.status)
                                                       : r.message;
  o.outcome_unknown = outcome == Outcome::kUnknown;
  if (o.outcome_unknown) {
    unknown_.Inc();
    LogJson("warn", "outcome unknown", LogFields(cmd, reason));
  }
  if (outcome == Outcome::kUnknown && spec_.idempotency.on_unknown == OnUnknown::kPark) {
    o.status = SubmissionStatus::kDead;
    o.error = "outcome unknown (" + o.error + "); not re-sent because on_unknown is park";
    LogDead(cmd, "outcome unknown; not re-sent (on_unknown: park)", true);
    return Record(std::move(o), cmd.created_at, cmd.attempts);
  }
  Millis delay = BackoffDelay(spec_.queue, cmd.attempts, ParseRetryAfter(r.response.headers, now), rng_.Uniform());
  bool possibly_applied = o.outcome_unknown || cmd.unknown_attempt > 0;
  if (cmd.attempts >= spec_.queue.max_attempts) {
    o.status = SubmissionStatus::kDead;
    o.error = "gave up after " + std::to_string(cmd.attempts) + " attempt(s) (max_attempts); last: " + o.error;
    LogDead(cmd, "max_attempts spent; last: " + reason, possibly_applied);
  } else if (now + delay > cmd.budget_from + spec_.queue.max_age) {
    o.status = SubmissionStatus::kDead;
    o.error = "gave up: next attempt would be past max_age (" + std::to_string(spec_.queue.max_age / 1000) +
              "s); last: " + o.error;
    LogDead(cmd, "max_age reached; last: " + reason, possibly_applied);
  } else {
    o.status = SubmissionStatus::kProcessing;
    o.next_attempt_at = now + delay;
    retries_.Inc();
    auto f = LogFields(cmd, reason);
    f["retryInMs"] = delay;
    LogJson("info", "retry scheduled", std::move(f));
  }
  Record(std::move(o), cmd.created_at, cmd.attempts);
}

// Ids, route, attempt, reason and key hash: never a body or a raw key.
boost::json::object AsyncWorker::LogFields(const Command& cmd, const std::string& reason) const {
  boost::json::object f{{"submission", cmd.id}, {"route", cmd.route}, {"attempt", cmd.attempts}, {"reason", reason}};
  if (!cmd.job_id.empty()) f["job"] = cmd.job_id;
  if (!cmd.idem_key.empty()) f["keyHash"] = KeyHashForLog(cmd.tenant, cmd.route, cmd.idem_key);
  return f;
}

void AsyncWorker::LogDead(const Command& cmd, const std::string& reason, bool possibly_applied) {
  auto f = LogFields(cmd, reason);
  f["possiblyApplied"] = possibly_applied;
  LogJson("warn", "submission dead", std::move(f));
}

void AsyncWorker::Record(AttemptOutcome o, Millis created_at, int attempts) {
  SubmissionStatus status = o.status;
  std::string id = o.id;
  const auto& hook = IsTerminal(status) ? spec_.on_terminal : spec_.on_retry;
  if (hook) {
    AttemptOutcome copy = o;  // what the hook sees (the outcome as recorded)
    (IsTerminal(status) ? o.on_terminal : o.on_retry) = [hook, copy = std::move(copy)](sql::Conn& c) {
      return hook(c, copy);
    };
  }
  bool moves = hook != nullptr && IsTerminal(status);
  store_.queue().FinishAttempt(std::move(o), [this, status, id, created_at, attempts, moves](Result<bool> r) {
    // The outcome and the mode's move (a saga's next request) committed
    // together; nothing after it taken yet.
    if (moves && r.ok() && *r) WRIT_CRASH_POINT("after_outcome_commit");
    if (!r.ok()) {
      store_errors_.Inc();  // the lease expires and the command is attempted again
    } else if (!*r) {
      fenced_out_.Inc();
    } else if (IsTerminal(status)) {
      CountDrained();
      if (status == SubmissionStatus::kSucceeded) succeeded_.Inc();
      if (status == SubmissionStatus::kFailed) failed_.Inc();
      if (status == SubmissionStatus::kDead) dead_.Inc();
      attempts_per_command_.Observe(attempts);
      accept_to_terminal_.Observe(static_cast<double>(store_.Now() - created_at) / 1000.0);
    }
    {
      std::lock_guard lock(mu_);
      --in_flight_;
      held_.erase(id);
    }
    in_flight_gauge_.Add(-1);
    scheduler_.Post([this] { Pump(); });
  });
}

void AsyncWorker::Heartbeat() {
  std::vector<std::pair<std::string, int64_t>> held;
  {
    std::lock_guard lock(mu_);
    Millis now = store_.Now();
    if (held_.empty() || now - last_heartbeat_ < spec_.queue.lease / 3) return;
    last_heartbeat_ = now;
    held.assign(held_.begin(), held_.end());
  }
  store_.queue().ExtendLeases(std::move(held), spec_.queue.lease, [this](Result<int> r) {
    if (!r.ok()) store_errors_.Inc();
  });
}

}  // namespace writ

namespace writ {

WorkerSpec MakeWorkerSpec(const RouteConfig& route, const QueueConfig& queue, EventSinks notify) {
  WorkerSpec s;
  s.route = route.name;
  s.idempotency = route.idempotency;
  s.queue = queue;
  s.notify = notify;
  s.redact = route.redactor;
  return s;
}

void AsyncWorker::UpdateQueueGauges(Metrics& metrics, const std::string& route_name,
                                    const std::vector<QueueStat>& stats, Millis now) {
  std::string route = RouteLabel(route_name);
  Millis oldest = 0;
  for (auto st : {SubmissionStatus::kAccepted, SubmissionStatus::kProcessing, SubmissionStatus::kFailed,
                  SubmissionStatus::kDead}) {
    int64_t count = 0;
    for (const auto& q : stats) {
      if (q.route != route_name || q.status != st) continue;
      count = q.count;
      if (!IsTerminal(st) && (oldest == 0 || q.oldest_created_at < oldest)) oldest = q.oldest_created_at;
    }
    metrics.GetGauge("writ_async_queue", "Async commands by route and status (unfinished, failed and dead)",
                     route + ",status=\"" + SubmissionStatusName(st) + "\"")
        .Set(count);
  }
  metrics.GetGauge("writ_async_oldest_pending_seconds", "Age of the oldest unfinished command", route)
      .Set(oldest == 0 ? 0 : (now - oldest) / 1000);
}

}  // namespace writ
