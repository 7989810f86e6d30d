// Async mode (CP-2) end to end: real mock master and writ processes over
// loopback. Acceptance, replay, the payload contract, retries under master
// faults, kill -9 recovery, ordering keys, retry timing, dead letters,
// re-drive, cancel, status events over SSE and signed webhooks.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "testing/cluster.h"

namespace writ::testing {
namespace {

namespace json = boost::json;

constexpr const char* kSchema = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["accountId", "amount"],
  "properties": {
    "accountId": {"type": "string", "minLength": 1},
    "amount": {"type": "number", "exclusiveMinimum": 0},
    "n": {"type": "integer"}
  }
})";

RouteOptions AsyncRoute(const std::string& async_yaml, const std::string& extra = "") {
  RouteOptions r;
  r.path = "/payments";
  r.mode = "async";
  r.extra = "async:\n  lease: 4s\n  poll_interval: 50ms\n";
  std::istringstream in(async_yaml);
  for (std::string line; std::getline(in, line);) r.extra += "  " + line + "\n";
  r.extra += extra;
  return r;
}


int64_t Int(const json::value& v, const char* k) {
  if (!v.is_object()) return -1;
  auto* x = v.as_object().if_contains(k);
  return x && x->is_number() ? x->to_number<int64_t>() : -1;
}

