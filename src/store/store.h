// The store: durable state behind every acknowledgement Writ gives.
//
// Writes go through group commit: many operations share one transaction and
// one fsync, and each operation's callback runs only after that transaction
// has committed (or failed as a whole). A batch is fsynced when any of its
// operations asks for durability; operations that may wait for the next
// durable commit (Release, non-durable claims) are committed without one. Reads that need no write lock
// (Lookup, List, Counts) run on reader connections and return directly.
//
// Thread-safety: every method may be called from any thread. Callbacks run on
// the store's writer thread: keep them short and hand real work elsewhere.
// Time for leases and expiry is the store's own clock (StoreOptions::clock).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/http_types.h"
#include "core/status.h"
#include "store/commands.h"
#include "store/jobs.h"

namespace writ {

class Metrics;

// Idempotency keys are scoped by (tenant, route, key).
struct KeyId {
  std::string tenant;
  std::string route;
  std::string key;
};

enum class KeyState { kInFlight, kCompleted, kUnknown };
const char* KeyStateName(KeyState s);
std::optional<KeyState> ParseKeyState(const std::string& s);

struct StoredResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

struct IdempotencyRecord {
  KeyId id;
  KeyState state = KeyState::kInFlight;
  std::string fingerprint;         // hex digest of the whole request
  std::string fingerprint_detail;  // JSON: per-part digests used to say what differs
  int64_t fence = 0;               // bumped on every claim; stale holders lose
  int attempts = 0;                // upstream attempts started under this key
  Millis created_at = 0;
  Millis updated_at = 0;
  Millis lease_until = 0;  // in-flight only
  Millis expires_at = 0;   // 0: kept until an operator removes it (unknown outcomes)
  StoredResponse response;  // completed only
};

struct ClaimRequest {
  KeyId id;
  std::string fingerprint;
  std::string fingerprint_detail;
  Millis lease = 30'000;
  Millis retention = 86'400'000;
  // When an expired in-flight record is found: park it as unknown instead of
  // taking it over (at-most-once guard for masters that ignore keys).
  bool park_on_takeover = false;
  // false: the claim need not be on disk before the master is called; it
  // becomes durable with the next durable commit (the completion). Safe only
  // where a claim lost in a crash is harmless: the master honours keys, so a
  // re-send under the same derived key is deduplicated there.
  bool durable = true;
};

struct ClaimResult {
  bool claimed = false;     // true: caller holds the key with `fence`
  bool took_over = false;   // claimed an expired in-flight record
  int64_t fence = 0;
  IdempotencyRecord existing;  // when !claimed: the record that stands
};

struct KeyCounts {
  int64_t in_flight = 0, completed = 0, unknown = 0;
};

// --- Buffered jobs (see store/jobs.h).
struct JobAcceptRequest {
  std::string job_id, tenant, route;
  // The request each item becomes (per-item routes) or the bulk request's
  // target (bulk routes): fixed at acceptance like a command's.
  std::string method, target;
  Headers headers;
  std::vector<JobItem> items;          // valid items, in batch order
  std::vector<RejectedItem> rejected;  // failed validation; stored on the job
  int64_t total_items = 0;
  int64_t max_pending = 0;     // the route's buffer bound; 0: unbounded
  Millis dedup_window = 86'400'000;  // applied item keys are remembered this long
  Millis retention = 604'800'000;    // the job and its finished items are kept this long
  // Idempotency-Key (optional): the record is created completed with the 202.
  bool has_key = false;
  std::string idem_key, fingerprint, fingerprint_detail;
  Millis key_retention = 86'400'000;
  // Producer-Id / Producer-Seq (optional).
  std::string producer_id;
  int64_t producer_seq = 0;
  // Builds the 202 stored with the job (replayed for retries); runs inside
  // the transaction, so it must only format.
  std::function<StoredResponse(const JobSummary&)> respond;
};

enum class JobAcceptStatus {
  kAccepted,         // stored; `summary` and `response` hold what was stored
  kKeyExists,        // the Idempotency-Key has a record: `existing`
  kProducerReplay,   // Producer-Seq <= last: `response` is that job's 202
  kProducerExpired,  // Producer-Seq <= last, and that job is gone (GC)
  kProducerGap,      // Producer-Seq > last + 1: `expected_seq`
  kFull,             // the buffer cannot take the batch: `pending`
};

struct JobAcceptResult {
  JobAcceptStatus status = JobAcceptStatus::kAccepted;
  JobSummary summary;
  StoredResponse response;
  IdempotencyRecord existing;
  int64_t expected_seq = 0;
  int64_t pending = 0;  // items in the route's buffer when refused
};

class Store {
 public:
  template <typename T>
  using Callback = std::function<void(Result<T>)>;

