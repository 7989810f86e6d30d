// Fail-at-every-step: one sync request and its client's retries, with the
// store failing at call N for every N (and, separately, committing and then
// reporting failure). For every N: the master applies the write at most once,
// exactly once when the client got a 2xx, and every 2xx the client ever sees
// is the same answer.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "patterns/sync/sync_route.h"
#include "upstream/request_text.h"
#include "testing/cluster.h"
#include "patterns/registry.h"
#include "testing/fault_store.h"
#include "testing/in_process.h"

namespace writ::testing {
namespace {

class ThreadScheduler : public Scheduler {
 public:
  void Post(std::function<void()> fn) override { std::thread(std::move(fn)).detach(); }
  void After(Millis, std::function<void()> fn) override { std::thread(std::move(fn)).detach(); }
};

struct Outcome {
  int applied = 0;
  std::vector<Response> successes;
  Response last;
  bool fired = false;
  int calls = 0;
};

Outcome RunWithFault(int fail_at, bool commit_then_fail, OnUnknown on_unknown) {
  TempDir dir;
  FakeClock clock;
  StoreOptions so;
  so.url = "sqlite:" + dir.path() + "/w.db";
  so.clock = &clock;
  so.schema = AllSchemaSteps();
  auto inner = OpenStore(so);
  EXPECT_TRUE(inner.ok());
  FaultDatabase faulty((*inner)->db(), fail_at, commit_then_fail);
  Store store(faulty);
  HonouringMaster master;
  ThreadScheduler scheduler;
  Metrics metrics;
  RouteConfig rc;
  rc.name = "POST /orders";
  rc.method = "POST";
  rc.path = rc.upstream_path = "/orders";
  rc.idempotency.final_statuses.include = {{200, 299}, {400, 499}};
  rc.idempotency.on_unknown = on_unknown;
  rc.idempotency.lease = 5'000;
  UpstreamConfig uc;
  SyncRoute route(rc, uc, store, master, scheduler, metrics);

  Outcome out;
  for (int attempt = 0; attempt < 6; ++attempt) {
    Request req;
    req.method = "POST";
    req.target = req.path = "/orders";
    req.headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", "k-1"}};
    req.body = R"({"amount":10})";
    std::promise<Response> p;
    route.Handle(req, {}, [&p](Response r, RequestInfo) { p.set_value(std::move(r)); });
    Response r = p.get_future().get();
    if (r.status >= 200 && r.status < 300) out.successes.push_back(r);
    out.last = r;
    if (r.status == 409) clock.Advance(5'000);  // a real client waits for the lease
  }
  out.applied = master.applied();
  out.fired = faulty.fired();
  out.calls = faulty.calls();
  return out;
}

void CheckInvariants(const Outcome& o, int n, const char* mode) {
  SCOPED_TRACE(std::string(mode) + " failing store call " + std::to_string(n));
  EXPECT_LE(o.applied, 1) << "applied twice";
  if (!o.successes.empty()) {
    EXPECT_EQ(o.applied, 1) << "a 2xx for a write the master never applied";
    for (const auto& s : o.successes) {
      EXPECT_EQ(s.status, o.successes.front().status);
      EXPECT_EQ(s.body, o.successes.front().body) << "every 2xx carries the first answer";
    }
  }
}

TEST(SyncRouteFaults, FailEveryStoreCallInTurn) {
  for (auto on_unknown : {OnUnknown::kRetry, OnUnknown::kPark}) {
    int n = 0;
    for (;; ++n) {
      auto o = RunWithFault(n, false, on_unknown);
      CheckInvariants(o, n, "fail");
      if (!o.fired) break;  // past the last store call of the whole exchange
      // The client keeps retrying; after one failure it must get a final
      // answer: the write, or on an at-most-once route possibly the parked
      // "outcome unknown" (the failed store call may have hidden an answer).
      if (on_unknown == OnUnknown::kRetry) {
        EXPECT_FALSE(o.successes.empty()) << "call " << n << " failing left the key stuck";
      } else {
        EXPECT_TRUE(!o.successes.empty() || o.last.body.find("upstream-outcome-unknown") != std::string::npos)
            << "call " << n << " failing left the key stuck: " << o.last.status << " " << o.last.body;
      }
    }
    EXPECT_GT(n, 5) << "the loop covered every step of the exchange";
  }
}

TEST(SyncRouteFaults, CommitThenReportFailureAtEveryStoreCall) {
  for (auto on_unknown : {OnUnknown::kRetry, OnUnknown::kPark}) {
    int n = 0;
    for (;; ++n) {
      auto o = RunWithFault(n, true, on_unknown);
      CheckInvariants(o, n, "commit-then-fail");
      if (!o.fired) break;
    }
    EXPECT_GT(n, 5);
  }
}

// What a probe's answer proves: only a well-formed 2xx says anything, and
// "not found" needs the list the pointer points into.
TEST(Probe, OnlyAWellFormedAnswerProvesFoundOrNotFound) {
  ProbeConfig p;
  p.path = "/orders?clientRef={key}";
  auto answer = [](int status, std::string body) {
    UpstreamResult r;
    r.response.status = status;
    r.response.body = std::move(body);
    return r;
  };
  StoredResponse s;
  EXPECT_EQ(ReadProbeAnswer(p, answer(200, R"({"items":[{"id":"ord_7","a":1}]})"), &s), ProbeVerdict::kFound);
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.body, R"({"id":"ord_7","a":1})");
  EXPECT_EQ(*FindHeader(s.headers, "Writ-Reconstructed"), "probe");
  EXPECT_EQ(ReadProbeAnswer(p, answer(200, R"({"items":[]})"), &s), ProbeVerdict::kNotFound);
  EXPECT_EQ(ReadProbeAnswer(p, answer(200, R"({"results":[]})"), &s), ProbeVerdict::kFailed) << "another shape";
  EXPECT_EQ(ReadProbeAnswer(p, answer(404, R"({"items":[]})"), &s), ProbeVerdict::kFailed) << "a wrong path";
  EXPECT_EQ(ReadProbeAnswer(p, answer(200, "not json"), &s), ProbeVerdict::kFailed);
  UpstreamResult lost;
  lost.error = UpstreamError::kTimeout;
  EXPECT_EQ(ReadProbeAnswer(p, lost, &s), ProbeVerdict::kFailed);
  EXPECT_EQ(BuildProbeRequest(p, "/api", "a b/c").target, "/api/orders?clientRef=a%20b%2Fc");
}

// The request kept with an in-flight key decodes to what was sent: bytes
// of the body as they were, headers in order; anything else is refused.
TEST(RequestText, ARequestKeptWithAKeyDecodesToWhatWasSent) {
  UpstreamRequest r;
  r.method = "POST";
  r.target = "/api/orders?x=1&y=a%20b";
  r.headers = {{"Content-Type", "application/json"}, {"X-Tenant", "a: b"}};
  r.body = std::string("{\"a\":\"line\n\n\"}") + '\0' + "\xff";
  auto back = RequestFromText(RequestToText(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->method, r.method);
  EXPECT_EQ(back->target, r.target);
  EXPECT_EQ(back->headers, r.headers);
  EXPECT_EQ(back->body, r.body);
  UpstreamRequest empty;
  empty.method = "DELETE";
  empty.target = "/o/1";
  auto e = RequestFromText(RequestToText(empty));
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->headers.empty());
  EXPECT_EQ(e->body, "");
  for (const char* bad : {"", "POST", "POST /x", "POST /x\nNoColon\n\n", " /x\n\n", "POST \n\n"})
    EXPECT_FALSE(RequestFromText(bad).has_value()) << bad;
}

// Undecided keys are asked again after `interval`, later as they age (at
// most 10x); one not found yet is due when its settle time is up.
TEST(Probe, BacksOffWithAgeAndComesBackWhenSettled) {
  ProbeConfig p;
  p.interval = 1'000;
  p.settle = 10'000;
  EXPECT_EQ(NextProbeGap(p, ProbeVerdict::kFailed, 0), 1'000);
  EXPECT_EQ(NextProbeGap(p, ProbeVerdict::kFailed, 6'000), 3'000);
  EXPECT_EQ(NextProbeGap(p, ProbeVerdict::kFailed, 3'600'000), 10'000);
  EXPECT_EQ(NextProbeGap(p, ProbeVerdict::kNotFound, 9'500), 500) << "due when settled";
  EXPECT_EQ(NextProbeGap(p, ProbeVerdict::kNotFound, 2'000), 1'000);
  EXPECT_EQ(NextProbeGap(p, ProbeVerdict::kNotFound, 9'990), 100) << "never a busy loop";
}

}  // namespace
}  // namespace writ::testing
