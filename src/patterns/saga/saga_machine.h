// mode: saga: the saga's state machine, as pure functions (no store, no
// network), for the route and its tests. A saga runs its steps one at a
// time, in order; each step is one request to a master, sent by the queue
// machinery (retries with backoff within the step's budget, a key derived
// from the saga and the step, leases, take-over of a dead worker). What
// the queue reports of a step decides what comes next:
//
//   running, step k answered 2xx      -> step k+1, or `succeeded` after the last
//   running, step k refused finally   -> compensating: the completed steps'
//     (a final status) or its budget     compensations in reverse order (step k
//     spent, before the pivot passed     too when its outcome is unknown: it may
//                                        have been applied)
//   running, step k's outcome unknown -> compensating, but first step k once
//     and its compensation needs its     more with the same key: a master that
//     own answer (/steps/<k>/...)        honours keys answers as it did (or
//                                        applies it now, which the compensation
//                                        undoes); then the compensations, with
//                                        that answer when it came
//   running, after the pivot passed   -> step k again (forward recovery: the
//     step k refused or spent            saga never unwinds past its pivot)
//   compensating, compensation of j   -> the next lower step with a compensation,
//     answered 2xx                       or `compensated` (`cancelled` when a
//                                        cancel began it)
//   compensating, compensation of j   -> sent again: compensations are retried
//     spent                              without end (an alert metric shows them)
//   compensating, compensation of j   -> `compensation_failed`: parked for an
//     refused finally                    operator, with the reason
//   cancel while running, before      -> once the step in flight is answered,
//     the pivot passed                   compensating (ends `cancelled`)
//
// A step whose request cannot be built (a template names nothing) counts as
// refused without a call. Steps without `compensate` have nothing to undo
// and are skipped going back.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "core/clock.h"
#include "patterns/saga/saga_template.h"

namespace writ {

enum class SagaStatus { kRunning, kCompensating, kSucceeded, kCompensated, kCompensationFailed, kCancelled };
const char* SagaStatusName(SagaStatus s);
std::optional<SagaStatus> ParseSagaStatus(const std::string& s);
bool SagaTerminal(SagaStatus s);

struct SagaRequestDef {
  std::string method = "POST";
  SagaTemplate path;
  std::optional<SagaBodyTemplate> body;  // none: no body
  // Every pointer its path and body name (config checks, input checks).
  std::vector<std::string> pointers() const;
};

struct SagaStepDef {
  std::string name;
  std::string upstream;  // the master it is sent to (and its compensation); empty: the route's
  SagaRequestDef request;
  std::optional<SagaRequestDef> compensate;  // may use the step's own answer (/steps/NAME/...)
  bool pivot = false;
};

struct SagaDef {
  std::vector<SagaStepDef> steps;
  // Index of the pivot step, or -1.
  int pivot() const;
};

struct SagaState {
  SagaStatus status = SagaStatus::kRunning;
  int step = 0;                   // running: the step being run; compensating: the step being compensated
  bool pivot_passed = false;      // the pivot step succeeded: no unwinding from here
  bool cancel_requested = false;  // a cancel arrived while a step was in flight
  bool cancelled = false;         // the compensation was begun by a cancel
  // {"input": <the saga's input>, "steps": {"<name>": {"status": N, "body": <answer>}}}
  boost::json::value context;
  // Steps whose request was (or may have been) applied, in the order run:
  // what a compensation walks back through.
  std::vector<int> applied;
  std::string reason;  // why it compensates, or is parked
  // Compensating, and the request in flight is step `step` itself, re-sent
  // once because its outcome is unknown and its compensation needs its
  // answer (the store derives it: compensating with a step's request in flight).
  bool recovering = false;
};

// What the queue reports of one step's (or compensation's) request.
struct SagaStepResult {
  enum Kind {
    kSucceeded,  // a final 2xx answer
    kRefused,    // a final refusal (final_statuses): not applied
    kSpent,      // the budget ran out (attempts or age): applied or not, unknown when `possibly_applied`
  } kind = kSucceeded;
  bool possibly_applied = false;  // kSpent: an attempt's outcome was unknown
  int status = 0;                 // the master's last answer (0: none)
  std::string body;               // its body (JSON text, or anything)
  std::string reason;             // for the saga's reason
};

// The next request to queue, or none when the saga reached a terminal
// status (or is parked).
struct SagaAction {
  bool send = false;
  std::string step;           // the step's name
  bool compensation = false;  // its compensation
  std::string method, path, body;
  // The same request once more (a spent compensation, a step after the
  // pivot): the route queues it after a pause rather than at once.
  bool again = false;
  // A key for the request, stable across re-sends of the same step:
  // "<step>" or "<step>/compensate" (the route derives the upstream key from
  // it and the saga's id).
  std::string key() const { return compensation ? step + "/compensate" : step; }
};

// The saga's first request (state: status running, step 0, context with
// its input). A first step whose request cannot be built leaves the saga
// compensated at once, with the reason.
SagaAction SagaStart(const SagaDef& def, SagaState& state);
// What comes after `result` of the request the state is waiting on.
SagaAction SagaAdvance(const SagaDef& def, SagaState& state, const SagaStepResult& result);
// A cancel: true when taken (the saga will compensate once the step in
// flight is answered); false when the pivot has passed or the saga is no
// longer running.
bool SagaCancel(const SagaDef& def, SagaState& state);

}  // namespace writ
