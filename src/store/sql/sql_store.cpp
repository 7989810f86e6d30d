#include "store/sql/sql_store.h"

#include "store/sql/jobs_sql.h"
#include "store/sql/keys.h"
#include "store/sql/queue.h"

namespace writ {

using namespace sql;  // Conn, Stmt and the shared queries

SqlStore::SqlStore(Clock* clock) : clock_(clock) {}

Status SqlStore::NotifyWork(Conn& c, const std::string& route) {
  if (!c.postgres()) return Status::Ok();  // one process: its routes wake their workers directly
  // PostgreSQL folds equal notifications of a transaction into one anyway; skip the round trip.
  if (!c.FirstInTransaction("notify:" + route)) return Status::Ok();
  auto st = c.Prepare("SELECT pg_notify('writ_work', ?1)");
  if (!st.ok()) return st.status();
  st->Bind(1, route);
  return st->Step() == kRow ? Status::Ok() : c.Error("notify");
}

Result<std::optional<IdempotencyRecord>> SqlStore::Lookup(const KeyId& id) {
  return Read<std::optional<IdempotencyRecord>>([&](Conn& c) { return SelectRecord(c, id); });
}

Result<std::vector<IdempotencyRecord>> SqlStore::List(std::optional<KeyState> state, const std::string& route,
                                                      int limit) {
  return Read<std::vector<IdempotencyRecord>>([&](Conn& c) {
    return QueryRows<IdempotencyRecord>(
        c,
        std::string("SELECT ") + kKeyColumns +
            " FROM idem_keys WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR route = ?2) "
            "ORDER BY updated_at DESC LIMIT ?3",
        [&](Stmt& s) { s.Bind(1, std::string(state ? KeyStateName(*state) : "")).Bind(2, route).Bind(3, int64_t{limit}); },
        &ReadRecord);
  });
}

Result<KeyCounts> SqlStore::Counts() {
  return Read<KeyCounts>([&](Conn& c) -> Result<KeyCounts> {
    auto st = c.Prepare("SELECT state, count(*) FROM idem_keys GROUP BY state");
    if (!st.ok()) return st.status();
    KeyCounts k;
    for (int rc; (rc = st->Step()) != kDone;) {
      if (rc != kRow) return c.Error("count keys");
      auto s = ParseKeyState(st->Text(0));
      if (s == KeyState::kInFlight) k.in_flight = st->Int(1);
      if (s == KeyState::kCompleted) k.completed = st->Int(1);
      if (s == KeyState::kUnknown) k.unknown = st->Int(1);
    }
    return k;
  });
}

Status SqlStore::Ping() {
  auto r = Read<bool>([&](Conn& c) -> Result<bool> {
    auto st = c.Prepare("SELECT 1 FROM idem_keys LIMIT 1");
    if (!st.ok()) return st.status();
    int rc = st->Step();
    if (rc != kRow && rc != kDone) return c.Error("ping");
    return true;
  });
  return r.ok() ? Status::Ok() : r.status();
}

void SqlStore::Claim(ClaimRequest req, Callback<ClaimResult> done) {
  auto out = std::make_shared<ClaimResult>();
  bool durable = req.durable;
  Submit(
      [this, req = std::move(req), out](Conn& c) -> Status {
        *out = ClaimResult{};
        Millis now = clock_->NowMs();
        // Insert-if-absent first: another instance may claim the same key at
        // the same moment; the database lets exactly one insert through.
        auto n = Change(c,
                        std::string("INSERT INTO idem_keys (") + kKeyColumns +
                            ") VALUES (?1,?2,?3,'in_flight',?4,?5,1,1,?6,?6,?7,?8,0,'',?9) "
                            "ON CONFLICT (tenant, route, key) DO NOTHING",
                        [&](Stmt& s) {
                          s.Bind(1, req.id.tenant).Bind(2, req.id.route).Bind(3, req.id.key);
                          s.Bind(4, req.fingerprint).Bind(5, req.fingerprint_detail);
                          s.Bind(6, now).Bind(7, now + req.lease).Bind(8, now + req.retention);
                          s.BindBlob(9, std::string());
                        });
        if (!n.ok()) return n.status();
        if (*n == 1) {
          out->claimed = true;
          out->fence = 1;
          return Status::Ok();
        }
        auto cur = SelectRecord(c, req.id, /*lock=*/true);
        if (!cur.ok()) return cur.status();
        if (!cur->has_value()) return Status(Code::kUnavailable, "claim: the key's record vanished; retry");
        IdempotencyRecord& rec = **cur;
        bool expired = rec.state == KeyState::kInFlight && rec.lease_until <= now;
        if (rec.fingerprint != req.fingerprint || !expired) {
          out->existing = std::move(rec);
          return Status::Ok();
        }
        if (req.park_on_takeover) {
          auto p = Change(c,
                          "UPDATE idem_keys SET state='unknown', expires_at=NULL, updated_at=?4 "
                          "WHERE tenant=?1 AND route=?2 AND key=?3",
                          [&](Stmt& s) {
                            s.Bind(1, req.id.tenant).Bind(2, req.id.route).Bind(3, req.id.key).Bind(4, now);
                          });
          if (!p.ok()) return p.status();
          rec.state = KeyState::kUnknown;
          rec.expires_at = 0;
          out->existing = std::move(rec);
          return Status::Ok();
        }
        // Take over only the lease just read: a holder that moved on wins.
        auto t = Change(c,
                        "UPDATE idem_keys SET fence=fence+1, attempts=attempts+1, lease_until=?4, "
                        "updated_at=?5 WHERE tenant=?1 AND route=?2 AND key=?3 AND fence=?6 AND state='in_flight'",
                        [&](Stmt& s) {
                          s.Bind(1, req.id.tenant).Bind(2, req.id.route).Bind(3, req.id.key);
                          s.Bind(4, now + req.lease).Bind(5, now).Bind(6, rec.fence);
                        });
        if (!t.ok()) return t.status();
        if (*t == 0) {
          out->existing = std::move(rec);
          return Status::Ok();
        }
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

void SqlStore::Complete(KeyId id, int64_t fence, StoredResponse resp, Millis retention, Callback<bool> done) {
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

void SqlStore::Release(KeyId id, int64_t fence, Callback<bool> done) {
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

void SqlStore::MarkUnknown(KeyId id, int64_t fence, Callback<bool> done) {
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

void SqlStore::Remove(KeyId id, Callback<bool> done) {
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

void SqlStore::CollectGarbage(int batch, Callback<int> done) {
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

void SqlStore::Accept(AcceptRequest req, Callback<ClaimResult> done) {
  auto out = std::make_shared<ClaimResult>();
  Submit(
      [this, req = std::move(req), out](Conn& c) -> Status {
        *out = ClaimResult{};
        Millis now = clock_->NowMs();
        if (req.has_key) {
          KeyId id{req.command.tenant, req.command.route, req.command.idem_key};
          StoredResponse ack{req.status, req.response_headers, req.response_body};
          auto inserted = InsertCompletedRecord(c, id, req.fingerprint, req.fingerprint_detail, ack, now,
                                                req.retention);
          if (!inserted.ok()) return inserted.status();
          if (!*inserted) {  // a retry, or the key reused: the caller decides
            auto cur = SelectRecord(c, id);
            if (!cur.ok()) return cur.status();
            if (!cur->has_value()) return Status(Code::kUnavailable, "accept: the key's record vanished; retry");
            out->existing = std::move(**cur);
            return Status::Ok();
          }
        }
        auto cmd = InsertCommand(c, req.command, now);
        if (!cmd.ok()) return cmd.status();
        if (auto s = InsertEvent(c, *cmd, req.notify, now); !s.ok()) return s;
        if (auto s = NotifyWork(c, req.command.route); !s.ok()) return s;
        out->claimed = true;
        return Status::Ok();
      },
      [out, done = std::move(done)](Status s) {
        if (!s.ok()) return done(s);
        done(std::move(*out));
      });
}

void SqlStore::ClaimCommands(std::string route, int limit, Millis lease, bool notify, Callback<std::vector<Command>> done) {
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

void SqlStore::ExtendLeases(std::vector<std::pair<std::string, int64_t>> held, Millis lease, Callback<int> done) {
  auto out = std::make_shared<int>(0);
  Submit(
      [this, held = std::move(held), lease, out](Conn& c) -> Status {
        auto r = sql::ExtendLeases(c, held, clock_->NowMs() + lease);
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

void SqlStore::FinishAttempt(AttemptOutcome o, Callback<bool> done) {
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

void SqlStore::Redrive(std::string id, bool notify, Callback<ActionResult> done) {
  Action([this, id = std::move(id), notify](Conn& c) { return RedriveCommand(c, id, notify, clock_->NowMs()); },
         std::move(done));
}

void SqlStore::Cancel(std::string id, bool notify, Millis retention, Callback<ActionResult> done) {
  Action([this, id = std::move(id), notify, retention](Conn& c) {
    return CancelCommand(c, id, notify, retention, clock_->NowMs());
  }, std::move(done));
}

Result<std::optional<Command>> SqlStore::GetCommand(const std::string& id) {
  return Read<std::optional<Command>>([&](Conn& c) { return SelectCommand(c, id); });
}
Result<std::vector<Command>> SqlStore::ListCommands(const CommandFilter& f) {
  return Read<std::vector<Command>>([&](Conn& c) { return SelectCommands(c, f); });
}
Result<std::vector<QueueStat>> SqlStore::QueueStats() {
  return Read<std::vector<QueueStat>>([&](Conn& c) { return SelectQueueStats(c); });
}
Result<std::vector<StatusEvent>> SqlStore::ListEvents(const std::string& submission_id, int64_t after_seq) {
  return Read<std::vector<StatusEvent>>([&](Conn& c) { return SelectEvents(c, submission_id, after_seq); });
}
Result<std::vector<StatusEvent>> SqlStore::DueEvents(int limit) {
  return Read<std::vector<StatusEvent>>([&](Conn& c) { return SelectDueEvents(c, limit, clock_->NowMs()); });
}

void SqlStore::AcceptJob(JobAcceptRequest req, Callback<JobAcceptResult> done) {
  auto out = std::make_shared<JobAcceptResult>();
  // Nothing is durable to wait for when the batch is refused, but the
  // refusal rides the same commit as everything else: simpler, and rare.
  Submit(
      [this, req = std::move(req), out](Conn& c) -> Status {
        auto r = InsertJob(c, req, clock_->NowMs());
        if (!r.ok()) return r.status();
        if (r->status == JobAcceptStatus::kAccepted && r->summary.accepted > 0) {
          if (auto s = NotifyWork(c, req.route); !s.ok()) return s;
        }
        *out = std::move(*r);
        return Status::Ok();
      },
      [out, done = std::move(done)](Status s) {
        if (!s.ok()) return done(s);
        done(std::move(*out));
      });
}

Result<std::optional<Job>> SqlStore::GetJob(const std::string& id) {
  return Read<std::optional<Job>>([&](Conn& c) { return SelectJob(c, id); });
}
Result<std::vector<Job>> SqlStore::ListJobs(const JobFilter& f) {
  return Read<std::vector<Job>>([&](Conn& c) { return SelectJobs(c, f); });
}
Result<BufferState> SqlStore::GetBuffer(const std::string& route) {
  return Read<BufferState>([&](Conn& c) { return SelectBuffer(c, route); });
}

void SqlStore::ReplayJob(std::string id, Callback<int64_t> done) {
  auto out = std::make_shared<int64_t>(0);
  Submit(
      [this, id = std::move(id), out](Conn& c) -> Status {
        *out = 0;
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

void SqlStore::SetPaused(std::string route, bool paused, Callback<bool> done) {
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

void SqlStore::MarkEvent(int64_t seq, bool delivered, Millis next_at, std::string error, Callback<bool> done) {
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

std::function<void(Status)> SqlStore::ChangedCallback(std::shared_ptr<int> changed, Callback<bool> done) {
  return [changed, done = std::move(done)](Status s) {
    if (!s.ok()) return done(s);
    done(*changed > 0);
  };
}

void SqlStore::Action(std::function<Result<ActionResult>(Conn&)> fn, Callback<ActionResult> done) {
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

}  // namespace writ
