#include "store/store.h"

#include <future>

#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace writ {

const char* KeyStateName(KeyState s) {
  switch (s) {
    case KeyState::kInFlight: return "in_flight";
    case KeyState::kCompleted: return "completed";
    case KeyState::kUnknown: return "unknown";
  }
  return "?";
}

std::optional<KeyState> ParseKeyState(const std::string& s) {
  if (s == "in_flight") return KeyState::kInFlight;
  if (s == "completed") return KeyState::kCompleted;
  if (s == "unknown") return KeyState::kUnknown;
  return std::nullopt;
}

namespace {
template <typename T, typename F>
Result<T> Wait(F&& start) {
  std::promise<Result<T>> p;
  auto f = p.get_future();
  start([&p](Result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}
}  // namespace

Result<ClaimResult> ClaimSync(Store& s, ClaimRequest req) {
  return Wait<ClaimResult>([&](auto cb) { s.Claim(std::move(req), cb); });
}
Result<bool> CompleteSync(Store& s, KeyId id, int64_t fence, StoredResponse r, Millis retention) {
  return Wait<bool>([&](auto cb) { s.Complete(std::move(id), fence, std::move(r), retention, cb); });
}
Result<bool> ReleaseSync(Store& s, KeyId id, int64_t fence) {
  return Wait<bool>([&](auto cb) { s.Release(std::move(id), fence, cb); });
}
Result<bool> MarkUnknownSync(Store& s, KeyId id, int64_t fence) {
  return Wait<bool>([&](auto cb) { s.MarkUnknown(std::move(id), fence, cb); });
}
Result<bool> RemoveSync(Store& s, KeyId id) {
  return Wait<bool>([&](auto cb) { s.Remove(std::move(id), cb); });
}
Result<int> CollectGarbageSync(Store& s, int batch) {
  return Wait<int>([&](auto cb) { s.CollectGarbage(batch, cb); });
}

Result<ClaimResult> AcceptSync(Store& s, AcceptRequest req) {
  return Wait<ClaimResult>([&](auto cb) { s.Accept(std::move(req), cb); });
}
Result<std::vector<Command>> ClaimCommandsSync(Store& s, std::string route, int limit, Millis lease, bool notify) {
  return Wait<std::vector<Command>>([&](auto cb) { s.ClaimCommands(std::move(route), limit, lease, notify, cb); });
}
Result<bool> FinishAttemptSync(Store& s, AttemptOutcome outcome) {
  return Wait<bool>([&](auto cb) { s.FinishAttempt(std::move(outcome), cb); });
}
Result<ActionResult> RedriveSync(Store& s, std::string id, bool notify) {
  return Wait<ActionResult>([&](auto cb) { s.Redrive(std::move(id), notify, cb); });
}
Result<ActionResult> CancelSync(Store& s, std::string id, bool notify, Millis retention) {
  return Wait<ActionResult>([&](auto cb) { s.Cancel(std::move(id), notify, retention, cb); });
}

Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options) {
  if (options.url.rfind("sqlite:", 0) == 0) return OpenSqliteStore(options);
  if (options.url.rfind("postgres://", 0) == 0 || options.url.rfind("postgresql://", 0) == 0)
    return OpenPostgresStore(options);
  return Status(Code::kInvalidArgument,
                "unsupported store url '" + options.url + "' (use sqlite:PATH or postgres://user@host:port/db)");
}

}  // namespace writ

namespace writ {

Result<JobAcceptResult> AcceptJobSync(Store& s, JobAcceptRequest req) {
  return Wait<JobAcceptResult>([&](auto cb) { s.AcceptJob(std::move(req), cb); });
}
Result<int64_t> ReplayJobSync(Store& s, std::string id) {
  return Wait<int64_t>([&](auto cb) { s.ReplayJob(std::move(id), cb); });
}
Result<bool> SetPausedSync(Store& s, std::string route, bool paused) {
  return Wait<bool>([&](auto cb) { s.SetPaused(std::move(route), paused, cb); });
}

}  // namespace writ
