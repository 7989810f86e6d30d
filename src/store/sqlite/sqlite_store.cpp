#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include "store/sqlite/sqlite_conn.h"
#include "store/sqlite/sqlite_commands.h"
#include "store/sqlite/sqlite_jobs.h"

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

using namespace sqlite;  // Conn, Stmt and helpers (sqlite_conn.h)

// 1: idempotency records; 2: command queue and status events; 3: buffered jobs.
constexpr int kSchemaVersion = 3;

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

}  // namespace

namespace sqlite {

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

Status InsertCompletedRecord(Conn& c, const KeyId& id, const std::string& fingerprint, const std::string& detail,
                             const StoredResponse& response, Millis now, Millis retention) {
  auto n = Change(c,
                  std::string("INSERT INTO idem_keys (") + kColumns +
                      ") VALUES (?1,?2,?3,'completed',?4,?5,1,1,?6,?6,0,?7,?8,?9,?10)",
                  [&](Stmt& s) {
                    s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key);
                    s.Bind(4, fingerprint).Bind(5, detail);
                    s.Bind(6, now).Bind(7, now + retention).Bind(8, int64_t{response.status});
                    s.Bind(9, HeadersToText(response.headers)).BindBlob(10, response.body);
                  });
  return n.ok() ? Status::Ok() : n.status();
}

}  // namespace sqlite

