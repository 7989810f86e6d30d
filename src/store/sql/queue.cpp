#include "store/sql/queue.h"

#include <algorithm>
#include <optional>

#include <boost/json.hpp>

#include "core/hash.h"
#include "store/sql/jobs_sql.h"

namespace writ::sql {

Status NotifyWork(Conn& c, const std::string& route) {
  if (!c.postgres()) return Status::Ok();
  // PostgreSQL folds equal notifications of a transaction into one anyway; skip the round trip.
  if (!c.FirstInTransaction("notify:" + route)) return Status::Ok();
  auto st = c.Prepare("SELECT pg_notify('writ_work', ?1)");
  if (!st.ok()) return st.status();
  st->Bind(1, route);
  return st->Step() == kRow ? Status::Ok() : c.Error("notify");
}

namespace {

constexpr const char* kCommandColumns =
    "seq, id, tenant, route, idem_key, ordering_key, method, target, headers, body, upstream_key, status, "
    "attempts, redrives, fence, next_attempt_at, lease_until, last_error, canonical_id, response_status, "
    "response_headers, response_body, created_at, updated_at, finished_at, budget_from, job_id, item_pos, item_key, "
    "unknown_attempt";

Command ReadCommand(Stmt& s) {
  Command c;
  c.seq = s.Int(0);
  c.id = s.Text(1);
  c.tenant = s.Text(2);
  c.route = s.Text(3);
  c.idem_key = s.Text(4);
  c.ordering_key = s.Text(5);
  c.method = s.Text(6);
  c.target = s.Text(7);
  c.headers = HeadersFromText(s.Text(8));
  c.body = s.Text(9);
  c.upstream_key = s.Text(10);
  c.status = ParseSubmissionStatus(s.Text(11)).value_or(SubmissionStatus::kAccepted);
  c.attempts = static_cast<int>(s.Int(12));
  c.redrives = static_cast<int>(s.Int(13));
  c.fence = s.Int(14);
  c.next_attempt_at = s.Int(15);
  c.lease_until = s.Int(16);
  c.last_error = s.Text(17);
  c.canonical_id = s.Text(18);
  c.response_status = static_cast<int>(s.Int(19));
  c.response_headers = HeadersFromText(s.Text(20));
  c.response_body = s.Text(21);
  c.created_at = s.Int(22);
  c.updated_at = s.Int(23);
  c.finished_at = s.Int(24);
  c.budget_from = s.Int(25);
  c.job_id = s.Text(26);
  c.item_pos = s.Int(27);
  c.item_key = s.Text(28);
  c.unknown_attempt = static_cast<int>(s.Int(29));
  return c;
}

constexpr const char* kEventColumns =
    "seq, id, submission_id, route, type, payload, created_at, attempts, next_at, last_error";

StatusEvent ReadEvent(Stmt& s) {
  StatusEvent e;
  e.seq = s.Int(0);
  e.id = s.Text(1);
  e.submission_id = s.Text(2);
  e.route = s.Text(3);
  e.type = s.Text(4);
  e.payload = s.Text(5);
  e.created_at = s.Int(6);
  e.attempts = static_cast<int>(s.Int(7));
  e.next_at = s.Int(8);
  e.last_error = s.Text(9);
  return e;
}

template <typename BindFn>
Result<std::vector<Command>> QueryCommands(Conn& c, const std::string& sql, BindFn bind) {
  return QueryRows<Command>(c, sql, bind, &ReadCommand);
}

template <typename BindFn>
Result<std::vector<StatusEvent>> QueryEvents(Conn& c, const std::string& sql, BindFn bind) {
  return QueryRows<StatusEvent>(c, sql, bind, &ReadEvent);
}

}  // namespace

Result<Command> InsertCommand(Conn& c, Command cmd, Millis now, Millis not_before) {
  cmd.status = SubmissionStatus::kAccepted;
  cmd.created_at = cmd.updated_at = cmd.budget_from = now;
  cmd.next_attempt_at = std::max(now, not_before);
  auto st = c.Prepare(
      "INSERT INTO commands (id, tenant, route, idem_key, ordering_key, method, target, headers, body, "
      "upstream_key, status, next_attempt_at, due_at, created_at, updated_at, budget_from) "
      "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,'accepted',?12,?12,?11,?11,?11) RETURNING seq");
  if (!st.ok()) return st.status();
  st->Bind(1, cmd.id).Bind(2, cmd.tenant).Bind(3, cmd.route).Bind(4, cmd.idem_key);
  if (cmd.ordering_key.empty())
    st->BindNull(5);
  else
    st->Bind(5, cmd.ordering_key);
  st->Bind(6, cmd.method).Bind(7, cmd.target).Bind(8, HeadersToText(cmd.headers));
  st->BindBlob(9, cmd.body).Bind(10, cmd.upstream_key).Bind(11, now).Bind(12, cmd.next_attempt_at);
  if (st->Step() != kRow) return c.Error("insert command");
  cmd.seq = st->Int(0);
  if (st->Step() != kDone) return c.Error("insert command");
  return cmd;
}

namespace {

// One multi-row INSERT of the events of `n` commands starting at `cmds`:
// ?1 created_at and next_at, ?2 deliver, then five parameters per row.
Status InsertEventRows(Conn& c, const Command* const* cmds, size_t n, EventSinks deliver, Millis now,
                       const std::string& note) {
  std::string sql =
      "INSERT INTO events (id, submission_id, route, type, payload, created_at, deliver, next_at) VALUES ";
  for (size_t i = 0; i < n; ++i) {
    sql += i ? ",(" : "(";
    for (size_t k = 1; k <= 5; ++k) sql += "?" + std::to_string(2 + i * 5 + k) + ",";
    sql += "?1,?2,?1)";
  }
  auto st = c.Prepare(sql);
  if (!st.ok()) return st.status();
  st->Bind(1, now).Bind(2, static_cast<int64_t>(deliver));
  for (size_t i = 0; i < n; ++i) {
    const Command& cmd = *cmds[i];
    std::string type = std::string("submission.") + SubmissionStatusName(cmd.status);
    boost::json::object data = SubmissionToJson(cmd);
    if (!note.empty()) data["note"] = note;
    // Standard Webhooks payload shape: type, timestamp, data.
    std::string payload = boost::json::serialize(
        boost::json::object{{"type", type}, {"timestamp", FormatTimestamp(now)}, {"data", std::move(data)}});
    int base = 2 + static_cast<int>(i) * 5;
    st->Bind(base + 1, TimeOrderedId("evt_", now)).Bind(base + 2, cmd.id).Bind(base + 3, cmd.route);
    st->Bind(base + 4, type).Bind(base + 5, payload);
  }
  return st->Step() == kDone ? Status::Ok() : c.Error("insert events");
}

}  // namespace

Status InsertEvents(Conn& c, const std::vector<const Command*>& cmds, EventSinks deliver, Millis now,
                    const std::string& note) {
  // At most kEventRows rows per INSERT: few round trips on PostgreSQL, and few
  // statement shapes to prepare.
  constexpr size_t kEventRows = 32;
  for (size_t i = 0; i < cmds.size(); i += kEventRows) {
    size_t n = std::min(kEventRows, cmds.size() - i);
    if (auto st = InsertEventRows(c, cmds.data() + i, n, deliver, now, note); !st.ok()) return st;
  }
  return Status::Ok();
}

Status InsertEvent(Conn& c, const Command& cmd, EventSinks deliver, Millis now, const std::string& note) {
  return InsertEvents(c, {&cmd}, deliver, now, note);
}

Status InsertEventFor(Conn& c, const std::string& submission_id, EventSinks deliver, Millis now, const std::string& note) {
  auto cur = SelectCommand(c, submission_id);
  if (!cur.ok()) return cur.status();
  if (!cur->has_value()) return Status(Code::kNotFound, "event for unknown submission " + submission_id);
  return InsertEvent(c, **cur, deliver, now, note);
}

Status InsertNamedEvent(Conn& c, const std::string& submission_id, const std::string& route, const std::string& type,
                        const std::string& data, EventSinks deliver, Millis now) {
  boost::system::error_code ec;
  auto parsed = boost::json::parse(data, ec);
  std::string payload = boost::json::serialize(boost::json::object{
      {"type", type}, {"timestamp", FormatTimestamp(now)}, {"data", ec ? boost::json::value(data) : parsed}});
  auto n = Change(c,
                  "INSERT INTO events (id, submission_id, route, type, payload, created_at, deliver, next_at) "
                  "VALUES (?1,?2,?3,?4,?5,?6,?7,?6)",
                  [&](Stmt& s) {
                    s.Bind(1, TimeOrderedId("evt_", now)).Bind(2, submission_id).Bind(3, route).Bind(4, type);
                    s.Bind(5, payload).Bind(6, now).Bind(7, static_cast<int64_t>(deliver));
                  });
  return n.ok() ? Status::Ok() : n.status();
}

Result<std::vector<Command>> ClaimDue(Conn& c, const std::string& route, int limit, Millis lease, EventSinks notify,
                                      Millis now) {
  // Due and unfinished, earliest due first (acceptance order among equals);
  // a command waits while an older one with the same ordering key is
  // unfinished (one at a time, in acceptance order).
  auto due = QueryCommands(
      c,
      std::string("SELECT ") + kCommandColumns +
          " FROM commands c WHERE c.route = ?1 AND c.status IN ('accepted','processing') AND c.due_at <= ?2 "
          "AND (c.ordering_key IS NULL OR NOT EXISTS (SELECT 1 FROM commands p WHERE p.route = c.route "
          "AND p.ordering_key = c.ordering_key AND p.status IN ('accepted','processing') AND p.seq < c.seq)) "
          "ORDER BY c.due_at, c.seq LIMIT ?3" +
          // Instances sharing a database never wait for, nor take, each other's claims.
          (c.postgres() ? " FOR UPDATE OF c SKIP LOCKED" : ""),
      [&](Stmt& s) { s.Bind(1, route).Bind(2, now).Bind(3, static_cast<int64_t>(limit)); });
  if (!due.ok()) return due.status();
  if (due->empty()) return due;
  // One UPDATE for the whole claim (rows locked by the SELECT above on
  // PostgreSQL), with the rows' seqs as one array parameter, so one prepared
  // statement serves claims of any size (a bulk claim holds thousands).
  std::string seqs;
  for (const Command& cmd : *due) seqs += (seqs.empty() ? "" : ",") + std::to_string(cmd.seq);
  auto n = Change(c,
                  // A leased command claimed again: its holder stopped (or
                  // stalled) during the attempt, whose outcome is unknown.
                  std::string("UPDATE commands SET status='processing', attempts=attempts+1, fence=fence+1, "
                              "unknown_attempt=CASE WHEN unknown_attempt=0 AND status='processing' AND "
                              "lease_until>0 THEN attempts ELSE unknown_attempt END, "
                              "lease_until=?1, due_at=?1, updated_at=?2 WHERE ") +
                      (c.postgres() ? "seq = ANY(CAST(?3 AS BIGINT[]))" : "seq IN (SELECT value FROM json_each(?3))"),
                  [&](Stmt& s) {
                    s.Bind(1, now + lease).Bind(2, now);
                    // '{1,2}' is a PostgreSQL array literal, '[1,2]' a JSON array.
                    s.Bind(3, (c.postgres() ? "{" : "[") + seqs + (c.postgres() ? "}" : "]"));
                  });
  if (!n.ok()) return n.status();
  std::vector<const Command*> first_claims;
  for (Command& cmd : *due) {
    bool first = cmd.status == SubmissionStatus::kAccepted;
    if (cmd.unknown_attempt == 0 && cmd.status == SubmissionStatus::kProcessing && cmd.lease_until > 0)
      cmd.unknown_attempt = cmd.attempts;
    cmd.status = SubmissionStatus::kProcessing;
    cmd.attempts += 1;
    cmd.fence += 1;
    cmd.lease_until = now + lease;
    cmd.updated_at = now;
    if (first && cmd.job_id.empty()) first_claims.push_back(&cmd);  // bulk items have no status events
  }
  if (auto s = InsertEvents(c, first_claims, notify, now); !s.ok()) return s;
  return due;
}

Result<int> ExtendLeases(Conn& c, const std::vector<std::pair<std::string, int64_t>>& held, Millis until) {
  int extended = 0;
  for (const auto& h : held) {
    const std::string& id = h.first;  // not a structured binding: clang 14 cannot capture those in a lambda
    int64_t fence = h.second;
    auto n = Change(c,
                    "UPDATE commands SET lease_until=?3, due_at=?3 WHERE id=?1 AND fence=?2 "
                    "AND status='processing' AND lease_until > 0",
                    [&](Stmt& s) { s.Bind(1, id).Bind(2, fence).Bind(3, until); });
    if (!n.ok()) return n.status();
    extended += *n;
  }
  return extended;
}

Result<bool> ApplyOutcome(Conn& c, const AttemptOutcome& o, Millis now) {
  bool terminal = IsTerminal(o.status);
  // A terminal command with a status event gets its whole row back, so the
  // event is built without reading the row again (one round trip less).
  bool event = terminal && o.event;
  auto st = c.Prepare(
      std::string("UPDATE commands SET status=?3, next_attempt_at=?4, lease_until=0, due_at=?4, last_error=?5, "
                  "canonical_id=?6, response_status=?7, response_headers=?8, response_body=?9, updated_at=?10, "
                  "finished_at=?11, expires_at=?12, attempts=CASE WHEN ?13 >= 0 THEN ?13 ELSE attempts END, "
                  "unknown_attempt=CASE WHEN unknown_attempt=0 AND ?14=1 THEN attempts ELSE unknown_attempt END "
                  "WHERE id=?1 AND fence=?2 AND status='processing' RETURNING ") +
      (event ? kCommandColumns : "job_id, tenant, route, item_key"));
  if (!st.ok()) return st.status();
  st->Bind(1, o.id).Bind(2, o.fence).Bind(3, std::string(SubmissionStatusName(o.status)));
  st->Bind(4, terminal ? int64_t{0} : o.next_attempt_at).Bind(5, o.error).Bind(6, o.canonical_id);
  st->Bind(7, static_cast<int64_t>(o.response_status)).Bind(8, HeadersToText(o.response_headers));
  st->BindBlob(9, o.response_body).Bind(10, now).Bind(11, terminal ? now : int64_t{0});
  st->Bind(12, terminal ? now + o.retention : int64_t{0}).Bind(13, static_cast<int64_t>(o.attempts));
  st->Bind(14, int64_t{o.outcome_unknown ? 1 : 0});
  int rc = st->Step();
  if (rc == kDone) return false;  // fenced out: another holder took the command over
  if (rc != kRow) return c.Error("finish attempt");
  std::optional<Command> cmd;
  bool item;
  std::string tenant, route, item_key;
  if (event) {
    cmd = ReadCommand(*st);
    item = !cmd->job_id.empty();
    tenant = cmd->tenant, route = cmd->route, item_key = cmd->item_key;
  } else {
    item = !st->IsNull(0);
    tenant = st->Text(1), route = st->Text(2), item_key = st->Text(3);
  }
  if (st->Step() != kDone) return c.Error("finish attempt");
  if (item) {
    if (terminal) {
      if (auto s = FinishItem(c, o.id, tenant, route, item_key, o.status, now); !s.ok()) return s;
    }
  } else if (event) {
    if (auto s = InsertEvent(c, *cmd, o.notify, now); !s.ok()) return s;
  }
  return true;
}

Result<ActionResult> RedriveCommand(Conn& c, const std::string& id, EventSinks notify, Millis now, bool allow_unknown,
                                    const std::string& note) {
  auto cur = SelectCommand(c, id);
  if (!cur.ok()) return cur.status();
  if (!cur->has_value()) return ActionResult::kNotFound;
  if ((*cur)->unknown_attempt > 0 && !allow_unknown &&
      ((*cur)->status == SubmissionStatus::kFailed || (*cur)->status == SubmissionStatus::kDead))
    return ActionResult::kPossiblyApplied;
  auto n = Change(c,
                  "UPDATE commands SET status='accepted', attempts=0, unknown_attempt=0, redrives=redrives+1, "
                  "next_attempt_at=?2, "
                  "due_at=?2, lease_until=0, budget_from=?2, finished_at=0, expires_at=0, updated_at=?2 "
                  "WHERE id=?1 AND status IN ('failed','dead')",
                  [&](Stmt& s) { s.Bind(1, id).Bind(2, now); });
  if (!n.ok()) return n.status();
  if (*n == 0) return ActionResult::kWrongState;
  if (!(*cur)->job_id.empty()) {
    auto s = RequeueItem(c, **cur, now);
    return s.ok() ? ActionResult::kDone : Result<ActionResult>(s);
  }
  if (auto s = InsertEventFor(c, id, notify, now, note); !s.ok()) return s;
  return ActionResult::kDone;
}

Result<ActionResult> ResolveCommandApplied(Conn& c, const std::string& id, int status, const Headers& headers,
                                           const std::string& body, const std::string& canonical_id, EventSinks notify,
                                           Millis retention, Millis now) {
  auto n = Change(c,
                  "UPDATE commands SET status='succeeded', response_status=?2, response_headers=?3, "
                  "response_body=?4, canonical_id=?5, last_error='', updated_at=?6, finished_at=?6, expires_at=?7, "
                  "due_at=0, lease_until=0 "
                  "WHERE id=?1 AND status='dead' AND unknown_attempt > 0 AND job_id IS NULL",
                  [&](Stmt& s) {
                    s.Bind(1, id).Bind(2, int64_t{status}).Bind(3, HeadersToText(headers)).BindBlob(4, body);
                    s.Bind(5, canonical_id).Bind(6, now).Bind(7, now + retention);
                  });
  if (!n.ok()) return n.status();
  if (*n == 0) return ActionResult::kWrongState;
  if (auto s = InsertEventFor(c, id, notify, now, "applied: found at the master by a probe"); !s.ok()) return s;
  return ActionResult::kDone;
}

Result<ActionResult> CancelCommand(Conn& c, const std::string& id, EventSinks notify, Millis retention, Millis now) {
  auto cur = SelectCommand(c, id);
  if (!cur.ok()) return cur.status();
  if (!cur->has_value()) return ActionResult::kNotFound;
  auto n = Change(c,
                  "UPDATE commands SET status='cancelled', due_at=0, finished_at=?2, updated_at=?2, expires_at=?3 "
                  "WHERE id=?1 AND status='accepted' AND attempts=0 AND job_id IS NULL",
                  [&](Stmt& s) { s.Bind(1, id).Bind(2, now).Bind(3, now + retention); });
  if (!n.ok()) return n.status();
  if (*n == 0) return ActionResult::kWrongState;
  if (auto s = InsertEventFor(c, id, notify, now); !s.ok()) return s;
  return ActionResult::kDone;
}

Result<int> DeleteExpiredCommands(Conn& c, int batch, Millis now) {
  // A command stays while one of its events still waits for a sink.
  auto st = c.Prepare(
      "DELETE FROM commands WHERE seq IN (SELECT seq FROM commands c WHERE expires_at > 0 AND expires_at <= ?1 "
      "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.submission_id = c.id AND " + kEventUnsent + ") "
      "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.submission_id = c.id AND o.publish = 1 "
      "AND o.published_at IS NULL) LIMIT ?2) RETURNING id");
  if (!st.ok()) return st.status();
  st->Bind(1, now).Bind(2, static_cast<int64_t>(batch));
  std::vector<std::string> ids;
  for (;;) {
    int rc = st->Step();
    if (rc == kRow)
      ids.push_back(st->Text(0));
    else if (rc == kDone)
      break;
    else
      return c.Error("delete expired commands");
  }
  for (const auto& id : ids) {
    for (const char* sql : {"DELETE FROM events WHERE submission_id = ?1", "DELETE FROM outbox WHERE submission_id = ?1"}) {
      auto n = Change(c, sql, [&](Stmt& s) { s.Bind(1, id); });
      if (!n.ok()) return n.status();
    }
  }
  return static_cast<int>(ids.size());
}

Result<std::optional<Command>> SelectCommand(Conn& c, const std::string& id) {
  auto rows = QueryCommands(c, std::string("SELECT ") + kCommandColumns + " FROM commands WHERE id = ?1",
                            [&](Stmt& s) { s.Bind(1, id); });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<Command>();
  return std::optional<Command>(std::move(rows->front()));
}

Result<std::vector<Command>> SelectCommands(Conn& c, const CommandFilter& f) {
  // Each status filter names the partial index that serves it.
  std::string where = f.job_id.empty() ? "seq > ?1 AND (?2 = '' OR route = ?2)"
                                       : "job_id = ?5 AND item_pos >= ?1 AND (?2 = '' OR route = ?2)";
  if (f.status == SubmissionStatus::kAccepted || f.status == SubmissionStatus::kProcessing)
    where += " AND status IN ('accepted','processing') AND status = ?3";
  else if (f.status == SubmissionStatus::kFailed || f.status == SubmissionStatus::kDead)
    where += " AND status IN ('failed','dead') AND status = ?3";
  else if (f.status)
    where += " AND status = ?3";
  if (f.possibly_applied) where += " AND unknown_attempt > 0 AND job_id IS NULL";
  // A job's items share the job's tenant, which the caller checked.
  if (!f.tenant.empty() && f.job_id.empty()) where += " AND tenant = ?5";
  return QueryCommands(c,
                       std::string("SELECT ") + kCommandColumns + " FROM commands WHERE " + where +
                           (f.job_id.empty() ? " ORDER BY seq LIMIT ?4" : " ORDER BY item_pos LIMIT ?4"),
                       [&](Stmt& s) {
                         s.Bind(1, f.after_seq).Bind(2, f.route);
                         s.Bind(3, std::string(f.status ? SubmissionStatusName(*f.status) : ""));
                         s.Bind(4, static_cast<int64_t>(f.limit));
                         if (!f.job_id.empty())
                           s.Bind(5, f.job_id);
                         else if (!f.tenant.empty())
                           s.Bind(5, f.tenant);
                       });
}

Result<std::vector<QueueStat>> SelectQueueStats(Conn& c) {
  // Unfinished and attention-needing commands only: both are index-served,
  // so a metrics scrape stays cheap however many commands have succeeded.
  std::vector<QueueStat> out;
  for (const char* sql : {"SELECT route, status, count(*), min(created_at) FROM commands "
                          "WHERE status IN ('accepted','processing') GROUP BY route, status",
                          "SELECT route, status, count(*), min(created_at) FROM commands "
                          "WHERE status IN ('failed','dead') GROUP BY route, status"}) {
    auto st = c.Prepare(sql);
    if (!st.ok()) return st.status();
    for (;;) {
      int rc = st->Step();
      if (rc == kDone) break;
      if (rc != kRow) return c.Error("queue stats");
      QueueStat q;
      q.route = st->Text(0);
      q.status = ParseSubmissionStatus(st->Text(1)).value_or(SubmissionStatus::kAccepted);
      q.count = st->Int(2);
      q.oldest_created_at = st->Int(3);
      out.push_back(std::move(q));
    }
  }
  return out;
}

Result<std::map<std::string, int64_t>> SelectPendingByTenant(Conn& c) {
  // Index-served like the stats above: only unfinished commands are read.
  auto st =
      c.Prepare("SELECT tenant, count(*) FROM commands WHERE status IN ('accepted','processing') GROUP BY tenant");
  if (!st.ok()) return st.status();
  std::map<std::string, int64_t> out;
  for (;;) {
    int rc = st->Step();
    if (rc == kDone) return out;
    if (rc != kRow) return c.Error("pending by tenant");
    out[st->Text(0)] = st->Int(1);
  }
}

Result<std::vector<StatusEvent>> SelectEvents(Conn& c, const std::string& submission_id, int64_t after_seq) {
  return QueryEvents(
      c, std::string("SELECT ") + kEventColumns + " FROM events WHERE submission_id = ?1 AND seq > ?2 ORDER BY seq",
      [&](Stmt& s) { s.Bind(1, submission_id).Bind(2, after_seq); });
}

Result<std::vector<StatusEvent>> SelectDueEvents(Conn& c, int limit, Millis now) {
  // Only the oldest undelivered event of each submission: the next one
  // waits until it is delivered, so a receiver gets a submission's (or a
  // saga's) events in order.
  return QueryEvents(c,
                     std::string("SELECT ") + kEventColumns +
                         " FROM events e WHERE deliver IN (1,3) AND delivered_at IS NULL AND next_at <= ?1 "
                         "AND NOT EXISTS (SELECT 1 FROM events p WHERE p.submission_id = e.submission_id "
                         "AND p.seq < e.seq AND p.deliver IN (1,3) AND p.delivered_at IS NULL) "
                         "ORDER BY next_at, seq LIMIT ?2",
                     [&](Stmt& s) { s.Bind(1, now).Bind(2, static_cast<int64_t>(limit)); });
}

namespace {

// The NATS relay's reads of `table` (events or outbox): `unpublished` says
// which rows wait for NATS; the routes are bound from ?first on.
std::string RoutesIn(const std::vector<std::string>& routes, int first) {
  std::string in;
  for (size_t i = 0; i < routes.size(); ++i) in += (i ? ",?" : "?") + std::to_string(first + static_cast<int>(i));
  return in;
}

void BindRoutes(Stmt& s, const std::vector<std::string>& routes, int first) {
  for (size_t i = 0; i < routes.size(); ++i) s.Bind(first + static_cast<int>(i), routes[i]);
}

// The seqs of `table`'s unpublished rows of `routes` at or before `after`.
Result<std::vector<int64_t>> SelectUnpublishedSeqs(Conn& c, const std::string& table, const std::string& unpublished,
                                                   const std::vector<std::string>& routes, int64_t after) {
  std::vector<int64_t> out;
  if (after <= 0) return out;
  auto st = c.Prepare("SELECT seq FROM " + table + " WHERE " + unpublished + " AND seq <= ?1 AND route IN (" +
                      RoutesIn(routes, 2) + ")");
  if (!st.ok()) return st.status();
  st->Bind(1, after);
  BindRoutes(*st, routes, 2);
  int rc;
  while ((rc = st->Step()) == kRow) out.push_back(st->Int(0));
  if (rc != kDone) return c.Error("select unpublished seqs");
  return out;
}

}  // namespace

Result<UnpublishedPage<StatusEvent>> SelectUnpublishedEventsAfter(Conn& c, const std::vector<std::string>& routes,
                                                                  int64_t after, int limit) {
  UnpublishedPage<StatusEvent> page;
  if (routes.empty()) return page;
  constexpr const char* kUnpublished = "deliver IN (2,3) AND published_at IS NULL";
  auto rows = QueryEvents(c,
                          std::string("SELECT ") + kEventColumns + " FROM events WHERE " + kUnpublished +
                              " AND seq > ?1 AND route IN (" + RoutesIn(routes, 3) + ") ORDER BY seq LIMIT ?2",
                          [&](Stmt& s) {
                            s.Bind(1, after).Bind(2, static_cast<int64_t>(limit));
                            BindRoutes(s, routes, 3);
                          });
  if (!rows.ok()) return rows.status();
  page.rows = std::move(*rows);
  auto held = SelectUnpublishedSeqs(c, "events", kUnpublished, routes, after);
  if (!held.ok()) return held.status();
  page.before = std::move(*held);
  return page;
}

Result<UnpublishedPage<DomainEventRow>> SelectUnpublishedDomainEventsAfter(Conn& c,
                                                                           const std::vector<std::string>& routes,
                                                                           int64_t after, int limit) {
  UnpublishedPage<DomainEventRow> page;
  if (routes.empty()) return page;
  constexpr const char* kUnpublished = "publish = 1 AND published_at IS NULL";
  auto rows = QueryRows<DomainEventRow>(
      c,
      std::string("SELECT seq, id, aggregatetype, aggregateid, type, payload, submission_id, route, subject, "
                  "created_at FROM outbox WHERE ") +
          kUnpublished + " AND seq > ?1 AND route IN (" + RoutesIn(routes, 3) + ") ORDER BY seq LIMIT ?2",
      [&](Stmt& s) {
        s.Bind(1, after).Bind(2, static_cast<int64_t>(limit));
        BindRoutes(s, routes, 3);
      },
      +[](Stmt& s) {
        return DomainEventRow{s.Int(0),  s.Text(1), s.Text(2), s.Text(3), s.Text(4),
                              s.Text(5), s.Text(6), s.Text(7), s.Text(8), s.Int(9)};
      });
  if (!rows.ok()) return rows.status();
  page.rows = std::move(*rows);
  auto held = SelectUnpublishedSeqs(c, "outbox", kUnpublished, routes, after);
  if (!held.ok()) return held.status();
  page.before = std::move(*held);
  return page;
}

Result<int> UpdatePublished(Conn& c, const std::string& table, const std::vector<int64_t>& seqs,
                            const std::string& error, Millis now) {
  // Up to kRows rows per statement: few statements, few shapes to prepare.
  constexpr size_t kRows = 128;
  int changed = 0;
  for (size_t from = 0; from < seqs.size(); from += kRows) {
    size_t n = std::min(kRows, seqs.size() - from);
    std::string in;
    for (size_t i = 0; i < n; ++i) in += (i ? ",?" : "?") + std::to_string(i + 2);
    auto rows = Change(c,
                       "UPDATE " + table +
                           (error.empty() ? " SET published_at=?1" : " SET publish_error=?1") +
                           ", publish_attempts=publish_attempts+1 WHERE seq IN (" + in + ")",
                       [&](Stmt& s) {
                         if (error.empty()) s.Bind(1, now);
                         else s.Bind(1, error);
                         for (size_t i = 0; i < n; ++i) s.Bind(static_cast<int>(i + 2), seqs[from + i]);
                       });
    if (!rows.ok()) return rows.status();
    changed += *rows;
  }
  return changed;
}

Result<bool> UpdateEvent(Conn& c, int64_t seq, bool delivered, Millis next_at, const std::string& error, Millis now) {
  auto n = delivered ? Change(c, "UPDATE events SET delivered_at=?2, attempts=attempts+1 WHERE seq=?1",
                              [&](Stmt& s) { s.Bind(1, seq).Bind(2, now); })
                     : Change(c, "UPDATE events SET next_at=?2, last_error=?3, attempts=attempts+1 WHERE seq=?1",
                              [&](Stmt& s) { s.Bind(1, seq).Bind(2, next_at).Bind(3, error); });
  if (!n.ok()) return n.status();
  return *n > 0;
}

}  // namespace writ::sql