  virtual ~Store() = default;

  virtual Result<std::optional<IdempotencyRecord>> Lookup(const KeyId& id) = 0;

  // Atomically: create an in-flight record, or take over an expired one with
  // the same fingerprint, or report the record that stands.
  virtual void Claim(ClaimRequest req, Callback<ClaimResult> done) = 0;
  // in-flight -> completed with the final response, if `fence` still holds.
  // The result is false when another holder has taken the key over.
  virtual void Complete(KeyId id, int64_t fence, StoredResponse response, Millis retention,
                        Callback<bool> done) = 0;
  // Deletes an in-flight record held with `fence` (transient failure: the
  // client may retry with the same key). Not fsynced on its own: if lost in a
  // crash, the record stays in flight until its lease expires.
  virtual void Release(KeyId id, int64_t fence, Callback<bool> done) = 0;
  // in-flight -> unknown (outcome unknown, never re-sent automatically).
  virtual void MarkUnknown(KeyId id, int64_t fence, Callback<bool> done) = 0;
  // Operator action: deletes a record in any state. False if absent.
  virtual void Remove(KeyId id, Callback<bool> done) = 0;
  // Deletes up to `batch` expired idempotency records and up to `batch`
  // finished commands past their retention (with their events, once none
  // waits for its webhook) in one transaction; returns how many rows.
  virtual void CollectGarbage(int batch, Callback<int> done) = 0;

  virtual Result<std::vector<IdempotencyRecord>> List(std::optional<KeyState> state,
                                                      const std::string& route, int limit) = 0;
  // Counts records by state: a full scan, for metrics and tools.
  virtual Result<KeyCounts> Counts() = 0;
  // --- Command queue (async routes); see store/commands.h.
  // Creates the idempotency record (when req.has_key) and the command and its
  // "accepted" event in one durable transaction. When the key already has a
  // record nothing is written and the result is that record (claimed=false).
  virtual void Accept(AcceptRequest req, Callback<ClaimResult> done) = 0;
  // Leases up to `limit` due commands of `route` (accepted, waiting for a
  // retry, or processing with an expired lease), oldest first; a command
  // whose ordering key has an older unfinished command is skipped. Each
  // claim bumps attempts and the fence. Not fsynced on its own.
  virtual void ClaimCommands(std::string route, int limit, Millis lease, bool notify, Callback<std::vector<Command>> done) = 0;
  // Extends the leases of commands still held with these fences.
  virtual void ExtendLeases(std::vector<std::pair<std::string, int64_t>> held, Millis lease,
                            Callback<int> done) = 0;
  // Records an attempt's outcome (and its event) if the fence still holds.
  virtual void FinishAttempt(AttemptOutcome outcome, Callback<bool> done) = 0;
  // Operator: failed/dead -> accepted with a fresh attempt budget.
  virtual void Redrive(std::string id, bool notify, Callback<ActionResult> done) = 0;
  // Operator or client: accepted and never attempted -> cancelled, kept for
  // `retention`.
  virtual void Cancel(std::string id, bool notify, Millis retention, Callback<ActionResult> done) = 0;
  virtual Result<std::optional<Command>> GetCommand(const std::string& id) = 0;
  virtual Result<std::vector<Command>> ListCommands(const CommandFilter& filter) = 0;
  virtual Result<std::vector<QueueStat>> QueueStats() = 0;
  // Events of one submission with seq > after_seq, oldest first.
  virtual Result<std::vector<StatusEvent>> ListEvents(const std::string& submission_id, int64_t after_seq) = 0;
  // Webhook relay: undelivered events due now, oldest first.
  virtual Result<std::vector<StatusEvent>> DueEvents(int limit) = 0;
  // delivered: marks the event sent; otherwise records the error and next try.
  virtual void MarkEvent(int64_t seq, bool delivered, Millis next_at, std::string error, Callback<bool> done) = 0;

