// Internal to the SQL stores: the command queue and status events as
// statements on one connection (SQLite or PostgreSQL). Every function runs
// inside the caller's transaction on the writer connection, or on a reader.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/commands.h"
#include "store/sql/conn.h"

namespace writ::sql {

// PostgreSQL: NOTIFY writ_work, route (delivered at commit, to every
// instance), once per route and transaction. SQLite: nothing (one process:
// its routes wake their workers directly).
Status NotifyWork(Conn& c, const std::string& route);
// SQL: the event row `e` still waits for its webhook or its NATS publish
// (retention keeps its submission until it is sent).
inline const std::string kEventUnsent =
    "((e.deliver IN (1,3) AND e.delivered_at IS NULL) OR (e.deliver IN (2,3) AND e.published_at IS NULL))";
// Inserts an accepted command, due at `not_before` (or now, if later);
// returns it as stored (status, times, seq).
Result<Command> InsertCommand(Conn& c, Command cmd, Millis now, Millis not_before = 0);
// Writes the event "submission.<status>" showing `cmd`, which must be the
// command's current row (as the caller just wrote it).
Status InsertEvent(Conn& c, const Command& cmd, EventSinks deliver, Millis now, const std::string& note = "");
// The same for many commands in one statement.
Status InsertEvents(Conn& c, const std::vector<const Command*>& cmds, EventSinks deliver, Millis now,
                    const std::string& note = "");
// The same, reading the command's current row first.
Status InsertEventFor(Conn& c, const std::string& submission_id, EventSinks deliver, Millis now,
                      const std::string& note = "");
// An event of a mode's own (e.g. "id.mapped") in a submission's stream, with
// `data` (a JSON object's text) as the Standard Webhooks payload's data.
Status InsertNamedEvent(Conn& c, const std::string& submission_id, const std::string& route, const std::string& type,
                        const std::string& data, EventSinks deliver, Millis now);
Result<std::vector<Command>> ClaimDue(Conn& c, const std::string& route, int limit, Millis lease, EventSinks notify,
                                      Millis now);
Result<int> ExtendLeases(Conn& c, const std::vector<std::pair<std::string, int64_t>>& held, Millis until);
Result<bool> ApplyOutcome(Conn& c, const AttemptOutcome& o, Millis now);
// failed/dead -> accepted with a fresh budget. A command that may have been
// applied (unknown_attempt > 0) is kPossiblyApplied unless `allow_unknown`
// (the route's master honours keys, a probe said "not found", or an
// operator confirmed).
Result<ActionResult> RedriveCommand(Conn& c, const std::string& id, EventSinks notify, Millis now, bool allow_unknown,
                                    const std::string& note = "redriven by an operator");
// A dead command that may have been applied, found applied at the master:
// succeeded with `answer` (reconstructed), with its status event. Not for
// buffered items (kWrongState).
Result<ActionResult> ResolveCommandApplied(Conn& c, const std::string& id, int status, const Headers& headers,
                                           const std::string& body, const std::string& canonical_id, EventSinks notify,
                                           Millis retention, Millis now);
Result<ActionResult> CancelCommand(Conn& c, const std::string& id, EventSinks notify, Millis retention, Millis now);
// Deletes up to `batch` finished commands past their retention, with their
// events; returns how many commands were deleted.
Result<int> DeleteExpiredCommands(Conn& c, int batch, Millis now);

Result<std::optional<Command>> SelectCommand(Conn& c, const std::string& id);
Result<std::vector<Command>> SelectCommands(Conn& c, const CommandFilter& f);
Result<std::vector<QueueStat>> SelectQueueStats(Conn& c);
Result<std::map<std::string, int64_t>> SelectPendingByTenant(Conn& c);
Result<std::vector<StatusEvent>> SelectEvents(Conn& c, const std::string& submission_id, int64_t after_seq);
Result<std::vector<StatusEvent>> SelectDueEvents(Conn& c, int limit, Millis now);
// NATS relay: the unpublished events of `routes` (routes with a NATS sink)
// after seq `after`, oldest first, at most `limit`, and the seqs of those at
// or before `after`. Run them in one snapshot (CommandQueue does).
Result<UnpublishedPage<StatusEvent>> SelectUnpublishedEventsAfter(Conn& c, const std::vector<std::string>& routes,
                                                                  int64_t after, int limit);
// The same for domain events (table outbox).
Result<UnpublishedPage<DomainEventRow>> SelectUnpublishedDomainEventsAfter(Conn& c,
                                                                           const std::vector<std::string>& routes,
                                                                           int64_t after, int limit);
// `table` "events" or "outbox": `error` empty, the rows are published; else
// one more failed try.
Result<int> UpdatePublished(Conn& c, const std::string& table, const std::vector<int64_t>& seqs,
                            const std::string& error, Millis now);
Result<bool> UpdateEvent(Conn& c, int64_t seq, bool delivered, Millis next_at, const std::string& error, Millis now);

}  // namespace writ::sql
