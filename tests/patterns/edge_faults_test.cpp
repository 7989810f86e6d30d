// Fail-at-every-step for edge routes: a client creates a record and changes
// it twice, retrying each write as a real client does (same
// Idempotency-Key), while the route's sync worker sends the changes; the
// store fails call N for every N (and, separately, commits and then reports
// failure). For every N: every upstream key is applied at most once; the
// record ends synced with the master's id; no acknowledged change is lost
// or applied twice locally (the final record holds both, version 3); every
// 2xx a client got for one key is the same answer.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <iostream>
#include <thread>

#include "patterns/local_copy/edge_route.h"
#include "patterns/registry.h"
#include "testing/cluster.h"
#include "testing/fault_store.h"
#include "testing/in_process.h"

namespace writ::testing {
namespace {

namespace json = boost::json;

struct Outcome {
  std::map<std::string, int> applied;
  std::map<std::string, std::vector<std::string>> answers;  // 2xx bodies per client key
  std::string final_data, sync_status, canonical;
  int64_t final_version = 0;
  bool fired = false;
};

Response Send(EdgeRoute& route, const std::string& method, const std::string& path, const std::string& body,
              Headers headers, PathParams params) {
  Request req;
  req.method = method;
  req.target = req.path = path;
  req.headers = std::move(headers);
  req.body = body;
  std::promise<Response> p;
  route.Handle(req, std::move(params), [&p](Response r, RequestInfo) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

Outcome RunWithFault(int fail_at, bool commit_then_fail) {
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
    RouteConfig rc;
    rc.name = rc.path = rc.upstream_path = "/visits";
    rc.mode = "edge";
    rc.idempotency.final_statuses.include = {{200, 299}, {400, 499}};
    EdgeSettings es;
    es.queue.lease = 300;  // a failed outcome write leaves the change leased this long
    es.queue.poll_interval = 10;
    es.queue.backoff_base = 5;
    es.queue.backoff_max = 20;
    es.queue.max_attempts = 1'000;
    EdgeRoute route(rc, es, UpstreamConfig{}, store, master, scheduler, metrics, rng, nullptr);
    route.Start();
    // Each write retried under its key until it gets a 2xx.
    auto write = [&](const std::string& method, const std::string& path, const std::string& body,
                     const std::string& key, PathParams params) -> Response {
      Response r;
      for (int i = 0; i < 8; ++i) {
        r = Send(route, method, path, body,
                 {{"Content-Type", method == "PATCH" ? "application/merge-patch+json" : "application/json"},
                  {"Idempotency-Key", key}},
                 params);
        if (r.status >= 200 && r.status < 300) {
          out.answers[key].push_back(r.body);
          if (out.answers[key].size() == 2) break;  // one replay checked
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      return r;
    };
    write("POST", "/visits", R"({"a":1})", "create", {});
    std::string id;
    if (!out.answers["create"].empty())
      id = std::string(ParseBody(Response{201, {}, out.answers["create"].front()}).as_object()["id"].as_string());
    if (id.empty()) {
      ADD_FAILURE() << "the create never succeeded";
    } else {
      PathParams params{{"recordId", id}};
      write("PATCH", "/visits/" + id, R"({"b":1})", "change-b", params);
      write("PATCH", "/visits/" + id, R"({"c":1})", "change-c", params);
      // Wait until the record is synced (a lost outcome waits for its lease).
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (std::chrono::steady_clock::now() < deadline) {
        auto r = Send(route, "GET", "/visits/" + id, "", {}, params);
        if (r.status == 200) {
          auto body = ParseBody(r).as_object();
          out.final_data = json::serialize(body["data"]);
          out.final_version = body["version"].to_number<int64_t>();
          out.sync_status = std::string(body["syncStatus"].as_string());
          if (auto* c = body.if_contains("canonicalId")) out.canonical = std::string(c->as_string());
          if (out.sync_status != "pending") break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    route.Stop();
    auto idle_by = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (route.in_flight() > 0 && std::chrono::steady_clock::now() < idle_by)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    scheduler.Stop();
    inner->reset();  // joins the store's writer while the route is alive
    out.applied = master.applied_by_key();
    out.fired = faulty.fired();
  }
  return out;
}

void Loop(bool commit_then_fail) {
  int n = 0;
  for (;; ++n) {
    auto o = RunWithFault(n, commit_then_fail);
    SCOPED_TRACE(std::string(commit_then_fail ? "commit-then-fail" : "fail") + ", failing store call " +
                 std::to_string(n));
    for (const auto& [key, times] : o.applied) EXPECT_EQ(times, 1) << "upstream key " << key << " applied twice";
    EXPECT_FALSE(o.applied.empty()) << "nothing reached the master";
    for (const auto& [key, bodies] : o.answers)
      for (const auto& b : bodies) EXPECT_EQ(b, bodies.front()) << key << ": every 2xx is the first answer";
    EXPECT_EQ(o.final_data, R"({"a":1,"b":1,"c":1})") << "a change lost or applied twice";
    EXPECT_EQ(o.final_version, 3) << "each change bumps the version by exactly one";
    EXPECT_EQ(o.sync_status, "synced");
    EXPECT_FALSE(o.canonical.empty()) << "the master's id is mapped";
    if (!o.fired || n > 300) break;
  }
  std::cout << "edge" << (commit_then_fail ? " commit-then-fail" : " fail") << ": failed each of " << n
            << " store calls in turn\n";
  EXPECT_GT(n, 8) << "the loop covered every step";
  EXPECT_LE(n, 300) << "the exchange never ran out of store calls";
}

TEST(EdgeFaults, FailEveryStoreCallInTurn) { Loop(false); }
TEST(EdgeFaults, CommitThenReportFailureAtEveryStoreCall) { Loop(true); }

}  // namespace
}  // namespace writ::testing
