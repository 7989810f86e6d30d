#include "store/command_queue.h"


#include "store/sql/keys.h"
#include "store/sql/queue.h"

namespace writ {

using namespace sql;  // Conn, Stmt and the shared queries

SchemaStep QueueSchemaStep();         // queue_schema.cpp
SchemaStep QueueUnknownSchemaStep();  // queue_schema.cpp
SchemaStep CommandQueue::Schema() { return QueueSchemaStep(); }
SchemaStep CommandQueue::UnknownSchema() { return QueueUnknownSchemaStep(); }
SchemaStep QueueSinkSchemaStep();  // queue_schema.cpp
SchemaStep CommandQueue::SinkSchema() { return QueueSinkSchemaStep(); }
SchemaStep QueueRelayIndexSchemaStep();  // queue_schema.cpp
SchemaStep CommandQueue::RelayIndexSchema() { return QueueRelayIndexSchemaStep(); }

Result<Command> CommandQueue::Enqueue(Conn& c, Command command, EventSinks notify, Millis now, Millis not_before) {
  auto cmd = InsertCommand(c, std::move(command), now, not_before);
  if (!cmd.ok()) return cmd.status();
  if (auto s = InsertEvent(c, *cmd, notify, now); !s.ok()) return s;
  if (auto s = NotifyWork(c, cmd->route); !s.ok()) return s;
  return cmd;
}

void CommandQueue::Accept(AcceptRequest req, Callback<ClaimResult> done) {
  Database& db = db_;
  SubmitFor<ClaimResult>(
      db_,
      [&db, req = std::move(req)](Conn& c) -> Result<ClaimResult> {
        ClaimResult out;
        Millis now = db.Now();
        Command command = req.command;
        if (req.has_key) {
          KeyId id{req.command.tenant, req.command.route, req.command.idem_key};
          StoredResponse ack{req.status, req.response_headers, req.response_body};
          std::string generation;
          auto inserted = InsertCompletedRecord(c, id, req.fingerprint, req.fingerprint_detail, ack, now, req.retention,
                                                &generation);
          if (!inserted.ok()) return inserted.status();
          if (!*inserted) {  // a retry, or the key reused: the caller decides
            auto cur = SelectRecord(c, id);
            if (!cur.ok()) return cur.status();
            if (!cur->has_value()) return Status(Code::kUnavailable, "accept: the key's record vanished; retry");
            out.existing = std::move(**cur);
            return out;
          }
          if (req.upstream_key) command.upstream_key = req.upstream_key(generation);
        }
        auto cmd = Enqueue(c, std::move(command), req.notify, now);
        if (!cmd.ok()) return cmd.status();
        out.claimed = true;
        return out;
      },
      std::move(done));
}

void CommandQueue::ClaimCommands(std::string route, int limit, Millis lease, EventSinks notify,
                                 Callback<std::vector<Command>> done) {
  Database& db = db_;
  SubmitFor<std::vector<Command>>(
      db_,
      [&db, route = std::move(route), limit, lease, notify](Conn& c) {
        return ClaimDue(c, route, limit, lease, notify, db.Now());
      },
      std::move(done), /*durable=*/false);
}

void CommandQueue::ExtendLeases(std::vector<std::pair<std::string, int64_t>> held, Millis lease, Callback<int> done) {
  Database& db = db_;
  SubmitFor<int>(
      db_, [&db, held = std::move(held), lease](Conn& c) { return sql::ExtendLeases(c, held, db.Now() + lease); },
      std::move(done), /*durable=*/false);
}

void CommandQueue::FinishAttempt(AttemptOutcome o, Callback<bool> done) {
  // A retry schedule may wait for the next durable commit: if lost, the
  // lease expires and the command is simply attempted again.
  bool durable = IsTerminal(o.status);
  Database& db = db_;
  SubmitFor<bool>(
      db_,
      [&db, o = std::move(o)](Conn& c) -> Result<bool> {
        auto changed = ApplyOutcome(c, o, db.Now());
        if (!changed.ok() || !*changed) return changed;
        const auto& hook = IsTerminal(o.status) ? o.on_terminal : o.on_retry;
        if (hook)
          if (auto s = hook(c); !s.ok()) return s;
        return true;
      },
      std::move(done), durable);
}

void CommandQueue::Redrive(std::string id, EventSinks notify, bool allow_unknown, Callback<ActionResult> done,
                           std::string note) {
  Database& db = db_;
  SubmitFor<ActionResult>(
      db_,
      [&db, id = std::move(id), notify, allow_unknown, note = std::move(note)](Conn& c) {
        return RedriveCommand(c, id, notify, db.Now(), allow_unknown, note);
      },
      std::move(done));
}

void CommandQueue::ResolveApplied(std::string id, int status, Headers headers, std::string body,
                                  std::string canonical_id, EventSinks notify, Millis retention,
                                  Callback<ActionResult> done) {
  Database& db = db_;
  SubmitFor<ActionResult>(
      db_,
      [&db, id = std::move(id), status, headers = std::move(headers), body = std::move(body),
       canonical_id = std::move(canonical_id), notify, retention](Conn& c) {
        return ResolveCommandApplied(c, id, status, headers, body, canonical_id, notify, retention, db.Now());
      },
      std::move(done));
}

void CommandQueue::Cancel(std::string id, EventSinks notify, Millis retention, Callback<ActionResult> done) {
  Database& db = db_;
  SubmitFor<ActionResult>(
      db_,
      [&db, id = std::move(id), notify, retention](Conn& c) {
        return CancelCommand(c, id, notify, retention, db.Now());
      },
      std::move(done));
}

Result<std::optional<Command>> CommandQueue::GetCommand(const std::string& id) {
  return ReadFor<std::optional<Command>>(db_, [&](Conn& c) { return SelectCommand(c, id); });
}
Result<std::vector<Command>> CommandQueue::ListCommands(const CommandFilter& f) {
  return ReadFor<std::vector<Command>>(db_, [&](Conn& c) { return SelectCommands(c, f); });
}
Result<std::map<std::string, int64_t>> CommandQueue::PendingByTenant() {
  return ReadFor<std::map<std::string, int64_t>>(db_, [&](Conn& c) { return SelectPendingByTenant(c); });
}

Result<std::vector<QueueStat>> CommandQueue::QueueStats() {
  return ReadFor<std::vector<QueueStat>>(db_, [&](Conn& c) { return SelectQueueStats(c); });
}
Result<std::vector<StatusEvent>> CommandQueue::ListEvents(const std::string& submission_id, int64_t after_seq) {
  return ReadFor<std::vector<StatusEvent>>(db_, [&](Conn& c) { return SelectEvents(c, submission_id, after_seq); });
}
Result<std::vector<StatusEvent>> CommandQueue::DueEvents(int limit) {
  return ReadFor<std::vector<StatusEvent>>(db_, [&](Conn& c) { return SelectDueEvents(c, limit, db_.Now()); });
}

void CommandQueue::MarkEvent(int64_t seq, bool delivered, Millis next_at, std::string error, Callback<bool> done) {
  Database& db = db_;
  SubmitFor<bool>(
      db_,
      [&db, seq, delivered, next_at, error = std::move(error)](Conn& c) {
        return UpdateEvent(c, seq, delivered, next_at, error, db.Now());
      },
      std::move(done), /*durable=*/delivered);
}

namespace {

// Runs `fn`'s reads in one read-only transaction: they see one snapshot.
template <typename T, typename F>
Result<T> InSnapshot(sql::Conn& c, F&& fn) {
  if (auto s = c.Exec(c.postgres() ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN"); !s.ok()) return s;
  Result<T> out = fn(c);
  if (auto s = c.Exec(out.ok() ? "COMMIT" : "ROLLBACK"); !s.ok() && out.ok()) return s;
  return out;
}

}  // namespace

Result<UnpublishedPage<StatusEvent>> CommandQueue::UnpublishedEventsAfter(const std::vector<std::string>& routes,
                                                                          int64_t after, int limit) {
  return ReadFor<UnpublishedPage<StatusEvent>>(db_, [&](sql::Conn& c) {
    return InSnapshot<UnpublishedPage<StatusEvent>>(
        c, [&](sql::Conn& c) { return SelectUnpublishedEventsAfter(c, routes, after, limit); });
  });
}

Result<UnpublishedPage<DomainEventRow>> CommandQueue::UnpublishedDomainEventsAfter(
    const std::vector<std::string>& routes, int64_t after, int limit) {
  return ReadFor<UnpublishedPage<DomainEventRow>>(db_, [&](sql::Conn& c) {
    return InSnapshot<UnpublishedPage<DomainEventRow>>(
        c, [&](sql::Conn& c) { return SelectUnpublishedDomainEventsAfter(c, routes, after, limit); });
  });
}

void CommandQueue::MarkPublished(bool domain, std::vector<int64_t> seqs, std::string error, Callback<int> done) {
  Database& db = db_;
  SubmitFor<int>(
      db_,
      [&db, domain, seqs = std::move(seqs), error = std::move(error)](Conn& c) {
        return UpdatePublished(c, domain ? "outbox" : "events", seqs, error, db.Now());
      },
      // Not fsynced: a mark lost to a machine crash publishes the events
      // again under their ids, which JetStream drops as duplicates.
      std::move(done), /*durable=*/false);
}

Result<int> CommandQueue::DeleteExpired(Conn& c, int batch, Millis now) { return DeleteExpiredCommands(c, batch, now); }

Result<ClaimResult> AcceptSync(CommandQueue& q, AcceptRequest req) {
  return Wait<ClaimResult>([&](auto cb) { q.Accept(std::move(req), cb); });
}
Result<std::vector<Command>> ClaimCommandsSync(CommandQueue& q, std::string route, int limit, Millis lease,
                                               EventSinks notify) {
  return Wait<std::vector<Command>>([&](auto cb) { q.ClaimCommands(std::move(route), limit, lease, notify, cb); });
}
Result<bool> FinishAttemptSync(CommandQueue& q, AttemptOutcome outcome) {
  return Wait<bool>([&](auto cb) { q.FinishAttempt(std::move(outcome), cb); });
}
Result<ActionResult> RedriveSync(CommandQueue& q, std::string id, EventSinks notify, bool allow_unknown) {
  return Wait<ActionResult>([&](auto cb) { q.Redrive(std::move(id), notify, allow_unknown, cb); });
}
Result<ActionResult> CancelSync(CommandQueue& q, std::string id, EventSinks notify, Millis retention) {
  return Wait<ActionResult>([&](auto cb) { q.Cancel(std::move(id), notify, retention, cb); });
}

}  // namespace writ
