#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "metrics/metrics.h"

namespace writ {
namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS idem_keys (
  id INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  key TEXT NOT NULL,
  state TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  fingerprint_detail TEXT NOT NULL,
  fence INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL,
  expires_at INTEGER,
  status INTEGER NOT NULL DEFAULT 0,
  headers TEXT NOT NULL DEFAULT '',  -- "Name: value\n" lines
  body BLOB NOT NULL DEFAULT x''
);
CREATE UNIQUE INDEX IF NOT EXISTS idem_keys_scope ON idem_keys(tenant, route, key);
CREATE INDEX IF NOT EXISTS idem_keys_expiry ON idem_keys(expires_at) WHERE expires_at IS NOT NULL;
-- No index on state: listing by state is an operator query and may scan;
-- every write would pay for keeping such an index.
)sql";

constexpr const char* kColumns =
    "tenant, route, key, state, fingerprint, fingerprint_detail, fence, attempts, created_at, "
    "updated_at, lease_until, expires_at, status, headers, body";

Status SqlError(sqlite3* db, const std::string& what) {
  return Status(Code::kUnavailable, what + ": " + sqlite3_errmsg(db));
}

// A prepared statement, reset on destruction so it can be reused.
class Stmt {
 public:
  Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindBlob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& BindNull(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  int Step() { return sqlite3_step(s_); }
  int64_t Int(int c) { return sqlite3_column_int64(s_, c); }
  bool IsNull(int c) { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  std::string Text(int c) {
    auto* p = static_cast<const char*>(sqlite3_column_blob(s_, c));
    return p ? std::string(p, sqlite3_column_bytes(s_, c)) : std::string();
  }

 private:
  sqlite3_stmt* s_;
};

// One SQLite connection with its statement cache. Not thread-safe.
class Conn {
 public:
  ~Conn() {
    for (auto& [sql, s] : cache_) sqlite3_finalize(s);
    if (db_) sqlite3_close(db_);
  }

  Status Open(const std::string& path, bool read_only) {
    int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    flags |= SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK)
      return SqlError(db_, "open " + path);
    sqlite3_busy_timeout(db_, 5000);
    return Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  }

  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      Status s(Code::kUnavailable, std::string(sql).substr(0, 60) + ": " + (err ? err : "?"));
      sqlite3_free(err);
      return s;
    }
    return Status::Ok();
  }

  Result<Stmt> Prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
        return SqlError(db_, "prepare");
      it = cache_.emplace(sql, s).first;
    }
    return Stmt(it->second);
  }

  sqlite3* db() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*> cache_;
};

// Stored headers: "Name: value" lines. Names never hold ':' and values never
// hold line breaks (the HTTP parsers refuse both), so no escaping is needed.
std::string HeadersToText(const Headers& h) {
  std::string out;
  for (const auto& [k, v] : h) {
    out += k;
    out += ": ";
    out += v;
    out += '\n';
  }
  return out;
}

Headers HeadersFromText(const std::string& s) {
  Headers h;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find('\n', pos);
    if (end == std::string::npos) end = s.size();
    size_t colon = s.find(": ", pos);
    if (colon != std::string::npos && colon < end) h.emplace_back(s.substr(pos, colon - pos), s.substr(colon + 2, end - colon - 2));
    pos = end + 1;
  }
  return h;
}

IdempotencyRecord ReadRecord(Stmt& s) {
  IdempotencyRecord r;
  r.id = {s.Text(0), s.Text(1), s.Text(2)};
  r.state = ParseKeyState(s.Text(3)).value_or(KeyState::kInFlight);
  r.fingerprint = s.Text(4);
  r.fingerprint_detail = s.Text(5);
  r.fence = s.Int(6);
  r.attempts = static_cast<int>(s.Int(7));
  r.created_at = s.Int(8);
  r.updated_at = s.Int(9);
  r.lease_until = s.Int(10);
  r.expires_at = s.IsNull(11) ? 0 : s.Int(11);
  r.response.status = static_cast<int>(s.Int(12));
  r.response.headers = HeadersFromText(s.Text(13));
  r.response.body = s.Text(14);
  return r;
}

Result<std::optional<IdempotencyRecord>> SelectRecord(Conn& c, const KeyId& id) {
  auto st = c.Prepare(std::string("SELECT ") + kColumns +
                      " FROM idem_keys WHERE tenant=?1 AND route=?2 AND key=?3");
  if (!st.ok()) return st.status();
  st->Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key);
  int rc = st->Step();
  if (rc == SQLITE_ROW) return std::optional<IdempotencyRecord>(ReadRecord(*st));
  if (rc == SQLITE_DONE) return std::optional<IdempotencyRecord>();
  return SqlError(c.db(), "select key");
}

