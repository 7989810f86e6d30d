#include "store/postgres/postgres_store.h"

#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "metrics/metrics.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_schema.h"
#include "store/sql/sql_store.h"

namespace writ {
namespace {

using pg::PgConn;

constexpr int kSchemaVersion = 3;  // as SQLite's: see pg_schema.h
constexpr int kMaxReaders = 16;
constexpr int kBatchRetries = 5;              // a batch rolled back by a deadlock is run again
constexpr Millis kReconnectSpacing = 500;     // between attempts while the database is away
constexpr int64_t kMigrationLock = 7'355'608;  // pg_advisory_xact_lock key for `writ migrate`

bool Retryable(const std::string& sqlstate) { return sqlstate == "40P01" || sqlstate == "40001"; }

// Reads the schema version (0: never migrated).
Result<int64_t> SchemaVersion(PgConn& c) {
  auto exists = c.QueryValue("SELECT to_regclass('writ_schema') IS NOT NULL");
  if (!exists.ok()) return exists.status();
  if (*exists != "t") return int64_t{0};
  auto v = c.QueryValue("SELECT max(version) FROM writ_schema");
  if (!v.ok()) return v.status();
  return v->empty() ? int64_t{0} : std::stoll(*v);
}

Status Migrate(PgConn& c) {
  if (auto s = c.Exec("BEGIN"); !s.ok()) return s;
  auto fail = [&](Status s) {
    (void)c.Exec("ROLLBACK");
    return s;
  };
  // One migrator at a time, however many instances run `writ migrate`.
  if (auto s = c.Exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")"); !s.ok())
    return fail(s);
  if (auto s = c.Exec("CREATE TABLE IF NOT EXISTS writ_schema (version BIGINT NOT NULL, applied_at TIMESTAMPTZ "
                      "NOT NULL DEFAULT now())");
      !s.ok())
    return fail(s);
  auto v = SchemaVersion(c);
  if (!v.ok()) return fail(v.status());
  if (*v > kSchemaVersion)
    return fail(Status(Code::kInvalidArgument, "the database's schema version " + std::to_string(*v) +
                                                   " is newer than this writ (" + std::to_string(kSchemaVersion) +
                                                   "); upgrade writ"));
  const char* steps[] = {pg::kKeysSchema, pg::kCommandsSchema, pg::kJobsSchema};
  for (int64_t i = *v; i < kSchemaVersion; ++i) {
    if (auto s = c.Exec(steps[i]); !s.ok()) return fail(s);
    if (auto s = c.Exec("INSERT INTO writ_schema (version) VALUES (" + std::to_string(i + 1) + ")"); !s.ok())
      return fail(s);
  }
  return c.Exec("COMMIT");
}

class PostgresStore : public SqlStore {
 public:
  explicit PostgresStore(const StoreOptions& o) : SqlStore(o.clock), opts_(o) {
    if (o.metrics) {
      commit_latency_ = &o.metrics->GetHistogram("writ_store_commit_seconds",
                                                 "Group commit latency including fsync", LatencyBuckets());
      batch_size_ = &o.metrics->GetHistogram("writ_store_commit_batch_size",
                                             "Operations sharing one commit", SizeBuckets());
      commit_errors_ = &o.metrics->GetCounter("writ_store_commit_errors_total", "Failed group commits");
      retries_ = &o.metrics->GetCounter("writ_store_batch_retries_total",
                                        "Batches rolled back by a deadlock or serialization failure and run again");
    }
  }

  ~PostgresStore() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    if (listener_.joinable()) listener_.join();
  }

  Status Init() {
    writer_conn_ = std::make_unique<PgConn>();
    if (auto s = writer_conn_->Open(opts_.url); !s.ok()) return s;
    if (opts_.migrate && !opts_.read_only) {
      if (auto s = Migrate(*writer_conn_); !s.ok()) return s;
    }
    auto v = SchemaVersion(*writer_conn_);
    if (!v.ok()) return v.status();
    if (*v < kSchemaVersion)
      return Status(Code::kInvalidArgument,
                    "the database's schema is at version " + std::to_string(*v) + ", this writ needs " +
                        std::to_string(kSchemaVersion) + ": run `writ migrate --config FILE` first");
    if (*v > kSchemaVersion)
      return Status(Code::kInvalidArgument, "the database's schema version " + std::to_string(*v) +
                                                " is newer than this writ (" + std::to_string(kSchemaVersion) +
                                                "); upgrade writ");
    for (const char* setting : {"fsync", "synchronous_commit"}) {
      auto value = writer_conn_->QueryValue(std::string("SHOW ") + setting);
      if (value.ok() && *value != "on")
        warnings_.push_back(std::string("PostgreSQL ") + setting + " is '" + *value +
                            "': acknowledged writes can be lost in a crash of the database server");
    }
    if (!opts_.read_only) writer_ = std::thread([this] { WriterLoop(); });
    return Status::Ok();
  }

  void OnWork(std::function<void(const std::string&)> wake) override {
    {
      std::lock_guard lock(mu_);
      wake_ = std::move(wake);
      if (listener_.joinable() || opts_.read_only) return;
    }
    listener_ = std::thread([this] { ListenLoop(); });
  }

  std::vector<std::string> Warnings() const override { return warnings_; }

