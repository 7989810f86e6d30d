// Crash points, hit again and again: writ is killed (SIGKILL, from inside, at
// the named point) in the middle of a write, restarted on the same store, and
// the client retries with the same key, as a real client would. After every
// cycle and at the end:
//   - an acknowledged write (2xx) is applied at the master exactly once;
//   - nothing is applied twice, for a master that honours keys (on_unknown:
//     retry) and for one that ignores them (on_unknown: park);
//   - a key whose outcome writ cannot know is parked, never re-sent.
// WRIT_CHAOS_ITERATIONS sets the cycles per crash point (default 20).
#include <gtest/gtest.h>

#include <cstdlib>

#include "testing/cluster.h"

namespace writ::testing {
namespace {

#ifdef WRIT_CRASH_POINTS

struct Scenario {
  const char* point;
  bool honouring_master;
};

int Iterations() {
  const char* v = std::getenv("WRIT_CHAOS_ITERATIONS");
  return v ? std::max(1, std::atoi(v)) : 20;
}

class CrashPoints : public ::testing::TestWithParam<Scenario> {};

TEST_P(CrashPoints, NothingLostNothingAppliedTwice) {
  const Scenario& s = GetParam();
  TempDir dir;
  MockMasterProcess master;
  std::vector<std::string> flags;
  if (s.honouring_master) flags.emplace_back("--honor-idempotency-key");
  master.Start(dir.path(), flags);
  RouteOptions route;
  route.idempotency = std::string("lease: 1500ms\non_unknown: ") + (s.honouring_master ? "retry" : "park");
  WritProcess writ;
  writ.Start(dir.path(), master.port(), {route}, "request_timeout: 1s\nconnect_timeout: 200ms");

  int n = Iterations(), acknowledged = 0, parked = 0;
  for (int i = 0; i < n; ++i) {
    std::string key = std::string(s.point) + "-" + std::to_string(i);
    std::string body = "{\"i\":" + std::to_string(i) + "}";
    writ.Stop();
    writ.Restart({std::string("WRIT_CRASH_AT=") + s.point});
    auto crashed = PostJson(writ.port(), "/orders", key, body);
    ASSERT_EQ(crashed.status, 0) << "cycle " << i << ": the crash point was not reached";
    ASSERT_EQ(writ.WaitExit(), 128 + 9);
    writ.Restart();
    Response r;
    // Retry as a client does: on 409 (lease still held) and on transient 5xx,
    // until a final answer: the write, or "outcome unknown" on a park route.
    ASSERT_TRUE(Eventually([&] {
      r = PostJson(writ.port(), "/orders", key, body);
      bool transient = r.status == 0 || r.status == 409 ||
                       (r.status >= 500 && ProblemType(r) != "upstream-outcome-unknown");
      return !transient;
    }, 30'000));
    if (r.status == 201) {
      ++acknowledged;
      auto replay = PostJson(writ.port(), "/orders", key, body);
      EXPECT_EQ(replay.body, r.body);
      EXPECT_EQ(*FindHeader(replay.headers, "Idempotent-Replayed"), "true");
    } else {
      ASSERT_EQ(ProblemType(r), "upstream-outcome-unknown") << "cycle " << i << ": " << r.status << " " << r.body;
      EXPECT_FALSE(s.honouring_master) << "only at-most-once routes park";
      ++parked;
    }
  }
  auto stats = master.Stats();
  EXPECT_EQ(stats["duplicateApplies"].as_int64(), 0) << boost::json::serialize(stats);
  EXPECT_GE(stats["keysApplied"].as_int64(), acknowledged) << "every acknowledged write reached the master";
  EXPECT_LE(stats["keysApplied"].as_int64(), n);
  if (s.honouring_master) EXPECT_EQ(acknowledged, n);
  EXPECT_EQ(CountKeys(writ.db_path()).unknown, parked);
  std::printf("%s (%s master): %d cycles, %d acknowledged, %d parked, %lld applied, 0 duplicates\n", s.point,
              s.honouring_master ? "key-honouring" : "key-ignoring", n, acknowledged, parked,
              static_cast<long long>(stats["keysApplied"].as_int64()));
}

INSTANTIATE_TEST_SUITE_P(
    Points, CrashPoints,
    ::testing::Values(Scenario{"after_claim", true}, Scenario{"after_upstream_response", true},
                      Scenario{"after_commit_before_response", true}, Scenario{"after_claim", false},
                      Scenario{"after_upstream_response", false}, Scenario{"after_commit_before_response", false}),
    [](const ::testing::TestParamInfo<Scenario>& i) {
      return std::string(i.param.point) + (i.param.honouring_master ? "_honouring" : "_ignoring");
    });

// Async routes: the accept's commit before its 202 is written, and the
// worker's master answer before its outcome is recorded. The client retries
// the accept with the same key; the worker's command is taken over after its
// lease and re-sent with the same derived key.
class AsyncCrashPoints : public ::testing::TestWithParam<const char*> {};

TEST_P(AsyncCrashPoints, EveryAcceptedCommandSucceedsOnce) {
  const std::string point = GetParam();
  TempDir dir;
  MockMasterProcess master;
  master.Start(dir.path(), {"--honor-idempotency-key"});
  RouteOptions route;
  route.path = "/payments";
  route.mode = "async";
  route.extra = "async:\n  lease: 1500ms\n  poll_interval: 50ms\n  backoff_base: 10ms\n";
  WritProcess writ;
  writ.Start(dir.path(), master.port(), {route}, "request_timeout: 1s\nconnect_timeout: 200ms");
  int n = Iterations();
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    std::string key = point + "-" + std::to_string(i);
    std::string body = "{\"i\":" + std::to_string(i) + "}";
    writ.Stop();
    writ.Restart({"WRIT_CRASH_AT=" + point});
    auto first = PostJson(writ.port(), "/payments", key, body);
    if (point == "after_commit_before_response") ASSERT_EQ(first.status, 0) << "cycle " << i;
    ASSERT_EQ(writ.WaitExit(), 128 + 9) << "cycle " << i << ": the crash point was not reached";
    writ.Restart();
    Response r;
    ASSERT_TRUE(Eventually([&] {
      r = PostJson(writ.port(), "/payments", key, body);
      return r.status == 202;
    }));
    if (first.status == 202) EXPECT_EQ(r.body, first.body) << "the same submission";
    EXPECT_EQ(*FindHeader(r.headers, "Idempotent-Replayed"), "true");
    std::string id(ParseBody(r).as_object()["submissionId"].as_string());
    ASSERT_TRUE(Eventually([&] {
      auto s = ParseBody(Call(writ.port(), "GET", "/v1/submissions/" + id + "?wait=2s"));
      return s.is_object() && s.as_object()["status"] == "succeeded";
    }, 20'000)) << "cycle " << i;
    ids.push_back(id);
  }
  auto stats = master.Stats();
  EXPECT_EQ(stats["duplicateApplies"].as_int64(), 0) << boost::json::serialize(stats);
  EXPECT_EQ(stats["keysApplied"].as_int64(), n);
  std::printf("async %s: %d cycles, %d succeeded, %lld applied, 0 duplicates\n", point.c_str(), n,
              static_cast<int>(ids.size()), static_cast<long long>(stats["keysApplied"].as_int64()));
}

INSTANTIATE_TEST_SUITE_P(Points, AsyncCrashPoints,
                         ::testing::Values("after_commit_before_response", "after_upstream_response"));

#endif

}  // namespace
}  // namespace writ::testing