// Runs an UPDATE/DELETE; returns the number of changed rows.
template <typename BindFn>
Result<int> Change(Conn& c, const std::string& sql, BindFn bind) {
  auto st = c.Prepare(sql);
  if (!st.ok()) return st.status();
  bind(*st);
  if (st->Step() != SQLITE_DONE) return SqlError(c.db(), "write");
  return sqlite3_changes(c.db());
}

class SqliteStore : public Store {
 public:
  explicit SqliteStore(const StoreOptions& o) : opts_(o), clock_(o.clock) {
    if (o.metrics) {
      commit_latency_ = &o.metrics->GetHistogram("writ_store_commit_seconds",
                                                 "Group commit latency including fsync", LatencyBuckets());
      batch_size_ = &o.metrics->GetHistogram("writ_store_commit_batch_size",
                                             "Operations sharing one commit", SizeBuckets());
      commit_errors_ = &o.metrics->GetCounter("writ_store_commit_errors_total", "Failed group commits");
    }
  }

  ~SqliteStore() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  Status Init() {
    path_ = opts_.url.substr(7);
    if (!opts_.read_only) {
      std::error_code ec;
      auto parent = std::filesystem::path(path_).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
      if (ec) return Status(Code::kUnavailable, "cannot create " + parent.string() + ": " + ec.message());
    }
    writer_conn_ = std::make_unique<Conn>();
    if (auto s = writer_conn_->Open(path_, opts_.read_only); !s.ok()) return s;
    if (!opts_.read_only) {
      if (auto s = writer_conn_->Exec("PRAGMA journal_mode=WAL;"); !s.ok()) return s;
      if (auto s = Migrate(); !s.ok()) return s;
      writer_ = std::thread([this] { WriterLoop(); });
    }
    return Status::Ok();
  }

  Result<std::optional<IdempotencyRecord>> Lookup(const KeyId& id) override {
    auto c = AcquireReader();
    if (!c.ok()) return c.status();
    auto r = SelectRecord(**c, id);
    ReleaseReader(std::move(*c));
    return r;
  }

  void Claim(ClaimRequest req, Callback<ClaimResult> done) override {
    auto out = std::make_shared<ClaimResult>();
    bool durable = req.durable;
    Submit(
        [this, req = std::move(req), out](Conn& c) -> Status {
          Millis now = clock_->NowMs();
          auto cur = SelectRecord(c, req.id);
          if (!cur.ok()) return cur.status();
          if (!cur->has_value()) {
            auto n = Change(c,
                            std::string("INSERT INTO idem_keys (") + kColumns +
                                ") VALUES (?1,?2,?3,'in_flight',?4,?5,1,1,?6,?6,?7,?8,0,'',x'')",
                            [&](Stmt& s) {
                              s.Bind(1, req.id.tenant).Bind(2, req.id.route).Bind(3, req.id.key);
                              s.Bind(4, req.fingerprint).Bind(5, req.fingerprint_detail);
                              s.Bind(6, now).Bind(7, now + req.lease).Bind(8, now + req.retention);
                            });
            if (!n.ok()) return n.status();
            out->claimed = true;
            out->fence = 1;
            return Status::Ok();
          }
          IdempotencyRecord& rec = **cur;
          bool expired = rec.state == KeyState::kInFlight && rec.lease_until <= now;
          if (rec.fingerprint != req.fingerprint || !expired) {
            out->existing = std::move(rec);
            return Status::Ok();
          }
          if (req.park_on_takeover) {
            auto n = Change(c,
                            "UPDATE idem_keys SET state='unknown', expires_at=NULL, updated_at=?4 "
                            "WHERE tenant=?1 AND route=?2 AND key=?3",
                            [&](Stmt& s) {
                              s.Bind(1, req.id.tenant).Bind(2, req.id.route).Bind(3, req.id.key).Bind(4, now);
                            });
            if (!n.ok()) return n.status();
            rec.state = KeyState::kUnknown;
            rec.expires_at = 0;
            out->existing = std::move(rec);
            return Status::Ok();
          }
          auto n = Change(c,
                          "UPDATE idem_keys SET fence=fence+1, attempts=attempts+1, lease_until=?4, "
                          "updated_at=?5 WHERE tenant=?1 AND route=?2 AND key=?3",
                          [&](Stmt& s) {
                            s.Bind(1, req.id.tenant).Bind(2, req.id.route).Bind(3, req.id.key);
                            s.Bind(4, now + req.lease).Bind(5, now);
                          });
          if (!n.ok()) return n.status();
          out->claimed = true;
          out->took_over = true;
          out->fence = rec.fence + 1;
          return Status::Ok();
        },
        [out, done = std::move(done)](Status s) {
          if (!s.ok()) return done(s);
          done(std::move(*out));
        },
        durable);
  }

