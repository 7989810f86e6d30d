#include "store/postgres/postgres_database.h"

#include <poll.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "metrics/metrics.h"
#include "store/group_commit.h"
#include "store/postgres/pg_conn.h"

namespace writ {
namespace {

using pg::PgConn;

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

Status Migrate(PgConn& c, const std::vector<SchemaStep>& all) {
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
  auto steps = PendingSteps(all, *v);
  if (!steps.ok()) return fail(steps.status());
  for (const auto& step : *steps) {
    if (auto s = c.Exec(step.postgres); !s.ok()) return fail(s);
    if (auto s = c.Exec("INSERT INTO writ_schema (version) VALUES (" + std::to_string(step.version) + ")"); !s.ok())
      return fail(s);
  }
  return c.Exec("COMMIT");
}

// The PostgreSQL backend: the group-commit writer runs batches on one
// connection (re-running a batch a deadlock rolled back), reads use a pool
// of connections, and a listener turns NOTIFY writ_work into wake-ups.
class PostgresDatabase : public GroupCommitDatabase {
 public:
  explicit PostgresDatabase(const StoreOptions& o)
      : GroupCommitDatabase(o), schema_(o.schema) {
    if (o.metrics)
      retries_ = &o.metrics->GetCounter("writ_store_batch_retries_total",
                                        "Batches rolled back by a deadlock or serialization failure and run again");
  }

  ~PostgresDatabase() override {
    StopWriter();
    if (listener_.joinable()) listener_.join();
  }

  Status Init() {
    writer_conn_ = std::make_unique<PgConn>();
    if (auto s = writer_conn_->Open(opts_.url); !s.ok()) return s;
    if (opts_.migrate && !opts_.read_only) {
      if (auto s = Migrate(*writer_conn_, schema_); !s.ok()) return s;
    }
    auto v = SchemaVersion(*writer_conn_);
    if (!v.ok()) return v.status();
    auto pending = PendingSteps(schema_, *v);
    if (!pending.ok()) return pending.status();
    if (!pending->empty())
      return Status(Code::kInvalidArgument,
                    "the database's schema is at version " + std::to_string(*v) + ", this writ needs " +
                        std::to_string(LatestVersion(schema_)) + ": run `writ migrate --config FILE` first");
    SyncClock();
    for (const char* setting : {"fsync", "synchronous_commit"}) {
      auto value = writer_conn_->QueryValue(std::string("SHOW ") + setting);
      if (value.ok() && *value != "on")
        warnings_.push_back(std::string("PostgreSQL ") + setting + " is '" + *value +
                            "': acknowledged writes can be lost in a crash of the database server");
    }
    StartWriter();
    return Status::Ok();
  }

  void OnWork(std::function<void(const std::string&)> wake) override {
    {
      std::lock_guard lock(wake_mu_);
      wake_ = std::move(wake);
      if (listener_.joinable() || opts_.read_only) return;
    }
    listener_ = std::thread([this] { ListenLoop(); });
  }

  std::vector<std::string> Warnings() const override { return warnings_; }
  sql::Dialect dialect() const override { return sql::Dialect::kPostgres; }

  Status Read(const ReadFn& fn) override {
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

 protected:
  // Runs a batch in one transaction; on a deadlock or serialization failure
  // (another instance) rolls back and runs every operation again.
  Status RunBatch(std::vector<Op>& batch, std::vector<Status>& results) override {
    if (!WriterUp()) return Status(Code::kUnavailable, "the database is unavailable; reconnecting");
    SyncClock();
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

 private:
  // Instances on several hosts share this database: leases, due times and
  // expiry must follow one clock, the database's, or a host whose clock runs
  // ahead would take over leases still live. Once a second (clocks drift
  // slowly), the offset between the database's clock and this host's is
  // measured on the writer connection and applied to every Now(). Only for
  // the wall clock: a test's fake clock is left alone.
  void SyncClock() {
    if (!opts_.clock || !opts_.clock->wall()) return;
    auto now = std::chrono::steady_clock::now();
    if (clock_synced_ && now - last_clock_sync_ < std::chrono::seconds(1)) return;
    Millis before = opts_.clock->NowMs();
    auto db = writer_conn_->QueryValue("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint");
    Millis after = opts_.clock->NowMs();
    if (!db.ok()) return;  // the batch reports the broken connection
    char* end = nullptr;
    long long db_ms = std::strtoll(db->c_str(), &end, 10);
    if (end == db->c_str()) return;
    SetClockOffset(db_ms - (before + after) / 2);
    clock_synced_ = true;
    last_clock_sync_ = now;
  }

  // Reconnects a broken writer, at most every kReconnectSpacing.
  bool WriterUp() {
    if (!writer_conn_->broken()) return true;
    auto now = std::chrono::steady_clock::now();
    if (now - last_reconnect_ < std::chrono::milliseconds(kReconnectSpacing)) return false;
    last_reconnect_ = now;
    return writer_conn_->Reset().ok();
  }

  // LISTEN writ_work on a connection of its own; reconnects while the
  // database is away (wake-ups are an optimisation: workers also poll).
  void ListenLoop() {
    PgConn c;
    bool listening = false;
    while (!stopping()) {
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
          std::lock_guard lock(wake_mu_);
          wake = wake_;
        }
        if (wake) wake(route);
      }
    }
  }

  std::vector<SchemaStep> schema_;
  bool clock_synced_ = false;
  std::chrono::steady_clock::time_point last_clock_sync_;
  std::unique_ptr<PgConn> writer_conn_;
  std::thread listener_;
  std::mutex wake_mu_;
  std::function<void(const std::string&)> wake_;
  std::chrono::steady_clock::time_point last_reconnect_{};
  std::mutex reader_mu_;
  std::vector<std::unique_ptr<PgConn>> readers_;
  std::vector<std::string> warnings_;
  Counter* retries_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgresDatabase(const StoreOptions& options) {
  auto s = std::make_unique<PostgresDatabase>(options);
  if (auto st = s->Init(); !st.ok()) return st;
  return std::unique_ptr<Database>(std::move(s));
}

}  // namespace writ