  // --- Buffered jobs (CP-3); see store/jobs.h.
  // In one durable transaction: the buffer bound, the producer sequence and
  // the Idempotency-Key are checked; then the job, its items (queued or
  // duplicate) and the item keys are written with the 202 from req.respond.
  virtual void AcceptJob(JobAcceptRequest req, Callback<JobAcceptResult> done) = 0;
  virtual Result<std::optional<Job>> GetJob(const std::string& id) = 0;
  virtual Result<std::vector<Job>> ListJobs(const JobFilter& filter) = 0;
  // failed/dead items of the job -> queued again (or duplicate when their
  // key has since been taken by another item). Returns how many re-queued.
  virtual void ReplayJob(std::string id, Callback<int64_t> done) = 0;
  virtual Result<BufferState> GetBuffer(const std::string& route) = 0;
  // Pausing stops a route's workers from claiming; it survives restarts.
  virtual void SetPaused(std::string route, bool paused, Callback<bool> done) = 0;

  // Cheap check that the store can be read (readiness probes).
  virtual Status Ping() = 0;
  // Stores shared by several writ instances (PostgreSQL) call `wake` with a
  // route's name when any instance queued work for it (LISTEN/NOTIFY), so
  // idle workers need not wait for their next poll. Others never call it.
  virtual void OnWork(std::function<void(const std::string& route)> wake) {}
  // Things an operator must hear about at start-up (durability settings
  // turned off, say); empty when all is well.
  virtual std::vector<std::string> Warnings() const { return {}; }
  virtual Millis Now() const = 0;
};

// Blocking helpers for tools and tests: wait for the callback.
Result<ClaimResult> ClaimSync(Store& s, ClaimRequest req);
Result<bool> CompleteSync(Store& s, KeyId id, int64_t fence, StoredResponse r, Millis retention);
Result<bool> ReleaseSync(Store& s, KeyId id, int64_t fence);
Result<bool> MarkUnknownSync(Store& s, KeyId id, int64_t fence);
Result<bool> RemoveSync(Store& s, KeyId id);
Result<int> CollectGarbageSync(Store& s, int batch);
Result<ClaimResult> AcceptSync(Store& s, AcceptRequest req);
Result<std::vector<Command>> ClaimCommandsSync(Store& s, std::string route, int limit, Millis lease, bool notify = false);
Result<bool> FinishAttemptSync(Store& s, AttemptOutcome outcome);
Result<ActionResult> RedriveSync(Store& s, std::string id, bool notify);
Result<ActionResult> CancelSync(Store& s, std::string id, bool notify, Millis retention);
Result<JobAcceptResult> AcceptJobSync(Store& s, JobAcceptRequest req);
Result<int64_t> ReplayJobSync(Store& s, std::string id);
Result<bool> SetPausedSync(Store& s, std::string route, bool paused);

struct StoreOptions {
  std::string url;  // sqlite:PATH or postgres://user@host:port/db
  int max_batch = 512;
  Clock* clock = &SystemClock();
  Metrics* metrics = nullptr;  // optional
  bool read_only = false;      // operator tools inspecting a live store
  // PostgreSQL: apply pending schema migrations at open (`writ migrate`);
  // without it an unmigrated database is refused. SQLite always migrates.
  bool migrate = false;
};

// Opens the store named by options.url (creating and migrating it if needed).
Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options);

}  // namespace writ