  void Complete(KeyId id, int64_t fence, StoredResponse resp, Millis retention, Callback<bool> done) override {
    auto changed = std::make_shared<int>(0);
    Submit(
        [this, id = std::move(id), fence, resp = std::move(resp), retention, changed](Conn& c) -> Status {
          Millis now = clock_->NowMs();
          auto n = Change(c,
                          "UPDATE idem_keys SET state='completed', status=?5, headers=?6, body=?7, "
                          "updated_at=?8, expires_at=?9 WHERE tenant=?1 AND route=?2 AND key=?3 "
                          "AND fence=?4 AND state='in_flight'",
                          [&](Stmt& s) {
                            s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key).Bind(4, fence);
                            s.Bind(5, static_cast<int64_t>(resp.status)).Bind(6, HeadersToText(resp.headers));
                            s.BindBlob(7, resp.body).Bind(8, now).Bind(9, now + retention);
                          });
          if (!n.ok()) return n.status();
          *changed = *n;
          return Status::Ok();
        },
        ChangedCallback(changed, std::move(done)));
  }

  void Release(KeyId id, int64_t fence, Callback<bool> done) override {
    auto changed = std::make_shared<int>(0);
    Submit(
        [id = std::move(id), fence, changed](Conn& c) -> Status {
          auto n = Change(c,
                          "DELETE FROM idem_keys WHERE tenant=?1 AND route=?2 AND key=?3 AND fence=?4 "
                          "AND state='in_flight'",
                          [&](Stmt& s) { s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key).Bind(4, fence); });
          if (!n.ok()) return n.status();
          *changed = *n;
          return Status::Ok();
        },
        ChangedCallback(changed, std::move(done)), /*durable=*/false);
  }

  void MarkUnknown(KeyId id, int64_t fence, Callback<bool> done) override {
    auto changed = std::make_shared<int>(0);
    Submit(
        [this, id = std::move(id), fence, changed](Conn& c) -> Status {
          auto n = Change(c,
                          "UPDATE idem_keys SET state='unknown', expires_at=NULL, updated_at=?5 "
                          "WHERE tenant=?1 AND route=?2 AND key=?3 AND fence=?4 AND state='in_flight'",
                          [&](Stmt& s) {
                            s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key).Bind(4, fence);
                            s.Bind(5, clock_->NowMs());
                          });
          if (!n.ok()) return n.status();
          *changed = *n;
          return Status::Ok();
        },
        ChangedCallback(changed, std::move(done)));
  }

  void Remove(KeyId id, Callback<bool> done) override {
    auto changed = std::make_shared<int>(0);
    Submit(
        [id = std::move(id), changed](Conn& c) -> Status {
          auto n = Change(c, "DELETE FROM idem_keys WHERE tenant=?1 AND route=?2 AND key=?3",
                          [&](Stmt& s) { s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key); });
          if (!n.ok()) return n.status();
          *changed = *n;
          return Status::Ok();
        },
        ChangedCallback(changed, std::move(done)));
  }

  void CollectGarbage(int batch, Callback<int> done) override {
    auto deleted = std::make_shared<int>(0);
    Submit(
        [this, batch, deleted](Conn& c) -> Status {
          Millis now = clock_->NowMs();
          // Never delete an in-flight record whose holder still has a lease.
          auto n = Change(c,
                          "DELETE FROM idem_keys WHERE id IN (SELECT id FROM idem_keys "
                          "WHERE expires_at IS NOT NULL AND expires_at <= ?1 "
                          "AND (state != 'in_flight' OR lease_until <= ?1) LIMIT ?2)",
                          [&](Stmt& s) { s.Bind(1, now).Bind(2, static_cast<int64_t>(batch)); });
          if (!n.ok()) return n.status();
          *deleted = *n;
          return Status::Ok();
        },
        [deleted, done = std::move(done)](Status s) {
          if (!s.ok()) return done(s);
          done(*deleted);
        });
  }

  Result<std::vector<IdempotencyRecord>> List(std::optional<KeyState> state, const std::string& route,
                                              int limit) override {
    auto c = AcquireReader();
    if (!c.ok()) return c.status();
    std::vector<IdempotencyRecord> out;
    {
      auto st = (*c)->Prepare(std::string("SELECT ") + kColumns +
                              " FROM idem_keys WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR route = ?2) "
                              "ORDER BY updated_at DESC LIMIT ?3");
      if (!st.ok()) return st.status();
      st->Bind(1, std::string(state ? KeyStateName(*state) : "")).Bind(2, route).Bind(3, int64_t{limit});
      while (st->Step() == SQLITE_ROW) out.push_back(ReadRecord(*st));
    }
    ReleaseReader(std::move(*c));
    return out;
  }

  Result<KeyCounts> Counts() override {
    auto c = AcquireReader();
    if (!c.ok()) return c.status();
    KeyCounts k;
    {
      auto st = (*c)->Prepare("SELECT state, count(*) FROM idem_keys GROUP BY state");
      if (!st.ok()) return st.status();
      while (st->Step() == SQLITE_ROW) {
        auto s = ParseKeyState(st->Text(0));
        if (s == KeyState::kInFlight) k.in_flight = st->Int(1);
        if (s == KeyState::kCompleted) k.completed = st->Int(1);
        if (s == KeyState::kUnknown) k.unknown = st->Int(1);
      }
    }
    ReleaseReader(std::move(*c));
    return k;
  }

  Status Ping() override {
    auto c = AcquireReader();
    if (!c.ok()) return c.status();
    Status s = Status::Ok();
    {
      auto st = (*c)->Prepare("SELECT 1 FROM idem_keys LIMIT 1");
      if (!st.ok()) return st.status();
      int rc = st->Step();
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) s = SqlError((*c)->db(), "ping");
    }
    ReleaseReader(std::move(*c));
    return s;
  }

  Millis Now() const override { return clock_->NowMs(); }

 private:
  struct Op {
    std::function<Status(Conn&)> work;
    std::function<void(Status)> done;
    bool durable = true;
  };

  static std::function<void(Status)> ChangedCallback(std::shared_ptr<int> changed, Callback<bool> done) {
    return [changed, done = std::move(done)](Status s) {
      if (!s.ok()) return done(s);
      done(*changed > 0);
    };
  }

  Status Migrate() {
    auto st = writer_conn_->Prepare("PRAGMA user_version");
    if (!st.ok()) return st.status();
    int64_t v = st->Step() == SQLITE_ROW ? st->Int(0) : 0;
    if (v > kSchemaVersion)
      return Status(Code::kInvalidArgument, "store schema version " + std::to_string(v) +
                                                " is newer than this writ (" + std::to_string(kSchemaVersion) +
                                                "); upgrade writ");
    if (v == kSchemaVersion) return Status::Ok();
    if (auto s = writer_conn_->Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    if (auto s = writer_conn_->Exec(kSchema); !s.ok()) {
      (void)writer_conn_->Exec("ROLLBACK");
      return s;
    }
    std::string set = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
    if (auto s = writer_conn_->Exec(set.c_str()); !s.ok()) return s;
    return writer_conn_->Exec("COMMIT");
  }

  void Submit(std::function<Status(Conn&)> work, std::function<void(Status)> done, bool durable = true) {
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

  // The group commit loop: take everything queued (up to max_batch), run it in
  // one transaction, commit once, then tell every caller.
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
      results.assign(batch.size(), Status::Ok());
      if (commit.ok()) {
        // Operations fail only when the database does (I/O, full disk): then
        // the whole batch is rolled back and every caller told.
        for (size_t i = 0; i < batch.size() && commit.ok(); ++i) {
          results[i] = batch[i].work(*writer_conn_);
          if (!results[i].ok()) commit = results[i];
        }
        if (commit.ok()) commit = writer_conn_->Exec("COMMIT");
        if (!commit.ok()) (void)writer_conn_->Exec("ROLLBACK");
      }
      if (commit_latency_) {
        commit_latency_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        batch_size_->Observe(static_cast<double>(batch.size()));
        if (!commit.ok()) commit_errors_->Inc();
      }
      for (size_t i = 0; i < batch.size(); ++i) batch[i].done(commit.ok() ? results[i] : commit);
      batch.clear();
    }
  }

  Result<std::unique_ptr<Conn>> AcquireReader() {
    {
      std::lock_guard lock(reader_mu_);
      if (!readers_.empty()) {
        auto c = std::move(readers_.back());
        readers_.pop_back();
        return c;
      }
    }
    auto c = std::make_unique<Conn>();
    if (auto s = c->Open(path_, true); !s.ok()) return s;
    return c;
  }

  void ReleaseReader(std::unique_ptr<Conn> c) {
    std::lock_guard lock(reader_mu_);
    if (readers_.size() < 16) readers_.push_back(std::move(c));
  }

  StoreOptions opts_;
  Clock* clock_;
  std::string path_;
  std::unique_ptr<Conn> writer_conn_;
  std::thread writer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;
  bool stop_ = false;
  bool synced_ = true;  // synchronous=FULL is in force (set at open)
  std::mutex reader_mu_;
  std::vector<std::unique_ptr<Conn>> readers_;
  Histogram* commit_latency_ = nullptr;
  Histogram* batch_size_ = nullptr;
  Counter* commit_errors_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options) {
  auto s = std::make_unique<SqliteStore>(options);
  if (auto st = s->Init(); !st.ok()) return st;
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace writ
