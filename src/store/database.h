// Database: the one group-commit database every store concern works on.
//
// A concern (idempotency keys, the command queue, buffered jobs, a write
// mode's own tables) is a small class that holds a Database& and writes its
// statements against sql::Conn (store/sql/conn.h) in SQL both SQLite and
// PostgreSQL accept. The database gives it exactly two primitives:
//   Submit: run a work function inside a write transaction that many
//           operations share (group commit); `done` runs once that
//           transaction has committed, or failed as a whole.
//   Read:   run a function on a reader connection, now, on the caller's thread.
// Each backend (store/sqlite, store/postgres) implements them once; a
// DatabaseWrapper forwards both, so a test can wrap a real database and fail
// any call of any concern (tests/testing/fault_store.h).
//
// Work functions given to Submit must be re-runnable: a backend may roll a
// batch back (a deadlock with another instance, a lost connection) and run
// every work function of it again in a new transaction. They therefore
// assign their outputs rather than accumulate them. No network I/O inside.
//
// Thread-safety: every method may be called from any thread. `done`
// callbacks run on the database's writer thread: keep them short.
// Time for leases and expiry is the database's clock (StoreOptions::clock).
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "store/sql/conn.h"

namespace writ {

class Metrics;

// One schema version, in both dialects. Versions are global and contiguous
// (1, 2, 3, ...); each concern owns the versions it adds and lists them next
// to its code. A store records the highest version applied.
struct SchemaStep {
  int version = 0;
  const char* concern = "";  // "keys", "commands", "jobs", "drafts", ...
  const char* sqlite = "";
  const char* postgres = "";
};

struct StoreOptions {
  std::string url;  // sqlite:PATH or postgres://user@host:port/db
  int max_batch = 512;
  Clock* clock = &SystemClock();
  Metrics* metrics = nullptr;  // optional
  bool read_only = false;      // operator tools inspecting a live store
  // PostgreSQL: apply pending schema migrations at open (`writ migrate`);
  // without it an unmigrated database is refused. SQLite always migrates.
  bool migrate = false;
  // The schema: every concern's steps. Empty: the core concerns' steps
  // (keys, commands, jobs); the gateway and CLI pass every write mode's too.
  std::vector<SchemaStep> schema;
};

class Database {
 public:
  using Work = std::function<Status(sql::Conn&)>;
  using ReadFn = std::function<Status(sql::Conn&)>;
  virtual ~Database() = default;

  // Runs `work` in a write transaction shared with other operations; `done`
  // gets its status once that transaction has committed (or failed). A
  // batch is made durable (fsync / synchronous commit) if any of its
  // operations asks for it; others may wait for the next durable commit.
  virtual void Submit(Work work, std::function<void(Status)> done, bool durable = true) = 0;
  // Runs `fn` on a reader connection and returns its status.
  virtual Status Read(const ReadFn& fn) = 0;

  virtual Millis Now() const = 0;
  virtual sql::Dialect dialect() const = 0;
  // Stores shared by several writ instances (PostgreSQL) call `wake` with a
  // route's name when any instance queued work for it (LISTEN/NOTIFY), so
  // idle workers need not wait for their next poll. Others never call it.
  virtual void OnWork(std::function<void(const std::string& route)> wake) {}
  // Things an operator must hear about at start-up (durability settings
  // turned off, say); empty when all is well.
  virtual std::vector<std::string> Warnings() const { return {}; }
  // SQLite only: after the writer's next commit, copies the whole WAL into
  // the database file and truncates it (after an erasure, so deleted bytes
  // leave the log); `done` runs on the writer thread. Elsewhere: done(Ok).
  virtual void Checkpoint(std::function<void(Status)> done) { done(Status::Ok()); }
};

// Forwards every call to another database (LevelDB's EnvWrapper): override
// only what a test wants to change.
class DatabaseWrapper : public Database {
 public:
  explicit DatabaseWrapper(Database& target) : target_(target) {}
  void Submit(Work work, std::function<void(Status)> done, bool durable = true) override {
    target_.Submit(std::move(work), std::move(done), durable);
  }
  Status Read(const ReadFn& fn) override { return target_.Read(fn); }
  Millis Now() const override { return target_.Now(); }
  sql::Dialect dialect() const override { return target_.dialect(); }
  void OnWork(std::function<void(const std::string&)> wake) override { target_.OnWork(std::move(wake)); }
  std::vector<std::string> Warnings() const override { return target_.Warnings(); }
  void Checkpoint(std::function<void(Status)> done) override { target_.Checkpoint(std::move(done)); }
  Database& target() { return target_; }

 private:
  Database& target_;
};

template <typename T>
using Callback = std::function<void(Result<T>)>;

// Submit for work that yields a value: `work` is re-run on a batch retry and
// its last result is what `done` gets once the transaction committed.
template <typename T>
void SubmitFor(Database& db, std::function<Result<T>(sql::Conn&)> work, Callback<T> done, bool durable = true) {
  auto out = std::make_shared<std::optional<Result<T>>>();
  db.Submit(
      [work = std::move(work), out](sql::Conn& c) -> Status {
        out->emplace(work(c));
        return (*out)->ok() ? Status::Ok() : (*out)->status();
      },
      [out, done = std::move(done)](Status s) {
        if (!s.ok() || !out->has_value()) return done(s.ok() ? Status(Code::kInternal, "write produced nothing") : s);
        done(std::move(**out));
      },
      durable);
}

// Read for a function that yields a value.
template <typename T, typename F>
Result<T> ReadFor(Database& db, F&& fn) {
  std::optional<Result<T>> out;
  Status s = db.Read([&](sql::Conn& c) {
    out.emplace(fn(c));
    return out->ok() ? Status::Ok() : out->status();
  });
  if (!out) return s.ok() ? Status(Code::kInternal, "read produced nothing") : s;
  return std::move(*out);
}

// Blocks until an asynchronous store call answers, for tools and tests:
// Wait<T>([&](auto cb) { keys.Claim(req, cb); }). Never on the writer thread.
template <typename T, typename F>
Result<T> Wait(F&& start) {
  std::promise<Result<T>> p;
  auto f = p.get_future();
  start([&p](Result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

// The steps of the core concerns: 1 keys, 2 commands and events, 3 jobs,
// 5 keys' generation, 6 commands' unknown attempt, 7 keys' open index, 8 keys' request, 9 API keys, 19 the events' sinks, 20 the NATS relay's indexes. Versions are
// contiguous only with every mode's own steps (4 drafts): open stores with the registry's AllSchemaSteps().
std::vector<SchemaStep> CoreSchemaSteps();
// Opens the database named by options.url, creating and migrating it as
// options say. The schema steps must be numbered 1..n without a gap.
Result<std::unique_ptr<Database>> OpenDatabase(const StoreOptions& options);

}  // namespace writ
