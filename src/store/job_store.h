// JobStore: buffered jobs (CP-3; store/jobs.h has the types), their items
// (queued commands of the CommandQueue), item keys, producer sequences and
// per-route buffers, on the shared group-commit database.
// Thread-safety: every method may be called from any thread; callbacks run
// on the database's writer thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "store/database.h"
#include "store/jobs.h"
#include "store/key_store.h"

namespace writ {

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

struct JobReplay {
  int64_t requeued = 0;
  int64_t held = 0;  // possibly applied: not re-queued without allow_unknown
};

class JobStore {
 public:
  explicit JobStore(Database& db) : db_(db) {}

  // In one durable transaction: the buffer bound, the producer sequence and
  // the Idempotency-Key are checked; then the job, its items (queued or
  // duplicate) and the item keys are written with the 202 from req.respond.
  void AcceptJob(JobAcceptRequest req, Callback<JobAcceptResult> done);
  Result<std::optional<Job>> GetJob(const std::string& id);
  Result<std::vector<Job>> ListJobs(const JobFilter& filter);
  // failed/dead items of the job -> queued again (or duplicate when their
  // key has since been taken by another item). Items that may have been
  // applied (an attempt's outcome was unknown) stay as they are unless
  // `allow_unknown`; they are counted as held.
  void ReplayJob(std::string id, bool allow_unknown, Callback<JobReplay> done);
  Result<BufferState> GetBuffer(const std::string& route);
  // Pausing stops a route's workers from claiming; it survives restarts.
  void SetPaused(std::string route, bool paused, Callback<bool> done);

  // Deletes expired item keys and finished jobs past their retention,
  // inside the caller's transaction.
  static Result<int> DeleteExpired(sql::Conn& c, int batch, Millis now);
  static SchemaStep Schema();  // version 3

 private:
  Database& db_;
};

Result<JobAcceptResult> AcceptJobSync(JobStore& s, JobAcceptRequest req);
Result<JobReplay> ReplayJobSync(JobStore& s, std::string id, bool allow_unknown = false);
Result<bool> SetPausedSync(JobStore& s, std::string route, bool paused);

}  // namespace writ
