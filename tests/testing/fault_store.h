// FaultDatabase: a DatabaseWrapper that fails one chosen call, counted from 0
// across both primitives (Submit and Read), so every store concern, old or
// new, gets the fail-at-every-step loops without forwarding code of its own.
// With `commit_then_fail` a write is carried out and committed, and only then
// reported as failed (the ambiguous case a network or fsync error produces).
// Tests loop `fail_at` over every step of a request:
//   FaultDatabase faulty(inner->db(), n, commit_then_fail);
//   Store store(faulty);   // the concerns over the faulty database
#pragma once

#include <atomic>

#include "store/store.h"

namespace writ::testing {

class FaultDatabase : public DatabaseWrapper {
 public:
  FaultDatabase(Database& inner, int fail_at, bool commit_then_fail)
      : DatabaseWrapper(inner), fail_at_(fail_at), commit_then_fail_(commit_then_fail) {}

  int calls() const { return calls_.load(); }
  bool fired() const { return fired_.load(); }

  Status Read(const ReadFn& fn) override {
    if (Fail()) return Injected();
    return DatabaseWrapper::Read(fn);
  }
  void Submit(Work work, std::function<void(Status)> done, bool durable = true) override {
    if (!Fail()) return DatabaseWrapper::Submit(std::move(work), std::move(done), durable);
    if (!commit_then_fail_) return done(Injected());
    DatabaseWrapper::Submit(std::move(work), [done = std::move(done)](Status) { done(Injected()); }, durable);
  }

 private:
  static Status Injected() { return Status(Code::kUnavailable, "injected store failure"); }
  bool Fail() {
    if (calls_++ != fail_at_) return false;
    fired_ = true;
    return true;
  }

  const int fail_at_;
  const bool commit_then_fail_;
  std::atomic<int> calls_{0};
  std::atomic<bool> fired_{false};
};

}  // namespace writ::testing