class AsyncTest : public ::testing::Test {
 protected:
  void StartPair(const std::vector<std::string>& master_flags, const std::vector<RouteOptions>& routes) {
    master_.Start(dir_.path(), master_flags);
    writ_.Start(dir_.path(), master_.port(), routes);
  }
  json::value Submission(const std::string& id, const std::string& query = "") {
    return ParseBody(Call(writ_.port(), "GET", "/v1/submissions/" + id + query, "", {}, 70'000));
  }
  // Waits for a terminal status (long-polling the status API).
  json::value WaitTerminal(const std::string& id, int seconds = 30) {
    json::value s;
    for (int i = 0; i < seconds; ++i) {
      s = Submission(id, "?wait=1s");
      std::string st = Str(s, "status");
      if (st == "succeeded" || st == "failed" || st == "dead" || st == "cancelled") break;
    }
    return s;
  }
  json::array MasterLog() {
    auto v = ParseBody(Call(master_.port(), "GET", "/_log"));
    return v.is_object() ? v.as_object()["requests"].as_array() : json::array{};
  }
  std::vector<Command> Commands(std::optional<SubmissionStatus> status = std::nullopt) {
    auto s = OpenStoreReadOnly(writ_.db_path());
    std::vector<Command> out;
    CommandFilter f;
    f.status = status;
    f.limit = 1000;
    for (;;) {
      auto page = s->queue().ListCommands(f);
      EXPECT_TRUE(page.ok());
      if (!page.ok() || page->empty()) break;
      f.after_seq = page->back().seq;
      for (auto& c : *page) out.push_back(std::move(c));
    }
    return out;
  }
  TempDir dir_;
  MockMasterProcess master_;
  WritProcess writ_;
};

TEST_F(AsyncTest, AcceptsWith202AndReplaysTheSameSubmission) {
  StartPair({"--honor-idempotency-key"}, {AsyncRoute("")});
  auto first = PostJson(writ_.port(), "/payments", "pay-1", R"({"accountId":"a","amount":5})");
  ASSERT_EQ(first.status, 202) << first.body;
  auto body = ParseBody(first);
  std::string id = Str(body, "submissionId");
  ASSERT_EQ(id.rfind("sub_", 0), 0u);
  EXPECT_EQ(Str(body, "status"), "accepted");
  EXPECT_EQ(Str(body, "statusUrl"), "/v1/submissions/" + id);
  EXPECT_EQ(*FindHeader(first.headers, "Location"), "/v1/submissions/" + id);

  auto again = PostJson(writ_.port(), "/payments", "pay-1", R"({ "amount":5, "accountId":"a" })");
  ASSERT_EQ(again.status, 202);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(*FindHeader(again.headers, "Idempotent-Replayed"), "true");

  auto other = PostJson(writ_.port(), "/payments", "pay-1", R"({"accountId":"a","amount":6})");
  EXPECT_EQ(other.status, 422);
  EXPECT_EQ(ProblemType(other), "idempotency-key-reused");

  auto done = WaitTerminal(id);
  EXPECT_EQ(Str(done, "status"), "succeeded") << json::serialize(done);
  EXPECT_EQ(Int(done, "attempts"), 1);
  EXPECT_EQ(Str(done, "canonicalId"), "pay_1");
  EXPECT_EQ(done.as_object()["response"].as_object()["status"].as_int64(), 201);
  EXPECT_EQ(master_.Stat("applied"), 1);

  // Looked up by key, and listed.
  auto by_key = ParseBody(Call(writ_.port(), "GET", "/v1/submissions?route=POST%20/payments&key=pay-1"));
  EXPECT_EQ(Str(by_key, "submissionId"), id);
  auto list = ParseBody(Call(writ_.port(), "GET", "/v1/submissions?status=succeeded&limit=10"));
  ASSERT_EQ(list.as_object()["items"].as_array().size(), 1u);
  EXPECT_TRUE(list.as_object()["nextCursor"].is_null());
  EXPECT_EQ(Call(writ_.port(), "GET", "/v1/submissions/sub_nope").status, 404);
  EXPECT_EQ(Call(writ_.port(), "GET", "/v1/submissions?status=bogus").status, 400);
  EXPECT_EQ(Call(writ_.port(), "GET", "/v1/submissions?limit=0").status, 400);
  EXPECT_EQ(Call(writ_.port(), "GET", "/v1/submissions?key=pay-1").status, 400);
}

TEST_F(AsyncTest, SchemaViolationsAre422AndQueueNothing) {
  std::string schema = dir_.path() + "/payment.json";
  std::ofstream(schema) << kSchema;
  StartPair({"--honor-idempotency-key"},
            {AsyncRoute("ordering_key: /accountId", "validate: " + schema + "\n")});
  auto r = PostJson(writ_.port(), "/payments", "bad-1", R"({"accountId":"","amount":-3})");
  ASSERT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(ProblemType(r), "schema-violation");
  std::set<std::string> pointers;
  auto problem = ParseBody(r);
  for (auto& e : problem.as_object()["errors"].as_array()) pointers.insert(Str(e, "pointer"));
  EXPECT_TRUE(pointers.count("/accountId")) << r.body;
  EXPECT_TRUE(pointers.count("/amount")) << r.body;
  EXPECT_EQ(r.body.find("-3"), std::string::npos) << "values must not be echoed";

  auto missing = PostJson(writ_.port(), "/payments", "bad-2", R"({"amount":3})");
  EXPECT_EQ(missing.status, 422);
  auto not_json = PostJson(writ_.port(), "/payments", "bad-3", R"({"amount":)");
  EXPECT_EQ(not_json.status, 400);
  auto no_key = PostJson(writ_.port(), "/payments", "", R"({"accountId":"a","amount":1})");
  EXPECT_EQ(no_key.status, 400);

  EXPECT_TRUE(Commands().empty());
  auto counts = CountKeys(writ_.db_path());
  EXPECT_EQ(counts.completed + counts.in_flight + counts.unknown, 0);
  EXPECT_EQ(master_.Stat("requests"), 0);
  // A valid one still goes through.
  EXPECT_EQ(PostJson(writ_.port(), "/payments", "ok-1", R"({"accountId":"a","amount":1})").status, 202);
}

// Sends `n` submissions from `threads` clients that retry (same key) until
// they get a 202, as real clients do; returns the submission id per key.
std::map<std::string, std::string> SubmitAll(const std::function<uint16_t()>& port, int n, int threads,
                                             const std::string& prefix, std::atomic<int>* acked = nullptr) {
  std::map<std::string, std::string> ids;
  std::mutex mu;
  std::atomic<int> next{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        std::string key = prefix + std::to_string(i);
        std::string body = R"({"accountId":"acc-)" + std::to_string(i % 50) + R"(","amount":)" +
                           std::to_string(i + 1) + "}";
        for (int tries = 0; tries < 2000; ++tries) {
          auto r = Call(port(), "POST", "/payments", body,
                        {{"Content-Type", "application/json"}, {"Idempotency-Key", key}}, 3'000);
          if (r.status == 202) {
            std::lock_guard lock(mu);
            ids[key] = Str(ParseBody(r), "submissionId");
            if (acked) ++*acked;
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  return ids;
}

TEST_F(AsyncTest, FaultyMasterEverySubmissionSucceedsExactlyOnce) {
  StartPair({"--honor-idempotency-key", "--error-rate", "0.3", "--drop-after-commit", "0.1", "--seed", "42"},
            {AsyncRoute("max_attempts: 60\nbackoff_base: 5ms\nbackoff_max: 100ms\nconcurrency: 32\n")});
  const int kN = 5000;
  auto ids = SubmitAll([&] { return writ_.port(); }, kN, 8, "k-");
  ASSERT_EQ(ids.size(), static_cast<size_t>(kN));
  ASSERT_TRUE(Eventually([&] { return Commands(SubmissionStatus::kSucceeded).size() == static_cast<size_t>(kN); },
                         120'000))
      << "succeeded: " << Commands(SubmissionStatus::kSucceeded).size();
  auto stats = master_.Stats();
  EXPECT_EQ(stats["keysApplied"].as_int64(), kN);
  EXPECT_EQ(stats["duplicateApplies"].as_int64(), 0) << json::serialize(stats["duplicateKeys"]);
  EXPECT_GT(stats["injectedErrors"].as_int64(), 0);
  EXPECT_GT(stats["droppedAfterCommit"].as_int64(), 0);
  EXPECT_GT(stats["keyReplays"].as_int64(), 0) << "dropped answers must be re-sent with the same key";
  EXPECT_TRUE(Commands(SubmissionStatus::kDead).empty());
}

TEST_F(AsyncTest, KillNineFiveTimesLosesNothingAndAppliesNothingTwice) {
  // The master is slow enough (3 ms per answer) that commands are in flight
  // at every kill; the kills are spread over the submissions.
  StartPair({"--honor-idempotency-key", "--error-rate", "0.1", "--drop-after-commit", "0.05", "--latency", "3ms",
             "--seed", "7"},
            {AsyncRoute("max_attempts: 200\nbackoff_base: 5ms\nbackoff_max: 200ms\nconcurrency: 8\n")});
  const int kN = 5000;
  std::atomic<uint16_t> port{writ_.port()};
  std::atomic<int> acked{0};
  int kills = 0;
  std::thread killer([&] {
    for (int k = 0; k < 5; ++k) {
      while (acked < (k + 1) * kN / 6) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      writ_.Kill();
      ++kills;
      writ_.Restart();
      port = writ_.port();
    }
  });
  auto ids = SubmitAll([&] { return port.load(); }, kN, 8, "kill-", &acked);
  killer.join();
  EXPECT_EQ(kills, 5);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kN));
  port = writ_.port();
  // Every acknowledged submission reaches a terminal state after the restarts.
  ASSERT_TRUE(Eventually([&] { return Commands(SubmissionStatus::kSucceeded).size() == static_cast<size_t>(kN); },
                         180'000))
      << "succeeded: " << Commands(SubmissionStatus::kSucceeded).size();
  // One command per key: the acknowledged id is the one that ran.
  auto all = Commands();
  EXPECT_EQ(all.size(), static_cast<size_t>(kN));
  for (const auto& c : all) EXPECT_EQ(ids[c.idem_key], c.id);
  auto stats = master_.Stats();
  EXPECT_EQ(stats["keysApplied"].as_int64(), kN);
  EXPECT_EQ(stats["duplicateApplies"].as_int64(), 0) << json::serialize(stats["duplicateKeys"]);
}

TEST_F(AsyncTest, OrderingKeyRunsOneAtATimeInAcceptanceOrder) {
  StartPair({"--honor-idempotency-key", "--error-rate", "0.3", "--seed", "3"},
            {AsyncRoute("ordering_key: /accountId\nmax_attempts: 100\nbackoff_base: 2ms\nbackoff_max: 20ms\n"
                        "concurrency: 16\n")});
  for (int i = 0; i < 200; ++i) {
    auto r = PostJson(writ_.port(), "/payments", "o-" + std::to_string(i),
                      R"({"accountId":"a)" + std::to_string(i % 10) + R"(","amount":1,"n":)" + std::to_string(i) +
                          "}");
    ASSERT_EQ(r.status, 202) << r.body;
  }
  ASSERT_TRUE(Eventually([&] { return Commands(SubmissionStatus::kSucceeded).size() == 200u; }, 60'000));
  // Per account, every request (failed attempts included) arrives in
  // acceptance order: a command never starts before its predecessor finished.
  std::map<std::string, std::vector<int64_t>> arrivals;
  for (auto& e : MasterLog()) {
    auto body = json::parse(Str(e, "body"));
    arrivals[Str(body, "accountId")].push_back(Int(body, "n"));
  }
  ASSERT_EQ(arrivals.size(), 10u);
  for (auto& [account, ns] : arrivals) {
    EXPECT_TRUE(std::is_sorted(ns.begin(), ns.end())) << account;
    std::set<int64_t> distinct(ns.begin(), ns.end());
    EXPECT_EQ(distinct.size(), 20u) << account;
  }
  EXPECT_EQ(master_.Stat("duplicateApplies"), 0);
}

TEST_F(AsyncTest, RetriesFollowBackoffThenDeadThenRedriveSucceedsOnce) {
  StartPair({"--honor-idempotency-key", "--error-rate", "1"},
            {AsyncRoute("max_attempts: 4\nbackoff_base: 100ms\nbackoff_max: 400ms\n")});
  auto r = PostJson(writ_.port(), "/payments", "retry-1", R"({"accountId":"a","amount":1})");
  ASSERT_EQ(r.status, 202);
  std::string id = Str(ParseBody(r), "submissionId");
  auto dead = WaitTerminal(id);
  ASSERT_EQ(Str(dead, "status"), "dead") << json::serialize(dead);
  EXPECT_EQ(Int(dead, "attempts"), 4);
  EXPECT_NE(Str(dead, "lastError").find("max_attempts"), std::string::npos);

  // Recorded arrival times at the master: gap n <= min(max, base * 2^(n-1)),
  // plus the worker's poll interval and scheduling slack.
  std::vector<double> at;
  for (auto& e : MasterLog()) at.push_back(e.as_object()["at"].to_number<double>());
  ASSERT_EQ(at.size(), 4u);
  const double caps[] = {100, 200, 400};
  for (int i = 0; i < 3; ++i) {
    double gap = at[i + 1] - at[i];
    EXPECT_GE(gap, 0);
    EXPECT_LE(gap, caps[i] + 50 + 150) << "gap " << i;
  }

  // Retry-After from the master is a floor on the delay.
  Call(master_.port(), "POST", "/_faults", R"({"retryAfter":1})");
  auto r2 = PostJson(writ_.port(), "/payments", "retry-2", R"({"accountId":"b","amount":1})");
  std::string id2 = Str(ParseBody(r2), "submissionId");
  ASSERT_EQ(Str(WaitTerminal(id2), "status"), "dead");
  std::vector<double> at2;
  for (auto& e : MasterLog())
    if (Str(e, "body").find("\"b\"") != std::string::npos) at2.push_back(e.as_object()["at"].to_number<double>());
  ASSERT_EQ(at2.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_GE(at2[i + 1] - at2[i], 990) << "gap " << i;

  // The master recovers; an operator re-drives the dead submission.
  Call(master_.port(), "POST", "/_faults", R"({"errorRate":0,"retryAfter":0})");
  auto redrive = Call(writ_.admin_port(), "POST", "/v1/submissions/" + id + "/retry");
  ASSERT_EQ(redrive.status, 200) << redrive.body;
  auto ok = WaitTerminal(id);
  EXPECT_EQ(Str(ok, "status"), "succeeded");
  EXPECT_EQ(Int(ok, "redrives"), 1);
  EXPECT_EQ(master_.Stat("applied"), 1);
  auto again = Call(writ_.admin_port(), "POST", "/v1/submissions/" + id + "/retry");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(ProblemType(again), "submission-not-retryable");
  EXPECT_EQ(master_.Stat("applied"), 1);
}

TEST_F(AsyncTest, FinalFailureIsNotRetriedAndCancelStopsAWaitingCommand) {
  StartPair({"--honor-idempotency-key", "--latency", "1500ms"}, {AsyncRoute("ordering_key: /accountId\n")});
  // The master refuses "invalid" records with 422: final, no retry.
  auto bad = PostJson(writ_.port(), "/payments", "f-1", R"({"accountId":"x","amount":1,"invalid":true})");
  std::string bad_id = Str(ParseBody(bad), "submissionId");
  // Same account: waits behind the first, never attempted yet.
  auto waiting = PostJson(writ_.port(), "/payments", "f-2", R"({"accountId":"x","amount":2})");
  std::string waiting_id = Str(ParseBody(waiting), "submissionId");
  ASSERT_TRUE(Eventually([&] { return Str(Submission(bad_id), "status") == "processing"; }));
  auto cancel = Call(writ_.admin_port(), "POST", "/v1/submissions/" + waiting_id + "/cancel");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_EQ(Str(ParseBody(cancel), "status"), "cancelled");
  auto processing = Call(writ_.admin_port(), "POST", "/v1/submissions/" + bad_id + "/cancel");
  EXPECT_EQ(processing.status, 409);
  EXPECT_EQ(ProblemType(processing), "submission-not-cancellable");

  auto failed = WaitTerminal(bad_id);
  EXPECT_EQ(Str(failed, "status"), "failed");
  EXPECT_EQ(Int(failed, "attempts"), 1);
  EXPECT_EQ(failed.as_object()["response"].as_object()["status"].as_int64(), 422);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(master_.Stat("requests"), 1) << "the cancelled command must never reach the master";
  EXPECT_EQ(Str(Submission(waiting_id), "status"), "cancelled");
}

#ifdef WRIT_CRASH_POINTS
// The holder dies during the last allowed attempt: after its lease the
// command is dead (budget spent, outcome unknown), never attempted again.
TEST_F(AsyncTest, ACrashDuringTheLastAttemptLeavesItDeadNotRetried) {
  master_.Start(dir_.path(), {"--honor-idempotency-key"});
  writ_.Start(dir_.path(), master_.port(), {AsyncRoute("max_attempts: 1\n")}, "",
              {"WRIT_CRASH_AT=after_upstream_response"});
  auto r = PostJson(writ_.port(), "/payments", "last-1", R"({"accountId":"a","amount":1})");
  ASSERT_EQ(r.status, 202);
  std::string id = Str(ParseBody(r), "submissionId");
  ASSERT_EQ(writ_.WaitExit(), 128 + 9);
  writ_.Restart();
  auto dead = WaitTerminal(id);
  EXPECT_EQ(Str(dead, "status"), "dead") << json::serialize(dead);
  EXPECT_EQ(Int(dead, "attempts"), 1);
  EXPECT_NE(Str(dead, "lastError").find("outcome of the last one is unknown"), std::string::npos);
  EXPECT_TRUE(dead.as_object()["possiblyApplied"].as_bool()) << "writ stopped during the attempt";
  EXPECT_EQ(Int(dead, "possiblyAppliedAttempt"), 1);
  EXPECT_EQ(master_.Stat("requests"), 1) << "no attempt beyond max_attempts";
}
#endif

// At-most-once for masters that ignore keys: an answer lost after the
// master committed is never re-sent.
TEST_F(AsyncTest, ParkRouteMakesAnUnknownOutcomeDeadNotResent) {
  RouteOptions route = AsyncRoute("");
  route.idempotency = "on_unknown: park";
  StartPair({"--drop-after-commit", "1"}, {route});
  std::string id = Str(ParseBody(PostJson(writ_.port(), "/payments", "park-1", R"({"accountId":"a","amount":1})")),
                       "submissionId");
  auto dead = WaitTerminal(id);
  EXPECT_EQ(Str(dead, "status"), "dead") << json::serialize(dead);
  EXPECT_EQ(Int(dead, "attempts"), 1);
  EXPECT_NE(Str(dead, "lastError").find("on_unknown is park"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(master_.Stat("requests"), 1);
  EXPECT_EQ(master_.Stat("applied"), 1);
}

TEST_F(AsyncTest, ParkRouteTreatsAFiveHundredAfterCommitAsUnknownNotRetried) {
  RouteOptions route = AsyncRoute("backoff_base: 10ms\n");
  route.idempotency = "on_unknown: park";
  StartPair({"--error-after-commit", "1"}, {route});
  std::string id = Str(ParseBody(PostJson(writ_.port(), "/payments", "p500", R"({"accountId":"a","amount":1})")),
                       "submissionId");
  auto dead = WaitTerminal(id);
  EXPECT_EQ(Str(dead, "status"), "dead") << json::serialize(dead);
  EXPECT_EQ(Int(dead, "attempts"), 1);
  EXPECT_NE(Str(dead, "lastError").find("outcome unknown (master answered 50"), std::string::npos)
      << Str(dead, "lastError");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(master_.Stat("requests"), 1) << "never re-sent";
  EXPECT_EQ(master_.Stat("applied"), 1);
}

// Redrive of a submission that may have been applied: refused on a park
// route until someone has checked the master.
TEST_F(AsyncTest, RedriveOfAPossiblyAppliedSubmissionNeedsForceOnParkRoutes) {
  RouteOptions route = AsyncRoute("");
  route.idempotency = "on_unknown: park";
  StartPair({"--drop-after-commit", "1"}, {route});
  std::string id = Str(ParseBody(PostJson(writ_.port(), "/payments", "gate-1", R"({"accountId":"a","amount":1})")),
                       "submissionId");
  auto dead = WaitTerminal(id);
  ASSERT_EQ(Str(dead, "status"), "dead");
  EXPECT_TRUE(dead.as_object()["possiblyApplied"].as_bool()) << json::serialize(dead);
  EXPECT_EQ(Int(dead, "possiblyAppliedAttempt"), 1);
  auto refused = Call(writ_.admin_port(), "POST", "/v1/submissions/" + id + "/retry");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(ProblemType(refused), "submission-possibly-applied");
  std::string out;
  EXPECT_EQ(RunWrit({"dead", "replay", "--config", writ_.config_path(), id}, &out), 1);
  EXPECT_NE(out.find("--unknown-ok"), std::string::npos) << out;
  EXPECT_EQ(RunWrit({"dead", "replay", "--config", writ_.config_path(), "--all"}, &out), 1) << out;
  EXPECT_EQ(Call(writ_.admin_port(), "POST", "/v1/submissions/" + id + "/retry?force=yes").status, 400);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(master_.Stat("requests"), 1) << "nothing re-sent";
  // The operator checked: not applied (here it was; the mock cannot lie). Forced.
  ASSERT_EQ(Call(master_.port(), "POST", "/_faults", R"({"dropAfterCommit":0})").status, 200);
  auto forced = Call(writ_.admin_port(), "POST", "/v1/submissions/" + id + "/retry?force=unknown");
  ASSERT_EQ(forced.status, 200) << forced.body;
  auto done = WaitTerminal(id);
  EXPECT_EQ(Str(done, "status"), "succeeded") << json::serialize(done);
  EXPECT_FALSE(done.as_object()["possiblyApplied"].as_bool()) << "a new series of attempts";
  EXPECT_EQ(master_.Stat("requests"), 2);
  // The submission's log lines name the unknown outcome and the dead end, never the body.
  auto log = writ_.ReadLog();
  EXPECT_NE(log.find("\"outcome unknown\""), std::string::npos);
  EXPECT_NE(log.find("\"submission dead\""), std::string::npos);
  EXPECT_NE(log.find("\"possiblyApplied\":true"), std::string::npos);
  EXPECT_EQ(log.find("accountId"), std::string::npos) << "no body in the logs";
  EXPECT_EQ(log.find("gate-1"), std::string::npos) << "no raw key in the logs";
}

// A probe settles dead submissions that may have been applied: one whose
// answer was lost after the master applied it is found there and ends
// succeeded with the master's record; one refused with a 500 before anything
// was applied is not found, and once `settle` has passed it is re-driven and
// sent once more. Nothing applies twice.
TEST_F(AsyncTest, AProbeSettlesDeadSubmissionsThatMayHaveBeenApplied) {
  RouteOptions route = AsyncRoute("");
  route.idempotency = "on_unknown: park\nprobe:\n  path: /payments?clientRef={key}\n  settle: 600ms\n"
                      "  interval: 200ms";
  StartPair({"--drop-after-commit", "1"}, {route});  // ignores keys
  auto submit = [&](const std::string& key) {
    return Str(ParseBody(PostJson(writ_.port(), "/payments", key, R"({"accountId":"a","amount":1})")),
               "submissionId");
  };
  std::string applied = submit("lost-answer");
  ASSERT_EQ(Str(WaitTerminal(applied), "status"), "dead");
  ASSERT_EQ(Call(master_.port(), "POST", "/_faults", R"({"dropAfterCommit":0,"errorRate":1,"errorStatus":500})").status,
            200);
  std::string refused = submit("refused-500");
  auto dead = WaitTerminal(refused);
  ASSERT_EQ(Str(dead, "status"), "dead") << json::serialize(dead);
  EXPECT_TRUE(dead.as_object()["possiblyApplied"].as_bool());
  ASSERT_EQ(Call(master_.port(), "POST", "/_faults", R"({"errorRate":0})").status, 200);

  auto status = [&](const std::string& id) {
    return ParseBody(Call(writ_.port(), "GET", "/v1/submissions/" + id));
  };
  ASSERT_TRUE(Eventually([&] { return Str(status(applied), "status") == "succeeded"; }));
  auto found = status(applied);
  EXPECT_EQ(Int(found, "attempts"), 1) << "found, not re-sent: " << json::serialize(found);
  EXPECT_EQ(json::serialize(found.as_object()["response"].as_object()["body"].as_object()["id"]), "\"pay_1\"")
      << json::serialize(found);
  ASSERT_TRUE(Eventually([&] { return Str(status(refused), "status") == "succeeded"; }));
  auto resent = status(refused);
  EXPECT_EQ(Int(resent, "redrives"), 1) << json::serialize(resent);
  EXPECT_FALSE(resent.as_object()["possiblyApplied"].as_bool());
  auto stats = master_.Stats();
  EXPECT_EQ(stats["keysApplied"].as_int64(), 2);
  EXPECT_EQ(stats["duplicateApplies"].as_int64(), 0);
  EXPECT_EQ(stats["requests"].as_int64(), 3) << "lost-answer once; refused-500 refused, then sent once more";
  auto m = Call(writ_.admin_port(), "GET", "/metrics").body;
  EXPECT_NE(m.find("writ_probes_total{route=\"POST /payments\",result=\"found\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("writ_probes_total{route=\"POST /payments\",result=\"not_found\"} 1"), std::string::npos) << m;
  auto events = Call(writ_.port(), "GET", "/v1/submissions/" + applied + "/events").body;  // SSE
  EXPECT_NE(events.find("found at the master by a probe"), std::string::npos) << events;
}

TEST_F(AsyncTest, MaxAgeEndsRetriesWithDead) {
  StartPair({"--honor-idempotency-key", "--error-rate", "1", "--retry-after", "1"},
            {AsyncRoute("max_attempts: 100\nmax_age: 1500ms\nbackoff_base: 10ms\n")});
  std::string id = Str(ParseBody(PostJson(writ_.port(), "/payments", "age-1", R"({"accountId":"a","amount":1})")),
                       "submissionId");
  auto dead = WaitTerminal(id);
  EXPECT_EQ(Str(dead, "status"), "dead") << json::serialize(dead);
  EXPECT_NE(Str(dead, "lastError").find("max_age"), std::string::npos) << json::serialize(dead);
  // Retry-After: 1 s between attempts, so at most 2 fit in 1.5 s.
  EXPECT_LE(Int(dead, "attempts"), 2);
  EXPECT_EQ(master_.Stat("requests"), Int(dead, "attempts"));
}

TEST_F(AsyncTest, CheckConfigRefusesAnInvalidSchema) {
  std::string schema = dir_.path() + "/bad.json";
  std::ofstream(schema) << R"({"type": 12})";
  std::ofstream(dir_.path() + "/w.yaml")
      << "upstreams:\n  m: {url: \"http://127.0.0.1:1\"}\nroutes:\n  - method: POST\n    path: /p\n"
         "    mode: async\n    upstream: m\n    validate: bad.json\n";
  std::string out;
  EXPECT_EQ(RunWrit({"check-config", dir_.path() + "/w.yaml"}, &out), 2);
  EXPECT_NE(out.find("invalid JSON Schema"), std::string::npos) << out;
  EXPECT_NE(out.find("bad.json"), std::string::npos) << out;
}

TEST_F(AsyncTest, DeadLetterCliListsAndReplays) {
  StartPair({"--honor-idempotency-key", "--error-rate", "1"},
            {AsyncRoute("max_attempts: 2\nbackoff_base: 10ms\nbackoff_max: 20ms\n")});
  std::string id = Str(ParseBody(PostJson(writ_.port(), "/payments", "cli-1", R"({"accountId":"a","amount":1})")),
                       "submissionId");
  ASSERT_EQ(Str(WaitTerminal(id), "status"), "dead");
  std::string out;
  ASSERT_EQ(RunWrit({"dead", "list", "-c", writ_.config_path()}, &out), 0) << out;
  EXPECT_NE(out.find(id), std::string::npos) << out;
  EXPECT_NE(out.find("max_attempts"), std::string::npos) << out;
  out.clear();
  ASSERT_EQ(RunWrit({"submissions", "show", "-c", writ_.config_path(), id}, &out), 0) << out;
  EXPECT_NE(out.find("submission.dead"), std::string::npos) << out;

  Call(master_.port(), "POST", "/_faults", R"({"errorRate":0})");
  out.clear();
  ASSERT_EQ(RunWrit({"dead", "replay", "--all", "-c", writ_.config_path()}, &out), 0) << out;
  EXPECT_NE(out.find(id + ": re-queued"), std::string::npos) << out;
  EXPECT_EQ(Str(WaitTerminal(id), "status"), "succeeded");
  out.clear();
  ASSERT_EQ(RunWrit({"submissions", "list", "--json", "--status", "succeeded", "-c", writ_.config_path()}, &out), 0);
  EXPECT_NE(out.find(id), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(RunWrit({"submissions", "cancel", "-c", writ_.config_path(), id}, &out), 1);
  EXPECT_NE(out.find("cannot cancel a submission that is succeeded"), std::string::npos) << out;
  EXPECT_EQ(master_.Stat("applied"), 1);
}

// Standard Webhooks signature, computed here independently of writ's code.
std::string ExpectedSignature(const std::string& secret_b64, const std::string& id, const std::string& ts,
                              const std::string& body) {
  std::string key(secret_b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                          reinterpret_cast<const unsigned char*>(secret_b64.data()),
                          static_cast<int>(secret_b64.size()));
  size_t pad = secret_b64.size() - secret_b64.find_last_not_of('=') - 1;
  key.resize(static_cast<size_t>(n) - pad);
  std::string content = id + "." + ts + "." + body;
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &len);
  std::string b64(64, '\0');
  int m = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), mac, static_cast<int>(len));
  b64.resize(static_cast<size_t>(m));
  return "v1," + b64;
}

TEST_F(AsyncTest, WebhooksAreSignedAndEveryEventArrivesDespiteReceiverFailures) {
  const std::string secret = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  MockMasterProcess receiver;  // a second mock master plays the webhook receiver
  std::filesystem::create_directories(dir_.path() + "/receiver");
  receiver.Start(dir_.path() + "/receiver", {"--error-rate", "1"});
  std::string notify = "notify:\n  url: http://127.0.0.1:" + std::to_string(receiver.port()) +
                       "/hooks\n  secret: whsec_" + secret + "\n";
  StartPair({"--honor-idempotency-key"}, {AsyncRoute("", notify)});
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(Str(ParseBody(PostJson(writ_.port(), "/payments", "w-" + std::to_string(i),
                                         R"({"accountId":"a","amount":1})")),
                      "submissionId"));
  for (auto& id : ids) ASSERT_EQ(Str(WaitTerminal(id), "status"), "succeeded");
  // The receiver refuses at least 3 deliveries, then recovers.
  ASSERT_TRUE(Eventually([&] { return receiver.Stat("injectedErrors") >= 3; }, 10'000));
  Call(receiver.port(), "POST", "/_faults", R"({"errorRate":0})");

  auto store = OpenStoreReadOnly(writ_.db_path());
  std::set<std::string> expected;
  for (auto& id : ids) {
    auto events = store->queue().ListEvents(id, 0);
    ASSERT_TRUE(events.ok());
    for (auto& e : *events) expected.insert(e.id);
  }
  EXPECT_EQ(expected.size(), 15u);  // accepted, processing, succeeded per submission
  std::set<std::string> received;
  ASSERT_TRUE(Eventually(
      [&] {
        received.clear();
        auto log = ParseBody(Call(receiver.port(), "GET", "/_log"));
        for (auto& e : log.as_object()["requests"].as_array())
          if (Int(e, "status") == 201) received.insert(Str(e, "webhook-id"));
        return received == expected;
      },
      60'000))
      << received.size() << " of " << expected.size();
  // Every delivery (failed ones too) carries a valid signature.
  auto log = ParseBody(Call(receiver.port(), "GET", "/_log"));
  int checked = 0;
  for (auto& e : log.as_object()["requests"].as_array()) {
    EXPECT_EQ(Str(e, "webhook-signature"),
              ExpectedSignature(secret, Str(e, "webhook-id"), Str(e, "webhook-timestamp"), Str(e, "body")));
    auto payload = json::parse(Str(e, "body"));
    EXPECT_EQ(Str(payload, "type").rfind("submission.", 0), 0u);
    ++checked;
  }
  EXPECT_GE(checked, 18);
  receiver.Stop();
}

TEST_F(AsyncTest, EventsStreamAsSseWithLastEventIdResume) {
  StartPair({"--honor-idempotency-key"}, {AsyncRoute("")});
  std::string id = Str(ParseBody(PostJson(writ_.port(), "/payments", "sse-1", R"({"accountId":"a","amount":1})")),
                       "submissionId");
  ASSERT_EQ(Str(WaitTerminal(id), "status"), "succeeded");
  auto all = Call(writ_.port(), "GET", "/v1/submissions/" + id + "/events");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(*FindHeader(all.headers, "Content-Type"), "text/event-stream");
  std::vector<std::string> event_ids;
  std::istringstream in(all.body);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("id: ", 0) == 0) event_ids.push_back(line.substr(4));
  ASSERT_EQ(event_ids.size(), 3u) << all.body;
  EXPECT_NE(all.body.find("event: submission.succeeded"), std::string::npos);

  auto rest = Call(writ_.port(), "GET", "/v1/submissions/" + id + "/events", "", {{"Last-Event-ID", event_ids[0]}});
  EXPECT_EQ(rest.body.find(event_ids[0]), std::string::npos);
  EXPECT_NE(rest.body.find(event_ids[2]), std::string::npos);
  // Everything seen and the submission finished: 204 stops EventSource.
  auto end = Call(writ_.port(), "GET", "/v1/submissions/" + id + "/events", "", {{"Last-Event-ID", event_ids[2]}});
  EXPECT_EQ(end.status, 204);
}

}  // namespace
}  // namespace writ::testing
