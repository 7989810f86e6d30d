// Internal to the backends: the group-commit writer both SQLite and
// PostgreSQL use. Submitted operations queue up; one writer thread takes up
// to max_batch of them, has the backend run them in one transaction
// (RunBatch), and then calls every operation's `done`. Metrics:
// writ_store_commit_seconds, writ_store_commit_batch_size,
// writ_store_commit_errors_total.
// Thread-safety: Submit from any thread; RunBatch runs on the writer thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "store/database.h"

namespace writ {

class Counter;
class Histogram;

class GroupCommitDatabase : public Database {
 public:
  void Submit(Work work, std::function<void(Status)> done, bool durable = true) override;
  // The injected clock, corrected by the database's when the backend keeps
  // one (PostgreSQL shared by several hosts: see SetClockOffset).
  Millis Now() const override { return clock_->NowMs() + clock_offset_.load(std::memory_order_relaxed); }

 protected:
  struct Op {
    Work work;
    std::function<void(Status)> done;
    bool durable = true;
  };
  explicit GroupCommitDatabase(const StoreOptions& options);
  ~GroupCommitDatabase() override;
  // database clock - this host's clock: added to every Now(), so that every
  // lease, due time and expiry is decided by one clock whatever the hosts'.
  void SetClockOffset(Millis offset) { clock_offset_.store(offset, std::memory_order_relaxed); }

  // Runs every operation of `batch` in one transaction, durably if any of
  // them asks for it. Sets results[i] to each operation's own status and
  // returns the transaction's: when it failed, every caller gets that.
  virtual Status RunBatch(std::vector<Op>& batch, std::vector<Status>& results) = 0;

  // Starts the writer thread (after the backend is ready) and stops it:
  // what is queued runs first. A backend calls StopWriter in its destructor.
  void StartWriter();
  void StopWriter();
  bool stopping();

  const StoreOptions opts_;
  Clock* clock_;
  std::atomic<Millis> clock_offset_{0};

 private:
  void WriterLoop();

  std::thread writer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;
  bool stop_ = false;
  Histogram* commit_latency_ = nullptr;
  Histogram* batch_size_ = nullptr;
  Counter* commit_errors_ = nullptr;
};

// The steps to apply to a store at `from` (ascending), or why they cannot
// be: a gap in the numbering, or a store newer than this writ.
Result<std::vector<SchemaStep>> PendingSteps(const std::vector<SchemaStep>& steps, int64_t from);
// The highest version of `steps` (0 if none).
int LatestVersion(const std::vector<SchemaStep>& steps);

}  // namespace writ
