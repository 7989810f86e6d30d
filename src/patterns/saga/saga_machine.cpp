#include "patterns/saga/saga_machine.h"

#include <boost/json.hpp>

#include "core/json.h"

namespace writ {

namespace json = boost::json;

const char* SagaStatusName(SagaStatus s) {
  switch (s) {
    case SagaStatus::kRunning:
      return "running";
    case SagaStatus::kCompensating:
      return "compensating";
    case SagaStatus::kSucceeded:
      return "succeeded";
    case SagaStatus::kCompensated:
      return "compensated";
    case SagaStatus::kCompensationFailed:
      return "compensation_failed";
    case SagaStatus::kCancelled:
      return "cancelled";
  }
  return "?";
}

std::optional<SagaStatus> ParseSagaStatus(const std::string& s) {
  for (auto st : {SagaStatus::kRunning, SagaStatus::kCompensating, SagaStatus::kSucceeded, SagaStatus::kCompensated,
                  SagaStatus::kCompensationFailed, SagaStatus::kCancelled})
    if (s == SagaStatusName(st)) return st;
  return std::nullopt;
}

bool SagaTerminal(SagaStatus s) {
  return s == SagaStatus::kSucceeded || s == SagaStatus::kCompensated || s == SagaStatus::kCancelled ||
         s == SagaStatus::kCompensationFailed;
}

std::vector<std::string> SagaRequestDef::pointers() const {
  std::vector<std::string> out = path.pointers();
  if (body)
    for (auto& p : body->pointers()) out.push_back(std::move(p));
  return out;
}

int SagaDef::pivot() const {
  for (size_t i = 0; i < steps.size(); ++i)
    if (steps[i].pivot) return static_cast<int>(i);
  return -1;
}

namespace {

// The request of `def` for `context`; nullopt (and `error`) when a template
// names nothing.
std::optional<SagaAction> Build(const SagaRequestDef& def, const json::value& context, std::string* error) {
  SagaAction a;
  a.send = true;
  a.method = def.method;
  auto path = def.path.ExpandPath(context);
  if (!path.ok()) {
    *error = path.status().message();
    return std::nullopt;
  }
  a.path = std::move(*path);
  if (def.body) {
    auto body = def.body->Expand(context);
    if (!body.ok()) {
      *error = body.status().message();
      return std::nullopt;
    }
    a.body = json::serialize(*body);
  }
  return a;
}

// Records a step's answer in the context: /steps/<name>/{status,body}
// (the body parsed when it is JSON, else its text).
void Remember(SagaState& state, const std::string& name, const SagaStepResult& r) {
  if (!state.context.is_object()) state.context = json::object{};
  auto& steps = state.context.as_object()["steps"];
  if (!steps.is_object()) steps = json::object{};
  auto body = ParseJsonStrict(r.body);
  steps.as_object()[name] = json::object{{"status", r.status}, {"body", body.ok() ? *body : json::value(r.body)}};
}

SagaAction Finish(SagaState& state, SagaStatus status) {
  state.status = status;
  return SagaAction{};
}

// The compensation of the next applied step, from the top of `applied`
// down; the saga ends compensated (or cancelled) when none is left.
SagaAction NextCompensation(const SagaDef& def, SagaState& state) {
  while (!state.applied.empty()) {
    int j = state.applied.back();
    const SagaStepDef& s = def.steps[static_cast<size_t>(j)];
    if (!s.compensate) {
      state.applied.pop_back();
      continue;
    }
    state.step = j;
    std::string error;
    auto a = Build(*s.compensate, state.context, &error);
    if (!a) {
      // A compensation that cannot be built will never succeed: an operator's.
      state.reason = "the compensation of '" + s.name + "' cannot be built: " + error;
      return Finish(state, SagaStatus::kCompensationFailed);
    }
    a->step = s.name;
    a->compensation = true;
    return *a;
  }
  return Finish(state, state.cancelled ? SagaStatus::kCancelled : SagaStatus::kCompensated);
}

// Whether `s`'s compensation names the step's own answer (/steps/<name>...).
bool NeedsOwnAnswer(const SagaStepDef& s) {
  if (!s.compensate) return false;
  std::string own = "/steps/";
  for (char c : s.name) own += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
  for (const auto& p : s.compensate->pointers())
    if (p == own || p.rfind(own + "/", 0) == 0) return true;
  return false;
}

SagaAction BeginCompensation(const SagaDef& def, SagaState& state, const std::string& reason) {
  state.status = SagaStatus::kCompensating;
  if (state.reason.empty()) state.reason = reason;
  return NextCompensation(def, state);
}

// The request of step `k` (running), or compensation when it cannot be built.
SagaAction RunStep(const SagaDef& def, SagaState& state, int k) {
  state.step = k;
  const SagaStepDef& s = def.steps[static_cast<size_t>(k)];
  std::string error;
  auto a = Build(s.request, state.context, &error);
  if (!a) {
    std::string reason = "step '" + s.name + "' cannot be built: " + error;
    if (state.pivot_passed) {
      // Past the pivot nothing unwinds; a step that cannot be built never
      // will be: an operator's.
      state.reason = reason;
      return Finish(state, SagaStatus::kCompensationFailed);
    }
    return BeginCompensation(def, state, reason);
  }
  a->step = s.name;
  return *a;
}

}  // namespace

SagaAction SagaStart(const SagaDef& def, SagaState& state) {
  state.status = SagaStatus::kRunning;
  state.applied.clear();
  if (def.steps.empty()) return Finish(state, SagaStatus::kSucceeded);
  return RunStep(def, state, 0);
}

SagaAction SagaAdvance(const SagaDef& def, SagaState& state, const SagaStepResult& r) {
  if (SagaTerminal(state.status)) return SagaAction{};
  const SagaStepDef& s = def.steps[static_cast<size_t>(state.step)];
  if (state.status == SagaStatus::kCompensating && state.recovering) {
    // The answer to the step's re-send: its answer when the master kept it
    // (or applied it now). Either way the compensations follow; one that
    // still cannot be built parks the saga.
    state.recovering = false;
    if (r.kind == SagaStepResult::kSucceeded) Remember(state, s.name, r);
    return NextCompensation(def, state);
  }
  if (state.status == SagaStatus::kCompensating) {
    switch (r.kind) {
      case SagaStepResult::kSucceeded:
        state.applied.pop_back();
        return NextCompensation(def, state);
      case SagaStepResult::kSpent: {
        SagaAction again = NextCompensation(def, state);  // the same compensation, without end
        again.again = true;
        return again;
      }
      case SagaStepResult::kRefused:
        state.reason = "the compensation of '" + s.name + "' was refused (" + std::to_string(r.status) + ")" +
                       (r.reason.empty() ? "" : ": " + r.reason);
        return Finish(state, SagaStatus::kCompensationFailed);
    }
  }
  // Running: the answer of step `state.step`.
  if (r.kind == SagaStepResult::kSucceeded) {
    Remember(state, s.name, r);
    state.applied.push_back(state.step);
    if (s.pivot) state.pivot_passed = true;
    if (state.cancel_requested && !state.pivot_passed) {
      state.cancelled = true;
      return BeginCompensation(def, state, "cancelled");
    }
    if (state.step + 1 == static_cast<int>(def.steps.size())) return Finish(state, SagaStatus::kSucceeded);
    return RunStep(def, state, state.step + 1);
  }
  if (state.pivot_passed) {  // forward recovery: the same step, until it succeeds or an operator acts
    state.reason = "step '" + s.name + "' failed after the pivot; retried";
    SagaAction again = RunStep(def, state, state.step);
    again.again = again.send;
    return again;
  }
  bool maybe = r.kind == SagaStepResult::kSpent && r.possibly_applied;
  if (maybe) {
    Remember(state, s.name, r);
    state.applied.push_back(state.step);  // its compensation must undo it, or be harmless
  }
  if (state.cancel_requested) state.cancelled = true;
  std::string why = r.kind == SagaStepResult::kRefused
                        ? "step '" + s.name + "' was refused (" + std::to_string(r.status) + ")"
                        : "step '" + s.name + "' spent its budget" + (maybe ? " (its outcome unknown)" : "");
  why += r.reason.empty() ? "" : ": " + r.reason;
  if (maybe && NeedsOwnAnswer(s)) {
    // Its compensation needs its answer, which never came: the step once
    // more, with the same key, to learn it before compensating.
    std::string error;
    if (auto again = Build(s.request, state.context, &error)) {
      state.status = SagaStatus::kCompensating;
      if (state.reason.empty()) state.reason = why + "; re-sent once to learn its answer";
      state.recovering = true;
      again->step = s.name;
      again->again = true;  // after a pause: the master was not answering
      return *again;
    }
  }
  return BeginCompensation(def, state, why);
}

bool SagaCancel(const SagaDef& def, SagaState& state) {
  (void)def;
  if (state.status != SagaStatus::kRunning || state.pivot_passed) return false;
  state.cancel_requested = true;
  return true;
}

}  // namespace writ
