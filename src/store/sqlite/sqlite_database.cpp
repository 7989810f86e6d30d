#include "store/sqlite/sqlite_database.h"

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "metrics/metrics.h"
#include "store/group_commit.h"
#include "store/sqlite/sqlite_conn.h"

namespace writ {
namespace {

using sqlite::SqliteConn;

// WAL checkpoints run on a thread of their own once the WAL holds this many
// pages (SQLite's own default threshold), so no commit waits for the bulk of
// one: an automatic checkpoint would copy all those pages into the database
// file and fsync it inside the writer's commit, stalling every caller of that
// batch (the p99 of a sync write at half load). If that thread falls far
// behind, the writer checkpoints itself at the second threshold, so the WAL
// stays bounded.
constexpr int kCheckpointPages = 1000;
constexpr int kInlineCheckpointPages = 16 * kCheckpointPages;

// The SQLite backend: the group-commit writer runs batches on the writer
// connection; reads use a small pool of read-only connections (WAL lets them
// run beside the writer).
class SqliteDatabase : public GroupCommitDatabase {
 public:
  explicit SqliteDatabase(const StoreOptions& o) : GroupCommitDatabase(o) {
    if (o.metrics) {
      checkpoints_ = &o.metrics->GetCounter("writ_store_checkpoints_total",
                                            "WAL checkpoints run beside the writer");
      checkpoint_latency_ = &o.metrics->GetHistogram("writ_store_checkpoint_seconds",
                                                     "WAL checkpoint duration including fsync", LatencyBuckets());
    }
  }

  ~SqliteDatabase() override {
    StopWriter();
    {
      std::lock_guard lock(ckpt_mu_);
      ckpt_stop_ = true;
    }
    ckpt_cv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
  }

  Status Init() {
    path_ = opts_.url.substr(7);
    if (!opts_.read_only) {
      std::error_code ec;
      auto parent = std::filesystem::path(path_).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
      if (ec) return Status(Code::kUnavailable, "cannot create " + parent.string() + ": " + ec.message());
    }
    writer_conn_ = std::make_unique<SqliteConn>();
    if (auto s = writer_conn_->Open(path_, opts_.read_only); !s.ok()) return s;
    if (!opts_.read_only) {
      if (auto s = writer_conn_->Exec("PRAGMA journal_mode=WAL;"); !s.ok()) return s;
      if (auto s = Migrate(); !s.ok()) return s;
      ckpt_conn_ = std::make_unique<SqliteConn>();
      if (auto s = ckpt_conn_->Open(path_, false); !s.ok()) return s;
      // Replaces SQLite's automatic checkpoint (itself a WAL hook).
      sqlite3_wal_hook(writer_conn_->db(), &SqliteDatabase::OnWalCommit, this);
      checkpointer_ = std::thread([this] { CheckpointLoop(); });
      StartWriter();
    }
    return Status::Ok();
  }

  Status Read(const ReadFn& fn) override {
    auto c = AcquireReader();
    if (!c.ok()) return c.status();
    Status s = fn(**c);
    ReleaseReader(std::move(*c));
    return s;
  }

  sql::Dialect dialect() const override { return sql::Dialect::kSqlite; }