namespace {

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
          auto commands = DeleteExpiredCommands(c, batch, now);
          if (!commands.ok()) return commands.status();
          auto jobs = DeleteExpiredJobs(c, batch, now);
          if (!jobs.ok()) return jobs.status();
          *deleted = *n + *commands + *jobs;
          return Status::Ok();
        },
        [deleted, done = std::move(done)](Status s) {
          if (!s.ok()) return done(s);
          done(*deleted);
        },
        // Deletions need no fsync of their own: lost in a crash, the next
        // round deletes the same rows again.
        /*durable=*/false);
  }

  void Accept(AcceptRequest req, Callback<ClaimResult> done) override {
    auto out = std::make_shared<ClaimResult>();
    Submit(
        [this, req = std::move(req), out](Conn& c) -> Status {
          Millis now = clock_->NowMs();
          if (req.has_key) {
            KeyId id{req.command.tenant, req.command.route, req.command.idem_key};
            auto cur = SelectRecord(c, id);
            if (!cur.ok()) return cur.status();
            if (cur->has_value()) {  // a retry, or the key reused: the caller decides
              out->existing = std::move(**cur);
              return Status::Ok();
            }
            StoredResponse ack{req.status, req.response_headers, req.response_body};
            if (auto s = InsertCompletedRecord(c, id, req.fingerprint, req.fingerprint_detail, ack, now,
                                               req.retention);
                !s.ok())
              return s;
          }
          auto cmd = InsertCommand(c, req.command, now);
          if (!cmd.ok()) return cmd.status();
          if (auto s = InsertEvent(c, *cmd, req.notify, now); !s.ok()) return s;
          out->claimed = true;
          return Status::Ok();
        },
        [out, done = std::move(done)](Status s) {
          if (!s.ok()) return done(s);
          done(std::move(*out));
        });
  }

  void ClaimCommands(std::string route, int limit, Millis lease, bool notify, Callback<std::vector<Command>> done) override {
    auto out = std::make_shared<std::vector<Command>>();
    Submit(
        [this, route = std::move(route), limit, lease, notify, out](Conn& c) -> Status {
          auto r = ClaimDue(c, route, limit, lease, notify, clock_->NowMs());
          if (!r.ok()) return r.status();
          *out = std::move(*r);
          return Status::Ok();
        },
        [out, done = std::move(done)](Status s) {
          if (!s.ok()) return done(s);
          done(std::move(*out));
        },
        /*durable=*/false);
  }

  void ExtendLeases(std::vector<std::pair<std::string, int64_t>> held, Millis lease, Callback<int> done) override {
    auto out = std::make_shared<int>(0);
    Submit(
        [this, held = std::move(held), lease, out](Conn& c) -> Status {
          auto r = sqlite::ExtendLeases(c, held, clock_->NowMs() + lease);
          if (!r.ok()) return r.status();
          *out = *r;
          return Status::Ok();
        },
        [out, done = std::move(done)](Status s) {
          if (!s.ok()) return done(s);
          done(*out);
        },
        /*durable=*/false);
  }

  void FinishAttempt(AttemptOutcome o, Callback<bool> done) override {
    auto changed = std::make_shared<int>(0);
    // A retry schedule may wait for the next durable commit: if lost, the
    // lease expires and the command is simply attempted again.
    bool durable = IsTerminal(o.status);
    Submit(
        [this, o = std::move(o), changed](Conn& c) -> Status {
          auto r = ApplyOutcome(c, o, clock_->NowMs());
          if (!r.ok()) return r.status();
          *changed = *r ? 1 : 0;
          return Status::Ok();
        },
        ChangedCallback(changed, std::move(done)), durable);
  }

  void Redrive(std::string id, bool notify, Callback<ActionResult> done) override {
    Action([this, id = std::move(id), notify](Conn& c) { return RedriveCommand(c, id, notify, clock_->NowMs()); },
           std::move(done));
  }

  void Cancel(std::string id, bool notify, Millis retention, Callback<ActionResult> done) override {
    Action([this, id = std::move(id), notify, retention](Conn& c) {
      return CancelCommand(c, id, notify, retention, clock_->NowMs());
    }, std::move(done));
  }

  Result<std::optional<Command>> GetCommand(const std::string& id) override {
    return Read<std::optional<Command>>([&](Conn& c) { return SelectCommand(c, id); });
  }
  Result<std::vector<Command>> ListCommands(const CommandFilter& f) override {
    return Read<std::vector<Command>>([&](Conn& c) { return SelectCommands(c, f); });
  }
  Result<std::vector<QueueStat>> QueueStats() override {
    return Read<std::vector<QueueStat>>([&](Conn& c) { return SelectQueueStats(c); });
  }
  Result<std::vector<StatusEvent>> ListEvents(const std::string& submission_id, int64_t after_seq) override {
    return Read<std::vector<StatusEvent>>([&](Conn& c) { return SelectEvents(c, submission_id, after_seq); });
  }
  Result<std::vector<StatusEvent>> DueEvents(int limit) override {
    return Read<std::vector<StatusEvent>>([&](Conn& c) { return SelectDueEvents(c, limit, clock_->NowMs()); });
  }

  void AcceptJob(JobAcceptRequest req, Callback<JobAcceptResult> done) override {
    auto out = std::make_shared<JobAcceptResult>();
    // Nothing is durable to wait for when the batch is refused, but the
    // refusal rides the same commit as everything else: simpler, and rare.
    Submit(
        [this, req = std::move(req), out](Conn& c) -> Status {
          auto r = InsertJob(c, req, clock_->NowMs());
          if (!r.ok()) return r.status();
          *out = std::move(*r);
          return Status::Ok();
        },
        [out, done = std::move(done)](Status s) {
          if (!s.ok()) return done(s);
          done(std::move(*out));
        });
  }

  Result<std::optional<Job>> GetJob(const std::string& id) override {
    return Read<std::optional<Job>>([&](Conn& c) { return SelectJob(c, id); });
  }
  Result<std::vector<Job>> ListJobs(const JobFilter& f) override {
    return Read<std::vector<Job>>([&](Conn& c) { return SelectJobs(c, f); });
  }
  Result<BufferState> GetBuffer(const std::string& route) override {
    return Read<BufferState>([&](Conn& c) { return SelectBuffer(c, route); });
  }

  void ReplayJob(std::string id, Callback<int64_t> done) override {
    auto out = std::make_shared<int64_t>(0);
    Submit(
        [this, id = std::move(id), out](Conn& c) -> Status {
          auto items = SelectReplayableItems(c, id);
          if (!items.ok()) return items.status();
          Millis now = clock_->NowMs();
          for (const auto& item : *items) {
            auto r = RedriveCommand(c, item, false, now);
            if (!r.ok()) return r.status();
            auto cur = SelectCommand(c, item);
            if (!cur.ok()) return cur.status();
            if (cur->has_value() && (*cur)->status == SubmissionStatus::kAccepted) ++*out;
          }
          return Status::Ok();
        },
        [out, done = std::move(done)](Status s) {
          if (!s.ok()) return done(s);
          done(*out);
        });
  }

  void SetPaused(std::string route, bool paused, Callback<bool> done) override {
    auto out = std::make_shared<int>(0);
    Submit(
        [route = std::move(route), paused, out](Conn& c) -> Status {
          auto r = UpdatePaused(c, route, paused);
          if (!r.ok()) return r.status();
          *out = 1;
          return Status::Ok();
        },
        ChangedCallback(out, std::move(done)));
  }

  void MarkEvent(int64_t seq, bool delivered, Millis next_at, std::string error, Callback<bool> done) override {
    auto changed = std::make_shared<int>(0);
    Submit(
        [this, seq, delivered, next_at, error = std::move(error), changed](Conn& c) -> Status {
          auto r = UpdateEvent(c, seq, delivered, next_at, error, clock_->NowMs());
          if (!r.ok()) return r.status();
          *changed = *r ? 1 : 0;
          return Status::Ok();
        },
        ChangedCallback(changed, std::move(done)), /*durable=*/delivered);
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

  // Runs a read on a pooled reader connection.
  template <typename T, typename F>
  Result<T> Read(F&& fn) {
    auto c = AcquireReader();
    if (!c.ok()) return c.status();
    Result<T> r = fn(**c);
    ReleaseReader(std::move(*c));
    return r;
  }

  template <typename F>
  void Action(F fn, Callback<ActionResult> done) {
    auto out = std::make_shared<ActionResult>(ActionResult::kNotFound);
    Submit(
        [fn = std::move(fn), out](Conn& c) -> Status {
          auto r = fn(c);
          if (!r.ok()) return r.status();
          *out = *r;
          return Status::Ok();
        },
        [out, done = std::move(done)](Status s) {
          if (!s.ok()) return done(s);
          done(*out);
        });
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
    // Each version's statements, applied in order from the store's version.
    const char* steps[] = {kSchema, kCommandsSchema, kJobsSchema};
    for (int64_t i = v; i < kSchemaVersion; ++i) {
      if (auto s = writer_conn_->Exec(steps[i]); !s.ok()) {
        (void)writer_conn_->Exec("ROLLBACK");
        return s;
      }
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
  // SQLite counts every allocation under a global mutex unless told not to;
  // Writ never reads those statistics. Must precede sqlite3_initialize, so
  // it only takes effect when this is the process's first use of SQLite.
  static std::once_flag configured;
  std::call_once(configured, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  auto s = std::make_unique<SqliteStore>(options);
  if (auto st = s->Init(); !st.ok()) return st;
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace writ
