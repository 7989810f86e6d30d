// Fail-at-every-step for the queued modes: an async submission and a
// buffered batch, each with its client's retries and the route's worker,
// with the store failing at call N for every N (and, separately, committing
// and then reporting failure). For every N: every key is applied at most
// once; when the client got its 202, every accepted command or item reaches
// the master exactly once; every 202 the client sees is the same answer.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <iostream>
#include <thread>

#include "patterns/async/async_route.h"
#include "queue/worker.h"
#include "patterns/bulk/buffered_route.h"
#include "patterns/bulk/bulk_codec.h"
#include "testing/cluster.h"
#include "patterns/registry.h"
#include "testing/fault_store.h"
#include "testing/in_process.h"

namespace writ::testing {
namespace {

enum class Mode { kAsync, kBuffered };

struct Outcome {
  std::vector<Response> acks;  // every 202 the client got
  std::map<std::string, int> applied;
  int expected = 0;        // commands or items the acknowledged request queued
  bool finished = false;   // everything acknowledged reached a terminal state
  bool fired = false;
};

QueueConfig Queue() {
  QueueConfig q;
  q.lease = 300;  // a failed outcome write leaves the command leased this long
  q.poll_interval = 10;
  q.backoff_base = 5;
  q.backoff_max = 20;
  q.max_attempts = 1'000;
  return q;
}

BufferedSettings Buffered() {
  BufferedSettings b;
  b.queue = Queue();
  b.buffered.item_key = "/sku";
  b.buffered.bulk_path = "/products/_bulk";
  b.buffered.batch_size = 2;
  b.buffered.burst = 2;
  return b;
}

RouteConfig Route(Mode mode) {
  RouteConfig rc;
  rc.method = "POST";
  rc.idempotency.final_statuses.include = {{200, 299}, {400, 499}};
  if (mode == Mode::kAsync) {
    rc.name = "POST /payments";
    rc.path = rc.upstream_path = "/payments";
    rc.mode = "async";
  } else {
    rc.name = "bulk";
    rc.path = "/products/bulk";
    rc.upstream_path = "/products";
    rc.mode = "buffered";
    rc.idempotency.required = false;
    rc.idempotency.fingerprint = FingerprintMode::kRaw;
  }
  return rc;
}

Request ClientRequest(Mode mode) {
  Request req;
  req.method = "POST";
  if (mode == Mode::kAsync) {
    req.target = req.path = "/payments";
    req.headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", "k-1"}};
    req.body = R"({"amount":10})";
  } else {
    req.target = req.path = "/products/bulk";
    req.headers = {{"Content-Type", "application/x-ndjson"}, {"Idempotency-Key", "batch-1"}};
    req.body = "{\"sku\":\"a\"}\n{\"sku\":\"b\"}\n{\"sku\":\"c\"}\n";
  }
  return req;
}

Outcome RunWithFault(Mode mode, int fail_at, bool commit_then_fail) {
  TempDir dir;
  StoreOptions so;
  so.url = "sqlite:" + dir.path() + "/w.db";
  so.schema = AllSchemaSteps();
  auto inner = OpenStore(so);
  EXPECT_TRUE(inner.ok());
  Outcome out;
  {
    FaultDatabase faulty((*inner)->db(), fail_at, commit_then_fail);
    Store store(faulty);
    HonouringMaster master;
    LoopScheduler scheduler;
    Metrics metrics;
    Rng rng(1);
    RouteConfig rc = Route(mode);
    BufferedSettings bs = Buffered();
    AsyncSettings as;
    as.queue = Queue();
    JsonBulkCodec codec(rc, bs.buffered);
    WorkerSpec spec = MakeWorkerSpec(rc, Queue(), false);
    if (mode == Mode::kBuffered) {
      spec.batch_size = bs.buffered.batch_size;
      spec.burst = bs.buffered.burst;
    }
    AsyncWorker worker(spec, store, master, scheduler, metrics, rng, mode == Mode::kBuffered ? &codec : nullptr);
    std::function<void(Request, std::function<void(Response)>)> handle;
    std::unique_ptr<AsyncRoute> async;
    std::unique_ptr<BufferedRoute> buffered;
    if (mode == Mode::kAsync) {
      async = std::make_unique<AsyncRoute>(rc, as, UpstreamConfig{}, store, metrics, [&] { worker.Wake(); });
    } else {
      buffered = std::make_unique<BufferedRoute>(rc, bs, UpstreamConfig{}, store, metrics,
                                                 BufferedRoute::Hooks{[&] { worker.Wake(); }, nullptr});
    }
    worker.Start();
    // The client retries until it has its 202 (a real client backs off).
    for (int attempt = 0; attempt < 6; ++attempt) {
      std::promise<Response> p;
      auto respond = [&p](Response r, RequestInfo) { p.set_value(std::move(r)); };
      if (async) async->Handle(ClientRequest(mode), {}, respond);
      else buffered->Handle(ClientRequest(mode), {}, respond);
      Response r = p.get_future().get();
      if (r.status == 202) out.acks.push_back(r);
      if (out.acks.size() >= 2) break;  // one replay checked
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    out.expected = mode == Mode::kAsync ? 1 : 3;
    // Wait until everything queued is finished (a lost outcome waits for its lease).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      CommandFilter f;
      f.route = rc.name;
      f.status = SubmissionStatus::kSucceeded;
      auto done = (*inner)->queue().ListCommands(f);
      if (done.ok() && static_cast<int>(done->size()) == out.expected) {
        out.finished = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    worker.Stop();
    auto idle_by = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (worker.in_flight() > 0 && std::chrono::steady_clock::now() < idle_by)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    scheduler.Stop();
    // Close the store (joining its writer) while the worker and the scheduler
    // its callbacks reach are still alive.
    inner->reset();
    out.applied = master.applied_by_key();
    out.fired = faulty.fired();
  }
  return out;
}

void CheckInvariants(const Outcome& o, Mode mode, int n, const char* kind) {
  SCOPED_TRACE(std::string(mode == Mode::kAsync ? "async " : "buffered ") + kind + ", failing store call " +
               std::to_string(n));
  for (const auto& [key, times] : o.applied) EXPECT_EQ(times, 1) << "key " << key << " applied twice";
  ASSERT_FALSE(o.acks.empty()) << "the client's retries never got a 202";
  for (const auto& a : o.acks) EXPECT_EQ(a.body, o.acks.front().body) << "every 202 carries the first answer";
  EXPECT_TRUE(o.finished) << "an acknowledged command or item never finished";
  EXPECT_EQ(static_cast<int>(o.applied.size()), o.expected) << "an acknowledged command or item never applied";
}

void Loop(Mode mode, bool commit_then_fail) {
  int n = 0;
  for (;; ++n) {
    auto o = RunWithFault(mode, n, commit_then_fail);
    CheckInvariants(o, mode, n, commit_then_fail ? "commit-then-fail" : "fail");
    if (!o.fired || n > 200) break;
  }
  std::cout << (mode == Mode::kAsync ? "async" : "buffered") << (commit_then_fail ? " commit-then-fail" : " fail")
            << ": failed each of " << n << " store calls in turn\n";
  EXPECT_GT(n, 4) << "the loop covered every step";
  EXPECT_LE(n, 200) << "the exchange never ran out of store calls";
}

TEST(QueueFaults, AsyncFailEveryStoreCallInTurn) { Loop(Mode::kAsync, false); }
TEST(QueueFaults, AsyncCommitThenReportFailureAtEveryStoreCall) { Loop(Mode::kAsync, true); }
TEST(QueueFaults, BufferedFailEveryStoreCallInTurn) { Loop(Mode::kBuffered, false); }
TEST(QueueFaults, BufferedCommitThenReportFailureAtEveryStoreCall) { Loop(Mode::kBuffered, true); }

}  // namespace
}  // namespace writ::testing
