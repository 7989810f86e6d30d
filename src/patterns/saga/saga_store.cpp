#include "patterns/saga/saga_store.h"

#include <boost/json.hpp>

#include "core/hash.h"
#include "core/json.h"
#include "store/command_queue.h"
#include "store/sql/conn.h"
#include "store/sql/keys.h"
#include "store/sql/queue.h"

namespace writ {

using namespace sql;  // Conn, Stmt, Change, QueryRows
namespace json = boost::json;

namespace {

const char* const kSqliteSchema = R"sql(
CREATE TABLE IF NOT EXISTS sagas (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  idem_key TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,                   -- running, compensating, succeeded, compensated, compensation_failed, cancelled
  step INTEGER NOT NULL DEFAULT 0,        -- the step run or compensated
  pivot_passed INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  cancelled INTEGER NOT NULL DEFAULT 0,
  context TEXT NOT NULL,                  -- {"input": ..., "steps": {name: {status, body}}}
  applied TEXT NOT NULL DEFAULT '[]',     -- indexes of the steps applied (or maybe), in order
  reason TEXT NOT NULL DEFAULT '',
  command_id TEXT NOT NULL DEFAULT '',    -- the request in flight
  command_step TEXT NOT NULL DEFAULT '',
  command_compensation INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sagas_command ON sagas(command_id) WHERE command_id != '';
CREATE INDEX IF NOT EXISTS sagas_route_status ON sagas(route, status, seq);
CREATE TABLE IF NOT EXISTS saga_attempts (
  seq INTEGER PRIMARY KEY,
  saga_id TEXT NOT NULL,
  step TEXT NOT NULL,
  compensation INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  status INTEGER NOT NULL,
  outcome TEXT NOT NULL,                  -- succeeded, refused, spent, retry
  error TEXT NOT NULL DEFAULT '',
  command_id TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS saga_attempts_of ON saga_attempts(saga_id, seq);
)sql";

const char* const kPostgresSchema = R"sql(
CREATE TABLE IF NOT EXISTS sagas (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  idem_key TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  step BIGINT NOT NULL DEFAULT 0,
  pivot_passed BIGINT NOT NULL DEFAULT 0,
  cancel_requested BIGINT NOT NULL DEFAULT 0,
  cancelled BIGINT NOT NULL DEFAULT 0,
  context TEXT NOT NULL,
  applied TEXT NOT NULL DEFAULT '[]',
  reason TEXT NOT NULL DEFAULT '',
  command_id TEXT NOT NULL DEFAULT '',
  command_step TEXT NOT NULL DEFAULT '',
  command_compensation BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sagas_command ON sagas(command_id) WHERE command_id != '';
CREATE INDEX IF NOT EXISTS sagas_route_status ON sagas(route, status, seq);
CREATE TABLE IF NOT EXISTS saga_attempts (
  seq BIGSERIAL PRIMARY KEY,
  saga_id TEXT NOT NULL,
  step TEXT NOT NULL,
  compensation BIGINT NOT NULL,
  attempt BIGINT NOT NULL,
  status BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  command_id TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS saga_attempts_of ON saga_attempts(saga_id, seq);
)sql";

constexpr const char* kColumns =
    "id, tenant, route, idem_key, status, step, pivot_passed, cancel_requested, cancelled, context, applied, reason, "
    "command_id, created_at, updated_at, finished_at, expires_at, command_step, command_compensation";

Saga ReadSaga(Stmt& s) {
  Saga g;
  g.id = s.Text(0);
  g.tenant = s.Text(1);
  g.route = s.Text(2);
  g.idem_key = s.Text(3);
  g.state.status = ParseSagaStatus(s.Text(4)).value_or(SagaStatus::kRunning);
  g.state.step = static_cast<int>(s.Int(5));
  g.state.pivot_passed = s.Int(6) != 0;
  g.state.cancel_requested = s.Int(7) != 0;
  g.state.cancelled = s.Int(8) != 0;
  auto context = ParseJsonStrict(s.Text(9));
  g.state.context = context.ok() ? *context : json::value(json::object{});
  auto applied = ParseJsonStrict(s.Text(10));
  if (applied.ok() && applied->is_array())
    for (const auto& x : applied->as_array())
      if (x.is_int64()) g.state.applied.push_back(static_cast<int>(x.as_int64()));
  g.state.reason = s.Text(11);
  g.command_id = s.Text(12);
  g.created_at = s.Int(13);
  g.updated_at = s.Int(14);
  g.finished_at = s.Int(15);
  g.expires_at = s.Int(16);
  g.command_step = s.Text(17);
  g.command_compensation = s.Int(18) != 0;
  g.state.recovering =
      g.state.status == SagaStatus::kCompensating && !g.command_id.empty() && !g.command_compensation;
  return g;
}

std::string AppliedText(const std::vector<int>& applied) {
  json::array a;
  for (int i : applied) a.push_back(i);
  return json::serialize(a);
}

// `lock`: in a write transaction, the row is locked until it ends
// (PostgreSQL; SQLite's one writer serializes them anyway), so that a
// step's outcome and a cancel from another instance never overwrite each
// other.
Result<std::optional<Saga>> SelectSaga(Conn& c, const char* where, const std::string& value, bool lock = false) {
  auto rows = QueryRows<Saga>(
      c, std::string("SELECT ") + kColumns + " FROM sagas WHERE " + where + (lock && c.postgres() ? " FOR UPDATE" : ""),
      [&](Stmt& s) { s.Bind(1, value); }, &ReadSaga);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<Saga>();
  return std::optional<Saga>(std::move(rows->front()));
}

// The saga, locked for the rest of the write transaction.
Result<Saga> MustSaga(Conn& c, const std::string& id) {
  auto s = SelectSaga(c, "id=?1", id, true);
  if (!s.ok()) return s.status();
  if (!s->has_value()) return Status(Code::kNotFound, "no saga '" + id + "'");
  return std::move(**s);
}

// Queues `a` for saga `g` (a new command, due at once or after the pause of
// a request sent once more) and points the saga at it (Save writes that).
Status Send(Conn& c, Saga& g, const SagaAction& a, const SagaQueue& q, EventSinks notify, Millis now) {
  Command cmd;
  cmd.id = TimeOrderedId("sub_", now);
  cmd.tenant = g.tenant;
  const SagaQueue::Target& to = q.For(a.step);
  cmd.route = to.route;
  cmd.ordering_key = g.id;
  cmd.method = a.method;
  cmd.target = to.base_path + a.path;
  cmd.body = a.body;
  cmd.headers = q.headers;
  cmd.upstream_key = q.upstream_key ? q.upstream_key(g.id, a.key()) : g.id + "/" + a.key();
  auto queued = CommandQueue::Enqueue(c, std::move(cmd), notify, now, a.again ? now + q.again_delay : 0);
  if (!queued.ok()) return queued.status();
  g.command_id = queued->id;  // written by Save, which follows every Send
  g.command_step = a.step;
  g.command_compensation = a.compensation;
  return Status::Ok();
}

// Writes the saga's state (and, when the action is no request, leaves it
// waiting on nothing).
Status Save(Conn& c, Saga& g, bool waiting, Millis now, Millis retention) {
  g.updated_at = now;
  if (SagaTerminal(g.state.status) && g.finished_at == 0) g.finished_at = now;
  if (!SagaTerminal(g.state.status)) g.finished_at = 0;
  // Ended sagas expire; a parked one waits for its operator.
  bool ended = SagaTerminal(g.state.status) && g.state.status != SagaStatus::kCompensationFailed;
  g.expires_at = ended && retention > 0 ? g.finished_at + retention : 0;
  if (!waiting) g.command_id.clear();
  auto n = Change(c,
                  "UPDATE sagas SET status=?2, step=?3, pivot_passed=?4, cancel_requested=?5, cancelled=?6, "
                  "context=?7, applied=?8, reason=?9, command_id=?10, updated_at=?11, finished_at=?12, expires_at=?13, "
                  "command_step=?14, command_compensation=?15 WHERE id=?1",
                  [&](Stmt& s) {
                    s.Bind(1, g.id)
                        .Bind(2, std::string(SagaStatusName(g.state.status)))
                        .Bind(3, int64_t{g.state.step})
                        .Bind(4, int64_t{g.state.pivot_passed ? 1 : 0})
                        .Bind(5, int64_t{g.state.cancel_requested ? 1 : 0})
                        .Bind(6, int64_t{g.state.cancelled ? 1 : 0})
                        .Bind(7, json::serialize(g.state.context))
                        .Bind(8, AppliedText(g.state.applied))
                        .Bind(9, g.state.reason)
                        .Bind(10, g.command_id)
                        .Bind(11, now)
                        .Bind(12, g.finished_at)
                        .Bind(13, g.expires_at)
                        .Bind(14, g.command_step)
                        .Bind(15, int64_t{g.command_compensation ? 1 : 0});
                  });
  if (!n.ok()) return n.status();
  if (*n != 1) return Status(Code::kNotFound, "saga '" + g.id + "' vanished");
  return Status::Ok();
}

// Saga event `type` in the outbox (the events table, in the saga's own
// stream: keyed by its id), delivered to the route's webhook when `deliver`.
// Written in the transaction that makes the move it tells of.
Status Emit(Conn& c, const Saga& g, const std::string& type, json::object data, EventSinks deliver, Millis now) {
  data["sagaId"] = g.id;
  data["route"] = g.route;
  data["status"] = SagaStatusName(g.state.status);
  return InsertNamedEvent(c, g.id, g.route, type, json::serialize(data), deliver, now);
}

// The event of the saga's move from `before` to its status now
// (saga.compensating, saga.succeeded, saga.compensated,
// saga.compensation_failed, saga.cancelled); none when it did not move.
Status EmitMove(Conn& c, const Saga& g, SagaStatus before, EventSinks deliver, Millis now) {
  if (g.state.status == before) return Status::Ok();
  json::object data;
  if (!g.state.reason.empty()) data["reason"] = g.state.reason;
  return Emit(c, g, std::string("saga.") + SagaStatusName(g.state.status), std::move(data), deliver, now);
}

// A log row for the attempt of `g`'s request in flight (command_id).
Status LogAttempt(Conn& c, const Saga& g, int status, const std::string& outcome, const std::string& error,
                  Millis now) {
  const std::string& command_id = g.command_id;
  auto attempts = QueryRows<int64_t>(
      c, "SELECT attempts FROM commands WHERE id=?1", [&](Stmt& s) { s.Bind(1, command_id); },
      +[](Stmt& s) { return s.Int(0); });
  if (!attempts.ok()) return attempts.status();
  auto n = Change(c,
                  "INSERT INTO saga_attempts (saga_id, step, compensation, attempt, status, outcome, error, "
                  "command_id, at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                  [&](Stmt& s) {
                    s.Bind(1, g.id)
                        .Bind(2, g.command_step)
                        .Bind(3, int64_t{g.command_compensation ? 1 : 0})
                        .Bind(4, attempts->empty() ? int64_t{0} : attempts->front())
                        .Bind(5, int64_t{status})
                        .Bind(6, outcome)
                        .Bind(7, error)
                        .Bind(8, command_id)
                        .Bind(9, now);
                  });
  return n.ok() ? Status::Ok() : n.status();
}

// The same for command `command_id`, whichever saga waits on it (none: nothing).
Status LogAttempt(Conn& c, const std::string& command_id, int status, const std::string& outcome,
                  const std::string& error, Millis now) {
  auto rows = QueryRows<Saga>(
      c, "SELECT id, command_step, command_compensation FROM sagas WHERE command_id=?1 AND command_id != ''",
      [&](Stmt& s) { s.Bind(1, command_id); },
      +[](Stmt& s) {
        Saga g;
        g.id = s.Text(0);
        g.command_step = s.Text(1);
        g.command_compensation = s.Int(2) != 0;
        return g;
      });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::Ok();
  rows->front().command_id = command_id;
  return LogAttempt(c, rows->front(), status, outcome, error, now);
}

}  // namespace

void SagaStore::Start(SagaStartRequest req, Callback<SagaStartResult> done) {
  Database& db = db_;
  SubmitFor<SagaStartResult>(
      db_,
      [&db, req = std::move(req)](Conn& c) -> Result<SagaStartResult> {
        SagaStartResult out;
        Millis now = db.Now();
        auto input = ParseJsonStrict(req.input);
        if (!input.ok() || !input->is_object())
          return Status(Code::kInvalidArgument, "a saga's input is a JSON object");
        Saga& g = out.saga;
        g.id = TimeOrderedId("saga_", now);
        g.tenant = req.tenant;
        g.route = req.route;
        g.idem_key = req.key.has_key ? req.key.key : "";
        g.created_at = g.updated_at = now;
        g.state.context = json::object{{"input", std::move(*input)}, {"steps", json::object{}}};
        if (req.key.has_key) {
          out.response = req.respond ? req.respond(g) : StoredResponse{};
          KeyId id{req.tenant, req.route, req.key.key};
          auto taken = TakeLocalKey(c, id, req.key, now, out.existing, out.response);
          if (!taken.ok()) return taken.status();
          if (!*taken) return out;  // a retry, or the key reused: the caller decides
        }
        auto n = Change(c,
                        "INSERT INTO sagas (id, tenant, route, idem_key, status, context, created_at, updated_at) "
                        "VALUES (?1,?2,?3,?4,'running',?5,?6,?6)",
                        [&](Stmt& s) {
                          s.Bind(1, g.id)
                              .Bind(2, g.tenant)
                              .Bind(3, g.route)
                              .Bind(4, g.idem_key)
                              .Bind(5, json::serialize(g.state.context))
                              .Bind(6, now);
                        });
        if (!n.ok()) return n.status();
        EventSinks deliver = req.queue->deliver_events;
        if (auto s = Emit(c, g, "saga.started", {}, deliver, now); !s.ok()) return s;
        SagaAction a = SagaStart(*req.def, g.state);
        if (a.send)
          if (auto s = Send(c, g, a, *req.queue, req.notify, now); !s.ok()) return s;
        if (auto s = Save(c, g, a.send, now, req.queue->retention); !s.ok()) return s;
        if (auto s = EmitMove(c, g, SagaStatus::kRunning, deliver, now); !s.ok()) return s;
        if (!req.key.has_key && req.respond) out.response = req.respond(g);
        out.created = true;
        return out;
      },
      std::move(done));
}

Status SagaStore::OnRequestFinished(Conn& c, const AttemptOutcome& o, const SagaDef& def, const SagaQueue& q,
                                    Millis now) {
  auto found = SelectSaga(c, "command_id=?1 AND command_id != ''", o.id, true);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return Status::Ok();
  Saga g = std::move(**found);
  const bool compensation = g.command_compensation;  // what answered: a compensation, or a step
  SagaStepResult r;
  r.status = o.response_status;
  r.body = o.response_body;
  r.reason = o.error;
  const char* outcome = "succeeded";
  if (o.status == SubmissionStatus::kSucceeded) {
    r.kind = SagaStepResult::kSucceeded;
  } else if (o.status == SubmissionStatus::kFailed && compensation &&
             (o.response_status == 404 || o.response_status == 410)) {
    // What a compensation would undo is not there (the step was never
    // applied, or this compensation was, in an earlier life): done.
    r.kind = SagaStepResult::kSucceeded;
  } else if (o.status == SubmissionStatus::kFailed) {
    r.kind = SagaStepResult::kRefused;
    outcome = "refused";
  } else {
    r.kind = SagaStepResult::kSpent;
    outcome = "spent";
    auto unknown = QueryRows<int64_t>(
        c, "SELECT unknown_attempt FROM commands WHERE id=?1", [&](Stmt& s) { s.Bind(1, o.id); },
        +[](Stmt& s) { return s.Int(0); });
    if (!unknown.ok()) return unknown.status();
    r.possibly_applied = o.outcome_unknown || (!unknown->empty() && unknown->front() > 0);
  }
  if (auto s = LogAttempt(c, g, o.response_status, outcome, o.error, now); !s.ok()) return s;
  SagaStatus before = g.state.status;
  // The request answered: the step at `step`, forward while running, its
  // compensation while compensating.
  std::string step = g.state.step >= 0 && g.state.step < static_cast<int>(def.steps.size())
                         ? def.steps[static_cast<size_t>(g.state.step)].name
                         : "";
  SagaAction a = SagaAdvance(def, g.state, r);
  if (a.send)
    if (auto s = Send(c, g, a, q, o.notify, now); !s.ok()) return s;
  if (auto s = Save(c, g, a.send, now, q.retention); !s.ok()) return s;
  if (r.kind == SagaStepResult::kSucceeded && !step.empty()) {
    json::object data{{"step", step}, {"httpStatus", o.response_status}, {"submissionId", o.id}};
    if (auto s = Emit(c, g, compensation ? "saga.step.compensated" : "saga.step.succeeded", std::move(data),
                      q.deliver_events, now);
        !s.ok())
      return s;
  }
  return EmitMove(c, g, before, q.deliver_events, now);
}

Status SagaStore::OnRequestRetried(Conn& c, const AttemptOutcome& o, Millis now) {
  return LogAttempt(c, o.id, o.response_status, "retry", o.error, now);
}

Result<std::optional<Saga>> SagaStore::Get(const std::string& id) {
  return ReadFor<std::optional<Saga>>(db_, [&](Conn& c) { return SelectSaga(c, "id=?1", id); });
}

Result<std::vector<SagaAttempt>> SagaStore::Attempts(const std::string& id) {
  return ReadFor<std::vector<SagaAttempt>>(db_, [&](Conn& c) {
    return QueryRows<SagaAttempt>(
        c,
        "SELECT seq, step, compensation, attempt, status, outcome, error, command_id, at FROM saga_attempts "
        "WHERE saga_id=?1 ORDER BY seq",
        [&](Stmt& s) { s.Bind(1, id); },
        +[](Stmt& s) {
          SagaAttempt a;
          a.seq = s.Int(0);
          a.step = s.Text(1);
          a.compensation = s.Int(2) != 0;
          a.attempt = static_cast<int>(s.Int(3));
          a.status = static_cast<int>(s.Int(4));
          a.outcome = s.Text(5);
          a.error = s.Text(6);
          a.command_id = s.Text(7);
          a.at = s.Int(8);
          return a;
        });
  });
}

Result<std::vector<std::pair<SagaStatus, int64_t>>> SagaStore::CountByStatus(const std::string& route) {
  using Row = std::pair<SagaStatus, int64_t>;
  return ReadFor<std::vector<Row>>(db_, [&](Conn& c) {
    return QueryRows<Row>(
        c, "SELECT status, COUNT(*) FROM sagas WHERE route=?1 GROUP BY status", [&](Stmt& s) { s.Bind(1, route); },
        +[](Stmt& s) { return Row(ParseSagaStatus(s.Text(0)).value_or(SagaStatus::kRunning), s.Int(1)); });
  });
}

Result<std::vector<Saga>> SagaStore::List(const std::string& route, std::optional<SagaStatus> status, int limit,
                                           const std::string& tenant) {
  return ReadFor<std::vector<Saga>>(db_, [&](Conn& c) {
    // Placeholders numbered without a gap (PostgreSQL types each one).
    std::string where = " FROM sagas WHERE 1=1";
    int route_at = 0, status_at = 0, tenant_at = 0, next = 2;
    if (!route.empty()) where += " AND route=?" + std::to_string(route_at = next++);
    if (status) where += " AND status=?" + std::to_string(status_at = next++);
    if (!tenant.empty()) where += " AND tenant=?" + std::to_string(tenant_at = next++);
    return QueryRows<Saga>(
        c, std::string("SELECT ") + kColumns + where + " ORDER BY seq DESC LIMIT ?1",
        [&](Stmt& s) {
          s.Bind(1, int64_t{limit});
          if (route_at) s.Bind(route_at, route);
          if (status_at) s.Bind(status_at, std::string(SagaStatusName(*status)));
          if (tenant_at) s.Bind(tenant_at, tenant);
        },
        &ReadSaga);
  });
}

void SagaStore::Cancel(std::string id, Callback<Saga> done) {
  Database& db = db_;
  SubmitFor<Saga>(
      db_,
      [&db, id](Conn& c) -> Result<Saga> {
        auto g = MustSaga(c, id);
        if (!g.ok()) return g.status();
        if (g->state.cancel_requested) return g;  // asked before: the same answer
        if (!SagaCancel(SagaDef{}, g->state))
          return Status(Code::kConflict, g->state.status != SagaStatus::kRunning
                                             ? std::string("the saga is ") + SagaStatusName(g->state.status)
                                             : "the saga has passed its pivot: it is completed forward, never undone");
        if (auto s = Save(c, *g, true, db.Now(), 0); !s.ok()) return s;
        return g;
      },
      std::move(done));
}

void SagaStore::RetryCompensation(std::string id, const SagaDef* def, const SagaQueue* q, EventSinks notify,
                                  Callback<Saga> done) {
  Database& db = db_;
  SubmitFor<Saga>(
      db_,
      [&db, id, def, q, notify](Conn& c) -> Result<Saga> {
        auto g = MustSaga(c, id);
        if (!g.ok()) return g.status();
        if (g->state.status != SagaStatus::kCompensationFailed)
          return Status(Code::kConflict,
                        std::string("the saga is ") + SagaStatusName(g->state.status) + ", not compensation_failed");
        Millis now = db.Now();
        g->state.status = SagaStatus::kCompensating;
        // The compensation that was refused is at the top of `applied`: a
        // spent result sends it once more.
        SagaStepResult again;
        again.kind = SagaStepResult::kSpent;
        SagaAction a = SagaAdvance(*def, g->state, again);
        a.again = false;  // an operator asked: at once
        if (a.send)
          if (auto s = Send(c, *g, a, *q, notify, now); !s.ok()) return s;
        if (auto s = Save(c, *g, a.send, now, q->retention); !s.ok()) return s;
        if (auto s = EmitMove(c, *g, SagaStatus::kCompensationFailed, q->deliver_events, now); !s.ok()) return s;
        return g;
      },
      std::move(done));
}

void SagaStore::MarkResolved(std::string id, std::string note, const SagaQueue* q, Callback<Saga> done) {
  Database& db = db_;
  SubmitFor<Saga>(
      db_,
      [&db, id, note, q](Conn& c) -> Result<Saga> {
        auto g = MustSaga(c, id);
        if (!g.ok()) return g.status();
        if (g->state.status != SagaStatus::kCompensationFailed)
          return Status(Code::kConflict,
                        std::string("the saga is ") + SagaStatusName(g->state.status) + ", not compensation_failed");
        g->state.status = SagaStatus::kCompensated;
        g->state.reason += "; resolved by an operator" + (note.empty() ? "" : ": " + note);
        if (auto s = Save(c, *g, false, db.Now(), q ? q->retention : 0); !s.ok()) return s;
        if (auto s = EmitMove(c, *g, SagaStatus::kCompensationFailed, q ? q->deliver_events : 0, db.Now()); !s.ok())
          return s;
        return g;
      },
      std::move(done));
}

SchemaStep SagaStore::Schema() { return {17, "sagas", kSqliteSchema, kPostgresSchema}; }

SchemaStep SagaStore::ExpirySchema() {
  return {18, "sagas",
          "ALTER TABLE sagas ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;\n"
          "CREATE INDEX IF NOT EXISTS sagas_expiry ON sagas(expires_at) WHERE expires_at > 0;\n",
          "ALTER TABLE sagas ADD COLUMN IF NOT EXISTS expires_at BIGINT NOT NULL DEFAULT 0;\n"
          "CREATE INDEX IF NOT EXISTS sagas_expiry ON sagas(expires_at) WHERE expires_at > 0;\n"};
}

Result<int> SagaStore::CollectExpired(Conn& c, int batch, Millis now) {
  auto due = QueryRows<std::string>(
      c,
      "SELECT id FROM sagas g WHERE expires_at > 0 AND expires_at <= ?1 AND NOT EXISTS (SELECT 1 FROM events e "
      "WHERE e.submission_id = g.id AND " + sql::kEventUnsent + ") ORDER BY expires_at LIMIT ?2",
      [&](Stmt& s) { s.Bind(1, now).Bind(2, int64_t{batch}); }, +[](Stmt& s) { return s.Text(0); });
  if (!due.ok()) return due.status();
  for (const auto& id : *due)
    for (const char* sql : {"DELETE FROM saga_attempts WHERE saga_id=?1", "DELETE FROM events WHERE submission_id=?1",
                            "DELETE FROM sagas WHERE id=?1"}) {
      auto n = Change(c, sql, [&](Stmt& s) { s.Bind(1, id); });
      if (!n.ok()) return n.status();
    }
  return static_cast<int>(due->size());
}

}  // namespace writ
