// mode: saga: the store concern (schema version 17: tables sagas and
// saga_attempts). A saga's state (saga_machine.h) is its recovery point:
// every request it makes is a command on the queue (store/command_queue.h),
// so retries, backoff, leases, fencing and the take-over of a dead worker are
// the queue's. The saga moves in the transaction that records its request's
// final outcome (the worker's on_terminal): the answer is remembered, the
// next request queued, the status changed and the attempt logged together,
// or none of it. A crash anywhere resumes from the last recorded step with
// the same derived keys.
//
// Thread-safety: every method may be called from any thread; callbacks run
// on the database's writer thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "patterns/saga/saga_machine.h"
#include "store/commands.h"
#include "store/database.h"
#include "store/key_store.h"

namespace writ {

struct Saga {
  std::string id, tenant, route, idem_key;
  SagaState state;
  std::string command_id;  // the request in flight ("" when none)
  std::string command_step;           // ... of this step
  bool command_compensation = false;  // ... its compensation
  Millis created_at = 0, updated_at = 0, finished_at = 0;
  Millis expires_at = 0;  // ended (not parked): deleted after this; 0 never
};

// One attempt of one of a saga's requests, as the step log shows it.
struct SagaAttempt {
  int64_t seq = 0;
  std::string step;
  bool compensation = false;
  int attempt = 0;
  int status = 0;       // the master's answer (0: none)
  std::string outcome;  // succeeded, refused, spent, retry
  std::string error;
  std::string command_id;
  Millis at = 0;
};

// How a saga route's requests become commands.
struct SagaQueue {
  // Where a step's requests (and its compensation's) go: the queue (the
  // worker that sends them to one upstream) and that upstream's base path.
  struct Target {
    std::string route;      // the commands' route: the worker that sends them
    std::string base_path;  // the upstream's, before each request's path
  };
  Target target;                          // a step not in `steps`
  std::map<std::string, Target> steps;    // by step name: steps sent to another upstream
  const Target& For(const std::string& step) const {
    auto it = steps.find(step);
    return it == steps.end() ? target : it->second;
  }
  Headers headers;        // sent with every request (Content-Type, ...)
  // The upstream Idempotency-Key of a saga's request: stable per (saga,
  // action key), so a re-sent step or compensation carries the same key.
  std::function<std::string(const std::string& saga_id, const std::string& action_key)> upstream_key;
  Millis again_delay = 5'000;  // a request sent once more waits this long
  // The route has a webhook: the saga's events (saga.started,
  // saga.step.succeeded, ...) are delivered to it, not only kept.
  EventSinks deliver_events = 0;
  // An ended saga (succeeded, compensated, cancelled) is kept this long,
  // with its step log and events; 0 without end. A parked one
  // (compensation_failed) is kept until an operator acts.
  Millis retention = 0;
};

struct SagaStartRequest {
  std::string tenant, route;
  LocalKey key;
  std::string input;  // the saga's input: a JSON object's text
  const SagaDef* def = nullptr;
  const SagaQueue* queue = nullptr;
  EventSinks notify = 0;
  // The answer stored with the key (202 with Location); runs inside the
  // transaction, so it must only format.
  std::function<StoredResponse(const Saga&)> respond;
};

struct SagaStartResult {
  bool created = false;  // false: the key had a record (`existing`)
  Saga saga;
  StoredResponse response;
  IdempotencyRecord existing;
};

class SagaStore {
 public:
  explicit SagaStore(Database& db) : db_(db) {}

  // The saga, its key record and its first request, in one transaction.
  void Start(SagaStartRequest req, Callback<SagaStartResult> done);
  // Inside the transaction that records command `o`'s final outcome: the
  // saga waiting on it moves on (no saga waits on it: nothing happens),
  // with its events (saga.step.succeeded, saga.compensating, ...). A
  // compensation answered 404 or 410 counts as done: what it would undo is
  // not there (the step never applied, or the compensation did already).
  static Status OnRequestFinished(sql::Conn& c, const AttemptOutcome& o, const SagaDef& def, const SagaQueue& q,
                                  Millis now);
  // Inside the transaction that schedules a retry of command `o`: logged.
  static Status OnRequestRetried(sql::Conn& c, const AttemptOutcome& o, Millis now);

  Result<std::optional<Saga>> Get(const std::string& id);
  Result<std::vector<SagaAttempt>> Attempts(const std::string& id);
  // How many sagas of `route` are in each status (statuses with none left out).
  Result<std::vector<std::pair<SagaStatus, int64_t>>> CountByStatus(const std::string& route);
  // Newest first; route "" every route; status nullopt any; tenant "" every tenant.
  Result<std::vector<Saga>> List(const std::string& route, std::optional<SagaStatus> status, int limit,
                                 const std::string& tenant = "");

  // A client's cancel: kConflict past the pivot or once finished.
  void Cancel(std::string id, Callback<Saga> done);
  // Operator: compensation_failed -> compensating, the parked compensation
  // queued again (after the master was fixed).
  void RetryCompensation(std::string id, const SagaDef* def, const SagaQueue* q, EventSinks notify, Callback<Saga> done);
  // Operator: compensation_failed -> compensated, with the operator's note
  // (its event delivered and its retention as `q` says; null: the route is
  // gone, kept without end).
  void MarkResolved(std::string id, std::string note, const SagaQueue* q, Callback<Saga> done);
  // The garbage collector's: deletes up to `batch` sagas past their
  // retention, with their step logs and events (not while an event still
  // waits for its webhook).
  static Result<int> CollectExpired(sql::Conn& c, int batch, Millis now);

  static SchemaStep Schema();  // version 17
  static SchemaStep ExpirySchema();  // version 18: sagas.expires_at

 private:
  Database& db_;
};

}  // namespace writ
