// CommandQueue: the durable command queue of async routes and buffered
// items (store/commands.h has the types and a submission's life), with the
// status events written in the same transaction as every state change
// (transactional outbox), on the shared group-commit database.
// Thread-safety: every method may be called from any thread; callbacks run
// on the database's writer thread.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "store/commands.h"
#include "store/database.h"
#include "store/key_store.h"

namespace writ {

class CommandQueue {
 public:
  explicit CommandQueue(Database& db) : db_(db) {}

  // Creates the idempotency record (when req.has_key) and the command and its
  // "accepted" event in one durable transaction. When the key already has a
  // record nothing is written and the result is that record (claimed=false).
  void Accept(AcceptRequest req, Callback<ClaimResult> done);
  // Leases up to `limit` due commands of `route` (accepted, waiting for a
  // retry, or processing with an expired lease), oldest first; a command
  // whose ordering key has an older unfinished command is skipped. Each
  // claim bumps attempts and the fence. Not fsynced on its own.
  void ClaimCommands(std::string route, int limit, Millis lease, EventSinks notify, Callback<std::vector<Command>> done);
  // Extends the leases of commands still held with these fences.
  void ExtendLeases(std::vector<std::pair<std::string, int64_t>> held, Millis lease, Callback<int> done);
  // Records an attempt's outcome (and its event) if the fence still holds.
  void FinishAttempt(AttemptOutcome outcome, Callback<bool> done);
  // Operator: failed/dead -> accepted with a fresh attempt budget; one that
  // may have been applied only with `allow_unknown` (else kPossiblyApplied).
  void Redrive(std::string id, EventSinks notify, bool allow_unknown, Callback<ActionResult> done,
               std::string note = "redriven by an operator");
  // A probe found a dead, possibly applied command applied at the master:
  // dead -> succeeded with the reconstructed answer, and its event.
  void ResolveApplied(std::string id, int status, Headers headers, std::string body, std::string canonical_id,
                      EventSinks notify, Millis retention, Callback<ActionResult> done);
  // Operator or client: accepted and never attempted -> cancelled, kept for
  // `retention`.
  void Cancel(std::string id, EventSinks notify, Millis retention, Callback<ActionResult> done);
  Result<std::optional<Command>> GetCommand(const std::string& id);
  Result<std::vector<Command>> ListCommands(const CommandFilter& filter);
  Result<std::vector<QueueStat>> QueueStats();
  // Unfinished commands (accepted or processing: async submissions and
  // buffered items) per tenant, for quotas.max_pending.
  Result<std::map<std::string, int64_t>> PendingByTenant();
  // Events of one submission with seq > after_seq, oldest first.
  Result<std::vector<StatusEvent>> ListEvents(const std::string& submission_id, int64_t after_seq);
  // Webhook relay: undelivered events due now, oldest first, only the oldest
  // undelivered one of each submission (a submission's events in order).
  Result<std::vector<StatusEvent>> DueEvents(int limit);
  // delivered: marks the event sent; otherwise records the error and next try.
  void MarkEvent(int64_t seq, bool delivered, Millis next_at, std::string error, Callback<bool> done);
  // NATS relay: the unpublished events of `routes` after seq `after`,
  // oldest first, at most `limit`, and the seqs of those at or before
  // `after`, read in one snapshot (see UnpublishedPage).
  Result<UnpublishedPage<StatusEvent>> UnpublishedEventsAfter(const std::vector<std::string>& routes, int64_t after,
                                                              int limit);
  // The same for domain events (table outbox).
  Result<UnpublishedPage<DomainEventRow>> UnpublishedDomainEventsAfter(const std::vector<std::string>& routes,
                                                                       int64_t after, int limit);
  // Marks events (`domain`: domain events) published (acknowledged by
  // JetStream), or records a failed try (`error`), in one transaction;
  // returns how many rows changed.
  void MarkPublished(bool domain, std::vector<int64_t> seqs, std::string error, Callback<int> done);

  // Inside the caller's transaction: the command, its first event and the
  // wake-up of other instances (for concerns that queue a command together
  // with their own state change, like a draft's submit). It is claimed no
  // sooner than `not_before`. Returns it as stored.
  static Result<Command> Enqueue(sql::Conn& c, Command cmd, EventSinks notify, Millis now, Millis not_before = 0);
  // Deletes up to `batch` finished commands past their retention, with their
  // events, inside the caller's transaction.
  static Result<int> DeleteExpired(sql::Conn& c, int batch, Millis now);
  static SchemaStep Schema();         // version 2
  static SchemaStep UnknownSchema();  // version 6: unknown_attempt
  static SchemaStep SinkSchema();     // version 19: the NATS sink's delivery state of each event
  static SchemaStep RelayIndexSchema();  // version 20: the NATS relay's indexes carry the route

 private:
  Database& db_;
};

Result<ClaimResult> AcceptSync(CommandQueue& q, AcceptRequest req);
Result<std::vector<Command>> ClaimCommandsSync(CommandQueue& q, std::string route, int limit, Millis lease,
                                               EventSinks notify = false);
Result<bool> FinishAttemptSync(CommandQueue& q, AttemptOutcome outcome);
Result<ActionResult> RedriveSync(CommandQueue& q, std::string id, EventSinks notify, bool allow_unknown = false);
Result<ActionResult> CancelSync(CommandQueue& q, std::string id, EventSinks notify, Millis retention);

}  // namespace writ
