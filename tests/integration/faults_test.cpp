// Failure paths: unknown outcomes, the at-most-once guard, an unreachable
// master, and kill -9 at the named crash points followed by a restart.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "patterns/idempotency/key.h"
#include "testing/cluster.h"

namespace writ::testing {
namespace {

class FaultsTest : public ::testing::Test {
 protected:
  void SetFaults(const std::string& json) {
    auto r = Call(master_.port(), "POST", "/_faults", json, {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  boost::json::object MasterKeys() { return ParseBody(Call(master_.port(), "GET", "/_keys")).as_object(); }
  std::string Derived(const std::string& key) { return DeriveUpstreamKey("default", "POST /orders", key); }

  TempDir dir_;
  MockMasterProcess master_;
  WritProcess writ_;
};

TEST_F(FaultsTest, LostAnswerFromHonouringMasterIsResentWithTheSameDerivedKey) {
  master_.Start(dir_.path(), {"--honor-idempotency-key", "--drop-after-commit", "1"});
  writ_.Start(dir_.path(), master_.port());
  auto lost = PostJson(writ_.port(), "/orders", "k", R"({"a":1})");
  EXPECT_EQ(lost.status, 502);
  EXPECT_EQ(ProblemType(lost), "upstream-broken-answer");
  EXPECT_EQ(CountKeys(writ_.db_path()).in_flight, 0) << "key freed so the client can retry";
  SetFaults(R"({"dropAfterCommit":0})");
  auto retry = PostJson(writ_.port(), "/orders", "k", R"({"a":1})");
  ASSERT_EQ(retry.status, 201);
  auto keys = MasterKeys();
  ASSERT_EQ(keys.size(), 1u);
  ASSERT_TRUE(keys.contains(Derived("k")));
  EXPECT_EQ(keys[Derived("k")].as_object()["requests"].as_int64(), 2);
  EXPECT_EQ(keys[Derived("k")].as_object()["applied"].as_int64(), 1);
  EXPECT_EQ(master_.Stat("keyReplays"), 1);
}

TEST_F(FaultsTest, TimeoutIs504AndRetryAppliesOnceAtHonouringMaster) {
  master_.Start(dir_.path(), {"--honor-idempotency-key", "--hang-rate", "1", "--hang-for", "3s"});
  writ_.Start(dir_.path(), master_.port(), {{}}, "request_timeout: 500ms");
  auto r = PostJson(writ_.port(), "/orders", "slowpoke", R"({"a":1})");
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(ProblemType(r), "upstream-timeout");
  SetFaults(R"({"hangRate":0})");
  EXPECT_EQ(PostJson(writ_.port(), "/orders", "slowpoke", R"({"a":1})").status, 201);
  EXPECT_EQ(master_.Stat("applied"), 1);
  EXPECT_EQ(master_.Stat("duplicateApplies"), 0);
}

TEST_F(FaultsTest, ParkedUnknownOutcomeIsNeverResent) {
  master_.Start(dir_.path(), {"--drop-after-commit", "1"});  // ignores keys
  RouteOptions route;
  route.idempotency = "on_unknown: park";
  writ_.Start(dir_.path(), master_.port(), {route});
  auto r = PostJson(writ_.port(), "/orders", "p1", R"({"a":1})");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(ProblemType(r), "upstream-outcome-unknown");
  EXPECT_EQ(CountKeys(writ_.db_path()).unknown, 1);
  SetFaults(R"({"dropAfterCommit":0})");
  for (int i = 0; i < 3; ++i) {
    auto again = PostJson(writ_.port(), "/orders", "p1", R"({"a":1})");
    EXPECT_EQ(again.status, 502);
    EXPECT_EQ(ProblemType(again), "upstream-outcome-unknown");
  }
  EXPECT_EQ(master_.Stat("requests"), 1);
  EXPECT_EQ(master_.Stat("applied"), 1);

  std::string out;
  ASSERT_EQ(RunWrit({"keys", "list", "--config", writ_.config_path(), "--state", "unknown"}, &out), 0) << out;
  EXPECT_NE(out.find("unknown\tdefault\tPOST /orders\tp1"), std::string::npos) << out;
  // A bare delete would let the next retry send again without anyone
  // having checked: refused, pointing at resolve.
  EXPECT_EQ(RunWrit({"keys", "delete", "--config", writ_.config_path(), "--route", "POST /orders", "p1"}, &out), 1);
  EXPECT_NE(out.find("writ keys resolve"), std::string::npos) << out;
  EXPECT_EQ(CountKeys(writ_.db_path()).unknown, 1);
  EXPECT_EQ(RunWrit({"keys", "resolve", "--config", writ_.config_path(), "--route", "POST /orders", "p1"}, &out), 2)
      << "applied or not: the operator must say";
  // The operator checked the master: it has the write. Retries get a stored,
  // marked answer; nothing is sent.
  ASSERT_EQ(RunWrit({"keys", "resolve", "--config", writ_.config_path(), "--route", "POST /orders", "--applied", "p1"},
                    &out),
            0)
      << out;
  EXPECT_EQ(CountKeys(writ_.db_path()).unknown, 0);
  auto replay = PostJson(writ_.port(), "/orders", "p1", R"({"a":1})");
  EXPECT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(*FindHeader(replay.headers, "Writ-Reconstructed"), "true");
  EXPECT_TRUE(FindHeader(replay.headers, "Idempotent-Replayed"));
  EXPECT_EQ(master_.Stat("requests"), 1);
  // Another unknown outcome, which the master does not have: resolved as
  // not applied, the client's retry sends it (once).
  SetFaults(R"({"dropAfterCommit":1})");
  EXPECT_EQ(ProblemType(PostJson(writ_.port(), "/orders", "p2", R"({"a":2})")), "upstream-outcome-unknown");
  SetFaults(R"({"dropAfterCommit":0})");
  ASSERT_EQ(RunWrit({"keys", "resolve", "--config", writ_.config_path(), "--route", "POST /orders", "--not-applied",
                     "p2"},
                    &out),
            0)
      << out;
  EXPECT_EQ(PostJson(writ_.port(), "/orders", "p2", R"({"a":2})").status, 201);
  EXPECT_EQ(PostJson(writ_.port(), "/orders", "p2", R"({"a":2})").status, 201);
  EXPECT_EQ(master_.Stat("requests"), 3);
}

// A 500 or 504 may come after the master committed (a proxy timing out, a
// master failing on its way back): on park routes it is an unknown outcome.
TEST_F(FaultsTest, AFiveHundredAfterTheMastersCommitParksTheKeyOnAtMostOnceRoutes) {
  master_.Start(dir_.path(), {"--error-after-commit", "1", "--seed", "3"});  // ignores keys
  RouteOptions park, explicit_park, retry;
  park.idempotency = "on_unknown: park";
  explicit_park.path = "/payments";
  explicit_park.idempotency = "on_unknown: park\nunknown_statuses: [500, 502, 503, 504]";
  retry.path = "/invoices";
  writ_.Start(dir_.path(), master_.port(), {park, explicit_park, retry});
  for (int i = 0; i < 4; ++i) {
    std::string key = "p" + std::to_string(i);
    auto r = PostJson(writ_.port(), "/orders", key, R"({"a":1})");
    ASSERT_EQ(r.status, 502) << r.body;
    EXPECT_EQ(ProblemType(r), "upstream-outcome-unknown");
    EXPECT_NE(r.body.find("the master answered 50"), std::string::npos) << r.body;
    auto again = PostJson(writ_.port(), "/orders", key, R"({"a":1})");
    EXPECT_EQ(ProblemType(again), "upstream-outcome-unknown") << "never re-sent";
  }
  EXPECT_EQ(CountKeys(writ_.db_path()).unknown, 4);
  EXPECT_EQ(master_.Stat("requests"), 4);
  EXPECT_EQ(master_.Stat("duplicateApplies"), 0);
  EXPECT_EQ(master_.Stat("errorsAfterCommit"), 4);
  // A master documented to answer 503 only before applying keeps 503 out;
  // this route declared it may come after a commit too.
  SetFaults(R"({"errorAfterCommit":0,"errorRate":1,"errorStatus":503})");
  auto p503 = PostJson(writ_.port(), "/payments", "q1", R"({"a":1})");
  EXPECT_EQ(ProblemType(p503), "upstream-outcome-unknown") << p503.body;
  auto o503 = PostJson(writ_.port(), "/orders", "q1", R"({"a":1})");
  EXPECT_EQ(ProblemType(o503), "upstream-overloaded") << "503 is 'not applied' by default";
  // A retry route (for masters that honour keys) re-sends as before.
  SetFaults(R"({"errorRate":0,"errorAfterCommit":1})");
  auto r = PostJson(writ_.port(), "/invoices", "i1", R"({"a":1})");
  EXPECT_TRUE(ProblemType(r) == "upstream-error" || ProblemType(r) == "upstream-timeout") << r.body;
  EXPECT_EQ(CountKeys(writ_.db_path()).unknown, 5);
}

// On a retry route the client's retry after a 5xx goes out under the same
// derived key, so a key-honouring master that had applied it replays.
TEST_F(FaultsTest, ARetryAfterAFiveHundredReachesTheMasterUnderTheSameDerivedKey) {
  master_.Start(dir_.path(), {"--honor-idempotency-key", "--error-after-commit", "1"});
  writ_.Start(dir_.path(), master_.port());
  auto first = PostJson(writ_.port(), "/orders", "k", R"({"a":1})");
  EXPECT_TRUE(first.status == 502 || first.status == 504) << first.body;  // the mock answers 500 or 504
  SetFaults(R"({"errorAfterCommit":0})");
  auto retry = PostJson(writ_.port(), "/orders", "k", R"({"a":1})");
  ASSERT_EQ(retry.status, 201) << retry.body;
  auto keys = MasterKeys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[Derived("k")].as_object()["requests"].as_int64(), 2);
  EXPECT_EQ(keys[Derived("k")].as_object()["applied"].as_int64(), 1);
  EXPECT_EQ(master_.Stat("keyReplays"), 1);
}

// A park route with a probe under a master that fails in every way: 10%
// refused before applying with a 500 (unknown to Writ, not applied), 20%
// a 500/504 after applying, 10% the answer lost after applying. Clients keep
// retrying. Every unknown outcome gets resolved by the probe (found ->
// replayed; not found -> sent once more) and every write applies once.
TEST_F(FaultsTest, AProbeResolvesEveryUnknownOutcomeAndNothingAppliesTwice) {
  master_.Start(dir_.path(), {"--error-rate", "0.1", "--error-status", "500", "--error-after-commit", "0.2",
                              "--drop-after-commit", "0.1", "--seed", "11"});
  RouteOptions route;
  route.idempotency = "on_unknown: park\nprobe:\n  path: /orders?clientRef={key}\n  settle: 200ms\n  interval: 200ms";
  writ_.Start(dir_.path(), master_.port(), {route});
  constexpr int kKeys = 40;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back("w" + std::to_string(i));
  int parked_answers = 0;
  ASSERT_TRUE(RetryEachUntilAnswered(
      keys, "/orders", [&](int) { return writ_.port(); },
      [](const std::string& key) { return R"({"item":")" + key + R"("})"; }, &parked_answers));
  EXPECT_GT(parked_answers, 0) << "the faults produced no unknown outcome";
  EXPECT_EQ(CountKeys(writ_.db_path()).unknown, 0);
  EXPECT_EQ(master_.Stat("duplicateApplies"), 0);
  EXPECT_EQ(master_.Stat("keysApplied"), kKeys) << "every write applied";
  auto m = Call(writ_.admin_port(), "GET", "/metrics").body;
  EXPECT_NE(m.find("writ_probes_total{route=\"POST /orders\",result=\"found\"}"), std::string::npos) << m;
  EXPECT_NE(m.find("writ_probes_total{route=\"POST /orders\",result=\"not_found\"}"), std::string::npos) << m;
}

TEST_F(FaultsTest, AtMostOnceRoutesNeverReuseAPooledConnection) {
  master_.Start(dir_.path());
  RouteOptions park, retry;
  park.idempotency = "on_unknown: park";
  retry.path = "/pooled";
  retry.extra = "upstream_path: /orders";
  writ_.Start(dir_.path(), master_.port(), {park, retry});
  auto opened = [&] {
    auto m = Call(writ_.admin_port(), "GET", "/metrics").body;
    auto at = m.find("writ_upstream_connections_opened_total{upstream=\"master\"} ");
    return at == std::string::npos ? -1 : std::atoi(m.c_str() + m.find("} ", at) + 2);
  };
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(PostJson(writ_.port(), "/pooled", "r" + std::to_string(i), "{}").status, 201);
  EXPECT_EQ(opened(), 1) << "key-honouring routes reuse the pool";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(PostJson(writ_.port(), "/orders", "p" + std::to_string(i), "{}").status, 201);
  EXPECT_EQ(opened(), 4) << "each at-most-once request gets its own connection";
}

TEST_F(FaultsTest, UnreachableMasterIs503AndStoresNothing) {
  master_.Start(dir_.path());
  writ_.Start(dir_.path(), master_.port());
  master_.Stop();
  auto r = PostJson(writ_.port(), "/orders", "down", R"({"a":1})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(ProblemType(r), "upstream-unavailable");
  EXPECT_TRUE(FindHeader(r.headers, "Retry-After"));
  auto counts = CountKeys(writ_.db_path());
  EXPECT_EQ(counts.completed + counts.in_flight + counts.unknown, 0);
}

#ifdef WRIT_CRASH_POINTS
// kill -9 after the master committed and before Writ recorded the answer.
// The restarted Writ finds the key in flight; once the lease has expired the
// client's retry takes it over and re-sends with the same derived key.
TEST_F(FaultsTest, CrashAfterMasterCommitThenLeaseTakeoverAppliesOnce) {
  master_.Start(dir_.path(), {"--honor-idempotency-key"});
  RouteOptions route;
  route.idempotency = "lease: 1500ms";
  writ_.Start(dir_.path(), master_.port(), {route}, "request_timeout: 1s\nconnect_timeout: 200ms",
              {"WRIT_CRASH_AT=after_upstream_response"});
  auto r = PostJson(writ_.port(), "/orders", "crash-1", R"({"a":1})");
  EXPECT_EQ(r.status, 0) << "the client saw no answer";
  EXPECT_EQ(writ_.WaitExit(), 128 + 9);
  EXPECT_EQ(master_.Stat("applied"), 1);
  EXPECT_EQ(CountKeys(writ_.db_path()).in_flight, 1);

  writ_.Restart();
  auto during = PostJson(writ_.port(), "/orders", "crash-1", R"({"a":1})");
  EXPECT_EQ(during.status, 409) << "the crashed holder's lease still runs";
  Response done;
  ASSERT_TRUE(Eventually([&] {
    done = PostJson(writ_.port(), "/orders", "crash-1", R"({"a":1})");
    return done.status != 409;
  }));
  EXPECT_EQ(done.status, 201);
  EXPECT_EQ(master_.Stat("applied"), 1);
  EXPECT_EQ(master_.Stat("keyReplays"), 1);
  EXPECT_EQ(master_.Stat("duplicateApplies"), 0);
  // Either the client's retry took the key over, or the completer had
  // re-sent the orphan just before (the retry then replays): both send
  // under the same key.
  auto metrics = Call(writ_.admin_port(), "GET", "/metrics").body;
  EXPECT_TRUE(metrics.find("writ_lease_takeovers_total{route=\"POST /orders\"} 1") != std::string::npos ||
              metrics.find("writ_orphans_total{route=\"POST /orders\",action=\"completed\"} 1") != std::string::npos)
      << metrics;
}

// Nobody comes back for a key whose holder died: on a retry route the
// completer finishes the write for the client. It re-sends the request kept
// with the key under the same derived key (the key-honouring master answers
// from its own record: applied once) and completes the key; the client's
// late retry replays that answer without reaching the master.
TEST_F(FaultsTest, AnOrphanOnARetryRouteIsCompletedByTheCompleterAndALateRetryReplays) {
  master_.Start(dir_.path(), {"--honor-idempotency-key"});
  RouteOptions route;
  route.idempotency = "lease: 1500ms";
  writ_.Start(dir_.path(), master_.port(), {route}, "request_timeout: 1s\nconnect_timeout: 200ms",
              {"WRIT_CRASH_AT=after_upstream_response"});
  EXPECT_EQ(Call(writ_.port(), "POST", "/orders?source=app", R"({"a":1})",
                 {{"Idempotency-Key", "gone"}, {"Content-Type", "application/json"}})
                .status,
            0);
  EXPECT_EQ(writ_.WaitExit(), 128 + 9);
  EXPECT_EQ(master_.Stat("requests"), 1);
  writ_.Restart();
  ASSERT_TRUE(Eventually([&] { return CountKeys(writ_.db_path()).completed == 1; }));
  EXPECT_EQ(CountKeys(writ_.db_path()).in_flight, 0);
  EXPECT_EQ(master_.Stat("requests"), 2) << "one re-send";
  EXPECT_EQ(master_.Stat("applied"), 1);
  EXPECT_EQ(master_.Stat("keyReplays"), 1) << "the master recognised the derived key";
  auto metrics = Call(writ_.admin_port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("writ_orphans_total{route=\"POST /orders\",action=\"completed\"} 1"), std::string::npos)
      << metrics;
  std::string log = writ_.ReadLog();
  EXPECT_NE(log.find("\"action\":\"completed by a re-send\""), std::string::npos) << log;
  EXPECT_EQ(log.find("\"gone\""), std::string::npos) << "a raw key in the log";

  auto late = Call(writ_.port(), "POST", "/orders?source=app", R"({"a":1})",
                   {{"Idempotency-Key", "gone"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(late.status, 201);
  EXPECT_EQ(FindHeader(late.headers, "Idempotent-Replayed").value_or(""), "true");
  EXPECT_EQ(ParseBody(late).as_object()["id"], "ord_1") << "the master's own record of the first attempt";
  EXPECT_EQ(master_.Stat("requests"), 2) << "the late retry replayed";
  // The re-send was the request as the client sent it, under the same key.
  auto seen = ParseBody(Call(master_.port(), "GET", "/_log")).as_object().at("requests").as_array();
  ASSERT_EQ(seen.size(), 2u);
  for (const char* field : {"method", "target", "key", "body"})
    EXPECT_EQ(seen[1].as_object().at(field), seen[0].as_object().at(field)) << field;
  EXPECT_EQ(seen[1].as_object().at("target"), "/orders?source=app");
}

// With `orphans: release` the completer only frees the key, and a much
// later retry sends again under the same derived key, which the
// key-honouring master answers from its own record.
TEST_F(FaultsTest, AnOrphanOnARetryRouteWithOrphansReleaseIsReleasedAndALateRetryAppliesOnce) {
  master_.Start(dir_.path(), {"--honor-idempotency-key"});
  RouteOptions route;
  route.idempotency = "lease: 1500ms";
  route.extra = "orphans: release";
  writ_.Start(dir_.path(), master_.port(), {route}, "request_timeout: 1s\nconnect_timeout: 200ms",
              {"WRIT_CRASH_AT=after_upstream_response"});
  EXPECT_EQ(PostJson(writ_.port(), "/orders", "gone", R"({"a":1})").status, 0);
  EXPECT_EQ(writ_.WaitExit(), 128 + 9);
  writ_.Restart();
  ASSERT_TRUE(Eventually([&] { return CountKeys(writ_.db_path()).in_flight == 0; }));
  EXPECT_NE(Call(writ_.admin_port(), "GET", "/metrics").body.find(
                "writ_orphans_total{route=\"POST /orders\",action=\"released\"} 1"),
            std::string::npos);
  auto late = PostJson(writ_.port(), "/orders", "gone", R"({"a":1})");
  EXPECT_EQ(late.status, 201);
  EXPECT_EQ(master_.Stat("applied"), 1);
  EXPECT_EQ(master_.Stat("keyReplays"), 1);
  EXPECT_EQ(ParseBody(late).as_object()["id"], "ord_1") << "the master's own record of the first attempt";
}

// kill -9 with a key in flight on an at-most-once route and no client retry:
// the completer parks the orphan (it is listed, never collected), the probe
// finds the order at the master, and the client's retry days later replays
// it instead of ordering twice.
TEST_F(FaultsTest, AnOrphanOnAParkRouteIsParkedThenResolvedByTheProbe) {
  master_.Start(dir_.path());  // ignores keys: a re-send would apply twice
  RouteOptions route;
  route.idempotency = "on_unknown: park\nlease: 1500ms\nprobe:\n  path: /orders?clientRef={key}\n  settle: 300ms";
  writ_.Start(dir_.path(), master_.port(), {route}, "request_timeout: 1s\nconnect_timeout: 200ms",
              {"WRIT_CRASH_AT=after_upstream_response"});
  EXPECT_EQ(PostJson(writ_.port(), "/orders", "abandoned", R"({"a":1})").status, 0);
  EXPECT_EQ(writ_.WaitExit(), 128 + 9);
  writ_.Restart();
  ASSERT_TRUE(Eventually([&] { return CountKeys(writ_.db_path()).completed == 1; }));
  auto m = Call(writ_.admin_port(), "GET", "/metrics").body;
  EXPECT_NE(m.find("writ_orphans_total{route=\"POST /orders\",action=\"parked\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("writ_probes_total{route=\"POST /orders\",result=\"found\"} 1"), std::string::npos) << m;
  auto retry = PostJson(writ_.port(), "/orders", "abandoned", R"({"a":1})");
  EXPECT_EQ(retry.status, 200);
  EXPECT_EQ(FindHeader(retry.headers, "Writ-Reconstructed").value_or(""), "probe");
  EXPECT_EQ(FindHeader(retry.headers, "Idempotent-Replayed").value_or(""), "true");
  EXPECT_EQ(ParseBody(retry).as_object()["id"], "ord_1");
  EXPECT_EQ(master_.Stat("applied"), 1);
  EXPECT_EQ(master_.Stat("duplicateApplies"), 0);
  std::string log = writ_.ReadLog();
  EXPECT_NE(log.find("\"msg\":\"orphaned key\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"result\":\"found\""), std::string::npos) << log;
  EXPECT_EQ(log.find("abandoned"), std::string::npos) << "a raw key in the log";
}

TEST_F(FaultsTest, CrashAfterCommitBeforeResponseReplaysOnRetry) {
  master_.Start(dir_.path());
  writ_.Start(dir_.path(), master_.port(), {{}}, "", {"WRIT_CRASH_AT=after_commit_before_response"});
  EXPECT_EQ(PostJson(writ_.port(), "/orders", "c2", R"({"a":1})").status, 0);
  EXPECT_EQ(writ_.WaitExit(), 128 + 9);
  writ_.Restart();
  auto r = PostJson(writ_.port(), "/orders", "c2", R"({"a":1})");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(*FindHeader(r.headers, "Idempotent-Replayed"), "true");
  EXPECT_EQ(master_.Stat("requests"), 1);
}

TEST_F(FaultsTest, CrashWithKeyInFlightOnParkRouteParksInsteadOfResending) {
  master_.Start(dir_.path());  // ignores keys: a resend would apply twice
  RouteOptions route;
  route.idempotency = "on_unknown: park\nlease: 1500ms";
  writ_.Start(dir_.path(), master_.port(), {route}, "request_timeout: 1s\nconnect_timeout: 200ms",
              {"WRIT_CRASH_AT=after_upstream_response"});
  EXPECT_EQ(PostJson(writ_.port(), "/orders", "c3", R"({"a":1})").status, 0);
  EXPECT_EQ(writ_.WaitExit(), 128 + 9);
  writ_.Restart();
  Response r;
  ASSERT_TRUE(Eventually([&] {
    r = PostJson(writ_.port(), "/orders", "c3", R"({"a":1})");
    return r.status != 409;
  }));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(ProblemType(r), "upstream-outcome-unknown");
  EXPECT_EQ(master_.Stat("applied"), 1);
  EXPECT_EQ(CountKeys(writ_.db_path()).unknown, 1);
}
#endif

}  // namespace
}  // namespace writ::testing
