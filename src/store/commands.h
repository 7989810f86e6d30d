// Durable command queue types (CP-2 asynchronous writes): submissions, their
// attempts and the status events written with every state change
// (transactional outbox). The Store (store.h) persists them.
//
// A submission's life:
//   accepted --claim--> processing --success--> succeeded
//                          |  \--final 4xx--> failed
//                          |  \--budget spent--> dead
//                          \--transient--> processing (waiting, next_attempt_at)
//   accepted --cancel--> cancelled;  failed/dead --redrive--> accepted
// A claimed command carries a lease (fenced); a worker that dies leaves the
// lease to expire, and the command is claimed again with a new fence.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "core/clock.h"
#include "core/event_sinks.h"
#include "core/redact.h"
#include "core/http_types.h"
#include "core/status.h"

namespace writ {

namespace sql {
class Conn;
}

// kDuplicate: a bulk item whose key was already queued or applied (never sent).
enum class SubmissionStatus { kAccepted, kProcessing, kSucceeded, kFailed, kDead, kCancelled, kDuplicate };
const char* SubmissionStatusName(SubmissionStatus s);
std::optional<SubmissionStatus> ParseSubmissionStatus(const std::string& s);
inline bool IsTerminal(SubmissionStatus s) {
  return s == SubmissionStatus::kSucceeded || s == SubmissionStatus::kFailed || s == SubmissionStatus::kDead ||
         s == SubmissionStatus::kCancelled || s == SubmissionStatus::kDuplicate;
}

struct Command {
  int64_t seq = 0;            // acceptance order, unique
  std::string id;             // submission id, "sub_..."
  std::string tenant, route;  // route name
  std::string idem_key;       // the client's key ("" without one)
  std::string ordering_key;   // "" when the route has none
  // What is sent to the master, fixed at acceptance.
  std::string method, target;
  Headers headers;
  std::string body;
  std::string upstream_key;  // derived Idempotency-Key sent on every attempt

