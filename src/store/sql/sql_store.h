// Internal to the SQL stores: the Store interface carried out once, in SQL
// both SQLite and PostgreSQL accept (store/sql/*.cpp), over two hooks each
// backend provides: Submit (a write, run inside a group-committed
// transaction on the backend's writer) and ReadWith (a read on a reader
// connection). A backend adds its connections, its writer loop and its
// schema migrations; every behaviour users see lives here, so one contract
// suite covers both.
//
// Work functions given to Submit must be re-runnable: a backend may roll a
// batch back (a deadlock with another instance, a lost connection) and run
// every work function of it again in a new transaction. They therefore
// assign their outputs rather than accumulate them.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "store/sql/conn.h"
#include "store/store.h"

namespace writ {

class SqlStore : public Store {
 public:
  explicit SqlStore(Clock* clock);

  Result<std::optional<IdempotencyRecord>> Lookup(const KeyId& id) override;
  void Claim(ClaimRequest req, Callback<ClaimResult> done) override;
  void Complete(KeyId id, int64_t fence, StoredResponse response, Millis retention, Callback<bool> done) override;
  void Release(KeyId id, int64_t fence, Callback<bool> done) override;
  void MarkUnknown(KeyId id, int64_t fence, Callback<bool> done) override;
  void Remove(KeyId id, Callback<bool> done) override;
  void CollectGarbage(int batch, Callback<int> done) override;
  Result<std::vector<IdempotencyRecord>> List(std::optional<KeyState> state, const std::string& route,
                                              int limit) override;
  Result<KeyCounts> Counts() override;
  void Accept(AcceptRequest req, Callback<ClaimResult> done) override;
  void ClaimCommands(std::string route, int limit, Millis lease, bool notify,
                     Callback<std::vector<Command>> done) override;
  void ExtendLeases(std::vector<std::pair<std::string, int64_t>> held, Millis lease, Callback<int> done) override;
  void FinishAttempt(AttemptOutcome outcome, Callback<bool> done) override;
  void Redrive(std::string id, bool notify, Callback<ActionResult> done) override;
  void Cancel(std::string id, bool notify, Millis retention, Callback<ActionResult> done) override;
  Result<std::optional<Command>> GetCommand(const std::string& id) override;
  Result<std::vector<Command>> ListCommands(const CommandFilter& filter) override;
  Result<std::vector<QueueStat>> QueueStats() override;
  Result<std::vector<StatusEvent>> ListEvents(const std::string& submission_id, int64_t after_seq) override;
  Result<std::vector<StatusEvent>> DueEvents(int limit) override;
  void MarkEvent(int64_t seq, bool delivered, Millis next_at, std::string error, Callback<bool> done) override;
  void AcceptJob(JobAcceptRequest req, Callback<JobAcceptResult> done) override;
  Result<std::optional<Job>> GetJob(const std::string& id) override;
  Result<std::vector<Job>> ListJobs(const JobFilter& filter) override;
  void ReplayJob(std::string id, Callback<int64_t> done) override;
  Result<BufferState> GetBuffer(const std::string& route) override;
  void SetPaused(std::string route, bool paused, Callback<bool> done) override;
  Status Ping() override;
  Millis Now() const override { return clock_->NowMs(); }

 protected:
  using Work = std::function<Status(sql::Conn&)>;
  // Runs `work` in a write transaction shared with other operations; `done`
  // gets its status once that transaction has committed (or failed). A
  // batch is made durable (fsync / synchronous commit) if any of its
  // operations asks for it.
  virtual void Submit(Work work, std::function<void(Status)> done, bool durable = true) = 0;
  // Runs `fn` on a reader connection and returns its status.
  virtual Status ReadWith(const std::function<Status(sql::Conn&)>& fn) = 0;

  template <typename T, typename F>
  Result<T> Read(F&& fn) {
    std::optional<Result<T>> out;
    Status s = ReadWith([&](sql::Conn& c) {
      out.emplace(fn(c));
      return out->ok() ? Status::Ok() : out->status();
    });
    if (!out) return s.ok() ? Status(Code::kInternal, "read produced nothing") : s;
    return std::move(*out);
  }

  Clock* clock_;

 private:
  // PostgreSQL: NOTIFY writ_work, route (delivered at commit, to every instance).
  static Status NotifyWork(sql::Conn& c, const std::string& route);
  static std::function<void(Status)> ChangedCallback(std::shared_ptr<int> changed, Callback<bool> done);
  void Action(std::function<Result<ActionResult>(sql::Conn&)> fn, Callback<ActionResult> done);
};

}  // namespace writ
