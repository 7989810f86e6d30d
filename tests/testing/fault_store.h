// FaultStore: a forwarding Store that fails one chosen call, counted from 0
// across every method. With `commit_then_fail` a write is carried out and
// committed, and only then reported as failed (the ambiguous case a network
// or fsync error produces). Tests loop `fail_at` over every step of a request.
#pragma once

#include <atomic>

#include "store/store.h"

namespace writ::testing {

class FaultStore : public Store {
 public:
  FaultStore(Store& inner, int fail_at, bool commit_then_fail)
      : inner_(inner), fail_at_(fail_at), commit_then_fail_(commit_then_fail) {}

  int calls() const { return calls_.load(); }
  bool fired() const { return fired_.load(); }

  Result<std::optional<IdempotencyRecord>> Lookup(const KeyId& id) override {
    if (Fail()) return Injected();
    return inner_.Lookup(id);
  }
  void Claim(ClaimRequest req, Callback<ClaimResult> done) override {
    Write<ClaimResult>([&](auto cb) { inner_.Claim(std::move(req), cb); }, std::move(done));
  }
  void Complete(KeyId id, int64_t fence, StoredResponse r, Millis retention, Callback<bool> done) override {
    Write<bool>([&](auto cb) { inner_.Complete(std::move(id), fence, std::move(r), retention, cb); }, std::move(done));
  }
  void Release(KeyId id, int64_t fence, Callback<bool> done) override {
    Write<bool>([&](auto cb) { inner_.Release(std::move(id), fence, cb); }, std::move(done));
  }
  void MarkUnknown(KeyId id, int64_t fence, Callback<bool> done) override {
    Write<bool>([&](auto cb) { inner_.MarkUnknown(std::move(id), fence, cb); }, std::move(done));
  }
  void Remove(KeyId id, Callback<bool> done) override {
    Write<bool>([&](auto cb) { inner_.Remove(std::move(id), cb); }, std::move(done));
  }
  void CollectGarbage(int batch, Callback<int> done) override {
    Write<int>([&](auto cb) { inner_.CollectGarbage(batch, cb); }, std::move(done));
  }
  Result<std::vector<IdempotencyRecord>> List(std::optional<KeyState> s, const std::string& r, int limit) override {
    if (Fail()) return Injected();
    return inner_.List(s, r, limit);
  }
  Result<KeyCounts> Counts() override {
    if (Fail()) return Injected();
    return inner_.Counts();
  }
  void Accept(AcceptRequest req, Callback<ClaimResult> done) override {
    Write<ClaimResult>([&](auto cb) { inner_.Accept(std::move(req), cb); }, std::move(done));
  }
  void ClaimCommands(std::string route, int limit, Millis lease, bool notify, Callback<std::vector<Command>> done) override {
    Write<std::vector<Command>>([&](auto cb) { inner_.ClaimCommands(std::move(route), limit, lease, notify, cb); },
                                std::move(done));
  }
  void ExtendLeases(std::vector<std::pair<std::string, int64_t>> held, Millis lease, Callback<int> done) override {
    Write<int>([&](auto cb) { inner_.ExtendLeases(std::move(held), lease, cb); }, std::move(done));
  }
  void FinishAttempt(AttemptOutcome o, Callback<bool> done) override {
    Write<bool>([&](auto cb) { inner_.FinishAttempt(std::move(o), cb); }, std::move(done));
  }
  void Redrive(std::string id, bool notify, Callback<ActionResult> done) override {
    Write<ActionResult>([&](auto cb) { inner_.Redrive(std::move(id), notify, cb); }, std::move(done));
  }
  void Cancel(std::string id, bool notify, Millis retention, Callback<ActionResult> done) override {
    Write<ActionResult>([&](auto cb) { inner_.Cancel(std::move(id), notify, retention, cb); }, std::move(done));
  }
  void MarkEvent(int64_t seq, bool delivered, Millis next_at, std::string error, Callback<bool> done) override {
    Write<bool>([&](auto cb) { inner_.MarkEvent(seq, delivered, next_at, std::move(error), cb); }, std::move(done));
  }
  Result<std::optional<Command>> GetCommand(const std::string& id) override {
    if (Fail()) return Injected();
    return inner_.GetCommand(id);
  }
  Result<std::vector<Command>> ListCommands(const CommandFilter& f) override {
    if (Fail()) return Injected();
    return inner_.ListCommands(f);
  }
  Result<std::vector<QueueStat>> QueueStats() override {
    if (Fail()) return Injected();
    return inner_.QueueStats();
  }
  Result<std::vector<StatusEvent>> ListEvents(const std::string& id, int64_t after) override {
    if (Fail()) return Injected();
    return inner_.ListEvents(id, after);
  }
  Result<std::vector<StatusEvent>> DueEvents(int limit) override {
    if (Fail()) return Injected();
    return inner_.DueEvents(limit);
  }
  void AcceptJob(JobAcceptRequest req, Callback<JobAcceptResult> done) override {
    Write<JobAcceptResult>([&](auto cb) { inner_.AcceptJob(std::move(req), cb); }, std::move(done));
  }
  void ReplayJob(std::string id, Callback<int64_t> done) override {
    Write<int64_t>([&](auto cb) { inner_.ReplayJob(std::move(id), cb); }, std::move(done));
  }
  void SetPaused(std::string route, bool paused, Callback<bool> done) override {
    Write<bool>([&](auto cb) { inner_.SetPaused(std::move(route), paused, cb); }, std::move(done));
  }
  Result<std::optional<Job>> GetJob(const std::string& id) override {
    if (Fail()) return Injected();
    return inner_.GetJob(id);
  }
  Result<std::vector<Job>> ListJobs(const JobFilter& f) override {
    if (Fail()) return Injected();
    return inner_.ListJobs(f);
  }
  Result<BufferState> GetBuffer(const std::string& route) override {
    if (Fail()) return Injected();
    return inner_.GetBuffer(route);
  }
  Status Ping() override { return Fail() ? Injected() : inner_.Ping(); }
  Millis Now() const override { return inner_.Now(); }

 private:
  static Status Injected() { return Status(Code::kUnavailable, "injected store failure"); }
  bool Fail() {
    if (calls_++ != fail_at_) return false;
    fired_ = true;
    return true;
  }
  template <typename T, typename Start>
  void Write(Start start, Callback<T> done) {
    if (!Fail()) return start(std::move(done));
    if (!commit_then_fail_) return done(Injected());
    start([done = std::move(done)](Result<T>) { done(Injected()); });
  }

  Store& inner_;
  const int fail_at_;
  const bool commit_then_fail_;
  std::atomic<int> calls_{0};
  std::atomic<bool> fired_{false};
};

}  // namespace writ::testing