  SubmissionStatus status = SubmissionStatus::kAccepted;
  int attempts = 0;
  int redrives = 0;             // operator re-drives (retry from failed/dead)
  // The first attempt whose outcome was unknown (a lost answer, a status in
  // unknown_statuses, writ stopping during it): the master may have applied
  // the command even if it ended failed or dead. 0: none.
  int unknown_attempt = 0;
  int64_t fence = 0;            // bumped by every claim
  Millis next_attempt_at = 0;   // when not leased: earliest next attempt
  Millis lease_until = 0;       // 0 when not leased
  std::string last_error;
  std::string canonical_id;
  int response_status = 0;      // the master's last answer
  Headers response_headers;
  std::string response_body;
  Millis created_at = 0, updated_at = 0, finished_at = 0;
  Millis budget_from = 0;  // max_age counts from here (acceptance or last redrive)
  // Items of a buffered job (store/jobs.h); empty / -1 for async commands.
  std::string job_id;
  int64_t item_pos = -1;
  std::string item_key;
};

// A status event (outbox row), delivered to the route's webhook and streamed
// over SSE. `id` is stable across redeliveries.
struct StatusEvent {
  int64_t seq = 0;
  std::string id;  // "evt_<seq>_<submission>" style, unique
  std::string submission_id;
  std::string route;
  std::string type;     // "submission.accepted", "submission.succeeded", ...
  std::string payload;  // JSON object text
  Millis created_at = 0;
  int attempts = 0;  // webhook deliveries tried
  Millis next_at = 0;
  std::string last_error;
};

// A domain event (table outbox, outbox/domain_events.h): Debezium's outbox
// columns, and where the NATS sink publishes it.
struct DomainEventRow {
  int64_t seq = 0;
  std::string id, aggregatetype, aggregateid, type, payload;
  std::string submission_id, route, subject;
  Millis created_at = 0;
};

// What the NATS relay reads on from `after`: the unpublished rows after it,
// oldest first, and, from the same snapshot, the seqs of those at or before
// it (the relay's own, and any that committed after it read past them).
template <typename Row>
struct UnpublishedPage {
  std::vector<Row> rows;
  std::vector<int64_t> before;
};

// Accept: the idempotency record (completed with the 202 answer), the command
// and its first event, in one transaction.
struct AcceptRequest {
  Command command;                // id, route, request, ordering_key set by the caller
  bool has_key = false;           // false: no idempotency record
  // With a key: the command's upstream key from the key record's generation
  // (known inside the transaction: a key reused after its record expired
  // gets the next generation). Without: command.upstream_key as set.
  std::function<std::string(const std::string& generation)> upstream_key;
  std::string fingerprint, fingerprint_detail;
  Millis retention = 86'400'000;  // of the idempotency record
  int status = 202;               // the acknowledgement stored for replay
  Headers response_headers;
  std::string response_body;
  EventSinks notify = 0;              // the route has a webhook: events are to be delivered
};

// What the worker records after one attempt. Applied only if `fence` holds.
struct AttemptOutcome {
  std::string id;
  int64_t fence = 0;
  SubmissionStatus status = SubmissionStatus::kProcessing;  // kProcessing: retry at next_attempt_at
  Millis next_attempt_at = 0;
  std::string error;
  std::string canonical_id;
  int response_status = 0;
  Headers response_headers;
  std::string response_body;
  EventSinks notify = 0;
  bool event = true;             // write a status event for this change
  Millis retention = 604'800'000;  // terminal: kept this long, then deleted by GC
  int attempts = -1;               // >= 0: corrects the attempt count (a claim that made no attempt)
  bool outcome_unknown = false;    // this attempt's outcome is unknown (recorded as unknown_attempt)
  // Runs in the same transaction when the outcome is recorded and terminal:
  // a route whose own state follows its commands' (a draft's submit) moves
  // with them, atomically. Must be re-runnable and do no I/O.
  std::function<Status(sql::Conn&)> on_terminal;
  // Likewise when the outcome is recorded and not terminal (a retry is
  // scheduled): an edge route folds later unsent changes into this one.
  std::function<Status(sql::Conn&)> on_retry;
};

struct CommandFilter {
  std::string tenant;  // "" = all; ignored with job_id (a job's items are its tenant's)
  std::string route;   // "" = all
  std::optional<SubmissionStatus> status;
  int64_t after_seq = 0;  // cursor: list commands with seq > after_seq
  int limit = 100;
  std::string job_id;     // "": any; else the items of this job, after_seq = first position
  // Only commands whose outcome was unknown on some attempt (possiblyApplied)
  // and that are no job's items: what a probe can settle.
  bool possibly_applied = false;
};

struct QueueStat {
  std::string route;
  SubmissionStatus status;
  int64_t count = 0;
  Millis oldest_created_at = 0;  // of the commands counted
};

// Result of an operator action (redrive, cancel) on one submission.
// kPossiblyApplied: a redrive refused because an attempt's outcome was
// unknown on a route that must not send twice (see RedriveCommand).
enum class ActionResult { kDone, kNotFound, kWrongState, kPossiblyApplied };

// RFC 3339 UTC with milliseconds, e.g. 2026-11-25T14:20:58.123Z.
std::string FormatTimestamp(Millis ms);
// The submission as the status API and status events show it.
// `redact`: the route's redacted fields in the master's answer (core/redact.h).
boost::json::object SubmissionToJson(const Command& c, const Redactor* redact = nullptr);
// An event's payload (type, timestamp, data: a submission's view) with the
// route's redacted fields replaced in data.response.body.
std::string RedactedEventPayload(const std::string& payload, const Redactor* redact);
// `events` from index `from` as a text/event-stream body (id, event, data
// per event; a comment when there is none), for EventSource clients that
// reconnect with Last-Event-ID.
std::string EventStreamBody(const std::vector<StatusEvent>& events, size_t from, const Redactor* redact);

}  // namespace writ