 protected:
  void Submit(Work work, std::function<void(Status)> done, bool durable = true) override {
    if (opts_.read_only) {
      done(Status(Code::kInvalidArgument, "store opened read-only"));
      return;
    }
    {
      std::lock_guard lock(mu_);
      queue_.push_back({std::move(work), std::move(done), durable});
    }
    cv_.notify_one();
  }

  Status ReadWith(const std::function<Status(sql::Conn&)>& fn) override {
    std::unique_ptr<PgConn> c;
    {
      std::lock_guard lock(reader_mu_);
      if (!readers_.empty()) {
        c = std::move(readers_.back());
        readers_.pop_back();
      }
    }
    if (!c) {
      c = std::make_unique<PgConn>();
      if (auto s = c->Open(opts_.url); !s.ok()) return s;
    } else if (c->broken()) {
      if (auto s = c->Reset(); !s.ok()) return s;
    }
    Status s = fn(*c);
    if (!c->broken()) {
      std::lock_guard lock(reader_mu_);
      if (static_cast<int>(readers_.size()) < kMaxReaders) readers_.push_back(std::move(c));
    }
    return s;
  }

 private:
  struct Op {
    Work work;
    std::function<void(Status)> done;
    bool durable = true;
  };

  // Runs a batch in one transaction; on a deadlock or serialization failure
  // (another instance) rolls back and runs every operation again.
  Status RunBatch(std::vector<Op>& batch, std::vector<Status>& results) {
    bool durable = false;
    for (const auto& op : batch) durable = durable || op.durable;
    for (int attempt = 0;; ++attempt) {
      results.assign(batch.size(), Status::Ok());
      Status commit = writer_conn_->Exec("BEGIN");
      if (commit.ok() && !durable) commit = writer_conn_->Exec("SET LOCAL synchronous_commit = off");
      for (size_t i = 0; i < batch.size() && commit.ok(); ++i) {
        results[i] = batch[i].work(*writer_conn_);
        if (!results[i].ok()) commit = results[i];
      }
      if (commit.ok()) commit = writer_conn_->Exec("COMMIT");
      if (commit.ok()) return commit;
      std::string state = writer_conn_->sqlstate();
      if (!writer_conn_->broken()) (void)writer_conn_->Exec("ROLLBACK");
      if (!Retryable(state) || attempt + 1 >= kBatchRetries) return commit;
      if (retries_) retries_->Inc();
    }
  }

  // Reconnects a broken writer, at most every kReconnectSpacing.
  bool WriterUp() {
    if (!writer_conn_->broken()) return true;
    auto now = std::chrono::steady_clock::now();
    if (now - last_reconnect_ < std::chrono::milliseconds(kReconnectSpacing)) return false;
    last_reconnect_ = now;
    return writer_conn_->Reset().ok();
  }

  void WriterLoop() {
    std::vector<Op> batch;
    std::vector<Status> results;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty() && stop_) return;
        while (!queue_.empty() && static_cast<int>(batch.size()) < opts_.max_batch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      auto t0 = std::chrono::steady_clock::now();
      Status commit = WriterUp() ? RunBatch(batch, results)
                                 : Status(Code::kUnavailable, "the database is unavailable; reconnecting");
      if (commit_latency_) {
        commit_latency_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        batch_size_->Observe(static_cast<double>(batch.size()));
        if (!commit.ok()) commit_errors_->Inc();
      }
      for (size_t i = 0; i < batch.size(); ++i) batch[i].done(commit.ok() ? results[i] : commit);
      batch.clear();
    }
  }

  // LISTEN writ_work on a connection of its own; reconnects while the
  // database is away (wake-ups are an optimisation: workers also poll).
  void ListenLoop() {
    PgConn c;
    bool listening = false;
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
      }
      if (!listening || c.broken()) {
        listening = (c.raw() ? c.Reset() : c.Open(opts_.url)).ok() && c.Exec("LISTEN writ_work").ok();
        if (!listening) {
          std::this_thread::sleep_for(std::chrono::milliseconds(kReconnectSpacing));
          continue;
        }
      }
      pollfd p{PQsocket(c.raw()), POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      if (PQconsumeInput(c.raw()) == 0) {
        listening = false;
        continue;
      }
      while (PGnotify* n = PQnotifies(c.raw())) {
        std::string route = n->extra ? n->extra : "";
        PQfreemem(n);
        std::function<void(const std::string&)> wake;
        {
          std::lock_guard lock(mu_);
          wake = wake_;
        }
        if (wake) wake(route);
      }
    }
  }

  StoreOptions opts_;
  std::unique_ptr<PgConn> writer_conn_;
  std::thread writer_, listener_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;
  bool stop_ = false;
  std::function<void(const std::string&)> wake_;
  std::chrono::steady_clock::time_point last_reconnect_{};
  std::mutex reader_mu_;
  std::vector<std::unique_ptr<PgConn>> readers_;
  std::vector<std::string> warnings_;
  Histogram* commit_latency_ = nullptr;
  Histogram* batch_size_ = nullptr;
  Counter* commit_errors_ = nullptr;
  Counter* retries_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const StoreOptions& options) {
  auto s = std::make_unique<PostgresStore>(options);
  if (auto st = s->Init(); !st.ok()) return st;
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace writ