  // The checkpoint runs on the writer thread between batches (a no-op batch
  // of its own, in its `done`), so no transaction is open.
  void Checkpoint(std::function<void(Status)> done) override {
    if (opts_.read_only) return done(Status::Ok());
    Submit([](sql::Conn&) { return Status::Ok(); },
           [this, done = std::move(done)](Status s) {
             if (s.ok() && sqlite3_wal_checkpoint_v2(writer_conn_->db(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr,
                                                     nullptr) != SQLITE_OK)
               s = writer_conn_->Error("checkpoint");
             done(s);
           },
           /*durable=*/false);
  }

 protected:
  Status Migrate() {
    auto st = writer_conn_->Prepare("PRAGMA user_version");
    if (!st.ok()) return st.status();
    int64_t v = st->Step() == sql::kRow ? st->Int(0) : 0;
    st = Status::Ok();  // release the statement before the transaction
    auto steps = PendingSteps(opts_.schema, v);
    if (!steps.ok()) return steps.status();
    if (steps->empty()) return Status::Ok();
    if (auto s = writer_conn_->Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    // Each version's statements, applied in order from the store's version.
    for (const auto& step : *steps) {
      if (auto s = writer_conn_->Exec(step.sqlite); !s.ok()) {
        (void)writer_conn_->Exec("ROLLBACK");
        return s;
      }
    }
    std::string set = "PRAGMA user_version=" + std::to_string(steps->back().version);
    if (auto s = writer_conn_->Exec(set.c_str()); !s.ok()) return s;
    return writer_conn_->Exec("COMMIT");
  }

  Status RunBatch(std::vector<Op>& batch, std::vector<Status>& results) override {
    // fsync this commit only if an operation in it needs durability; the
    // WAL is one file, so that fsync also covers earlier unsynced commits.
    bool durable = false;
    for (const auto& op : batch) durable = durable || op.durable;
    Status commit = Status::Ok();
    if (durable != synced_) {
      commit = writer_conn_->Exec(durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
      if (commit.ok()) synced_ = durable;
    }
    if (commit.ok()) commit = writer_conn_->Exec("BEGIN IMMEDIATE");
    if (!commit.ok()) return commit;
    // Operations fail only when the database does (I/O, full disk): then
    // the whole batch is rolled back and every caller told.
    for (size_t i = 0; i < batch.size() && commit.ok(); ++i) {
      results[i] = batch[i].work(*writer_conn_);
      if (!results[i].ok()) commit = results[i];
    }
    if (commit.ok()) commit = writer_conn_->Exec("COMMIT");
    if (!commit.ok()) (void)writer_conn_->Exec("ROLLBACK");
    return commit;
  }

  // Called on the writer thread after each commit with the WAL's size in
  // pages. The bulk of a checkpoint runs on the checkpointer thread; the WAL
  // can start over only once every frame is in the database, which a thread
  // racing the writer rarely sees, so after each of its passes the writer
  // copies the few frames appended meanwhile itself (and the next commit
  // starts the WAL from the beginning).
  static int OnWalCommit(void* self, sqlite3* db, const char*, int pages) {
    auto* store = static_cast<SqliteDatabase*>(self);
    if (pages < kCheckpointPages) return SQLITE_OK;
    if (pages >= kInlineCheckpointPages || store->ckpt_pass_done_.exchange(false)) {
      (void)sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      return SQLITE_OK;
    }
    {
      std::lock_guard lock(store->ckpt_mu_);
      store->ckpt_wanted_ = true;
    }
    store->ckpt_cv_.notify_one();
    return SQLITE_OK;
  }

  // PASSIVE checkpoints on a connection of their own: they copy committed
  // pages into the database file while the writer keeps appending to the WAL,
  // and the writer starts the WAL over at its next commit once all of it is
  // in the database. A busy checkpoint is retried at the next request.
  void CheckpointLoop() {
    for (;;) {
      {
        std::unique_lock lock(ckpt_mu_);
        ckpt_cv_.wait(lock, [&] { return ckpt_stop_ || ckpt_wanted_; });
        if (ckpt_stop_) return;
        ckpt_wanted_ = false;
      }
      auto t0 = std::chrono::steady_clock::now();
      int rc = sqlite3_wal_checkpoint_v2(ckpt_conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK) continue;  // busy: the next commit over the threshold asks again
      ckpt_pass_done_ = true;
      if (checkpoints_) {
        checkpoints_->Inc();
        checkpoint_latency_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    }
  }

  Result<std::unique_ptr<SqliteConn>> AcquireReader() {
    {
      std::lock_guard lock(reader_mu_);
      if (!readers_.empty()) {
        auto c = std::move(readers_.back());
        readers_.pop_back();
        return c;
      }
    }
    auto c = std::make_unique<SqliteConn>();
    if (auto s = c->Open(path_, true); !s.ok()) return s;
    return c;
  }

  void ReleaseReader(std::unique_ptr<SqliteConn> c) {
    std::lock_guard lock(reader_mu_);
    if (readers_.size() < 16) readers_.push_back(std::move(c));
  }

  std::string path_;
  std::unique_ptr<SqliteConn> writer_conn_;
  bool synced_ = true;  // synchronous=FULL is in force (set at open)
  std::unique_ptr<SqliteConn> ckpt_conn_;
  std::thread checkpointer_;
  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_wanted_ = false;
  bool ckpt_stop_ = false;
  std::atomic<bool> ckpt_pass_done_{false};  // a pass ended: the writer catches up
  std::mutex reader_mu_;
  std::vector<std::unique_ptr<SqliteConn>> readers_;
  Counter* checkpoints_ = nullptr;
  Histogram* checkpoint_latency_ = nullptr;
};


}  // namespace

Result<std::unique_ptr<Database>> OpenSqliteDatabase(const StoreOptions& options) {
  // SQLite counts every allocation under a global mutex unless told not to;
  // Writ never reads those statistics. Must precede sqlite3_initialize, so
  // it only takes effect when this is the process's first use of SQLite.
  static std::once_flag configured;
  std::call_once(configured, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  auto s = std::make_unique<SqliteDatabase>(options);
  if (auto st = s->Init(); !st.ok()) return st;
  return std::unique_ptr<Database>(std::move(s));
}

}  // namespace writ
