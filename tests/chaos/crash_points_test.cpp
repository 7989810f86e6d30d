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

#include <map>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "core/json.h"
#include "testing/cluster.h"
#include "testing/nats.h"

namespace writ::testing {
namespace {

#ifdef WRIT_CRASH_POINTS

struct Scenario {
  const char* point;
  bool honouring_master;
};
void PrintTo(const Scenario& s, std::ostream* os) {
  *os << s.point << (s.honouring_master ? ", master honours keys" : ", master ignores keys");
}

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
    ASSERT_TRUE(Eventually(
        [&] {
          r = PostJson(writ.port(), "/orders", key, body);
          bool transient =
              r.status == 0 || r.status == 409 || (r.status >= 500 && ProblemType(r) != "upstream-outcome-unknown");
          return !transient;
        },
        30'000));
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

INSTANTIATE_TEST_SUITE_P(Points, CrashPoints,
                         ::testing::Values(Scenario{"after_claim", true}, Scenario{"after_upstream_response", true},
                                           Scenario{"after_commit_before_response", true},
                                           Scenario{"after_claim", false}, Scenario{"after_upstream_response", false},
                                           Scenario{"after_commit_before_response", false}),
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
    ASSERT_TRUE(Eventually(
        [&] {
          auto s = ParseBody(Call(writ.port(), "GET", "/v1/submissions/" + id + "?wait=2s"));
          return s.is_object() && s.as_object()["status"] == "succeeded";
        },
        20'000))
        << "cycle " << i;
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

// The outbox: writ dies after the webhook receiver took an event and before
// the event is marked sent. The restarted relay delivers it again under the
// same webhook-id: every event reaches the receiver at least once, repeats
// carry the id a receiver deduplicates on, and the command itself is applied
// once.
TEST(OutboxCrashPoint, EveryEventDeliveredAtLeastOnceUnderItsId) {
  TempDir dir;
  MockMasterProcess master;
  master.Start(dir.path(), {"--honor-idempotency-key"});
  RouteOptions route;
  route.path = "/payments";
  route.mode = "async";
  route.extra =
      "async:\n  lease: 1500ms\n  poll_interval: 50ms\n  backoff_base: 10ms\n"
      "notify:\n  url: http://127.0.0.1:" +
      std::to_string(master.port()) +
      "/hooks\n"
      "  secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
  WritProcess writ;
  writ.Start(dir.path(), master.port(), {route}, "request_timeout: 1s\nconnect_timeout: 200ms");
  int n = Iterations();
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    writ.Stop();
    writ.Restart({"WRIT_CRASH_AT=after_delivery_before_mark"});
    auto r = PostJson(writ.port(), "/payments", "hook-" + std::to_string(i), "{\"i\":" + std::to_string(i) + "}");
    ASSERT_EQ(r.status, 202) << "cycle " << i;
    ids.push_back(std::string(ParseBody(r).as_object()["submissionId"].as_string()));
    ASSERT_EQ(writ.WaitExit(), 128 + 9) << "cycle " << i << ": the crash point was not reached";
    writ.Restart();
    ASSERT_TRUE(Eventually(
        [&] {
          auto s = ParseBody(Call(writ.port(), "GET", "/v1/submissions/" + ids.back() + "?wait=2s"));
          return s.is_object() && s.as_object()["status"] == "succeeded";
        },
        20'000))
        << "cycle " << i;
    // The cycle ends when its events are all delivered (the next one's crash
    // must come from its own delivery).
    ASSERT_TRUE(Eventually(
        [&] {
          auto due = OpenStoreReadOnly(writ.db_path())->queue().DueEvents(100);
          return due.ok() && due->empty();
        },
        20'000))
        << "cycle " << i;
  }
  // Every event of every submission delivered (nothing left due), at least once.
  writ.Stop();
  auto store = OpenStoreReadOnly(writ.db_path());
  std::map<std::string, int> delivered;  // webhook-id -> deliveries
  auto log = ParseBody(Call(master.port(), "GET", "/_log"));
  for (auto& e : log.as_object()["requests"].as_array())
    if (auto* id = e.as_object().if_contains("webhook-id")) ++delivered[std::string(id->as_string())];
  int events = 0, repeated = 0;
  for (const auto& id : ids) {
    auto evs = store->queue().ListEvents(id, 0).value();
    EXPECT_GE(evs.size(), 3u) << id << ": accepted, processing, succeeded";
    for (const auto& e : evs) {
      ++events;
      EXPECT_GE(delivered[e.id], 1) << e.id << " (" << e.type << ") never reached the receiver";
      if (delivered[e.id] > 1) ++repeated;
    }
  }
  EXPECT_TRUE(store->queue().DueEvents(100).value().empty()) << "events still waiting for delivery";
  EXPECT_GE(repeated, n) << "each crash left one event to be delivered again under its id";
  EXPECT_EQ(master.Stat("duplicateApplies"), 0);
  std::printf(
      "outbox after_delivery_before_mark: %d cycles, %d events delivered at least once, %d of them again "
      "under the same webhook-id\n",
      n, events, repeated);
}

// Drafts (CP-4): writ dies while submitting a draft: after the submit began
// (key claimed, draft frozen) and before the master is called; after the
// master answered and before the outcome is recorded; after the commit and
// before the answer (sync and async). The client retries the submit with the
// same key and If-Match until it has a final answer: every draft reaches the
// master exactly once (a key-honouring master), or is parked and never
// resent (a key-ignoring master, on_unknown: park).
struct DraftScenario {
  const char* point;
  bool async;
  bool honouring_master;
};
void PrintTo(const DraftScenario& s, std::ostream* os) {
  *os << s.point << (s.async ? " (async)" : " (sync)") << (s.honouring_master ? ", honouring" : ", ignoring");
}

class DraftCrashPoints : public ::testing::TestWithParam<DraftScenario> {};

TEST_P(DraftCrashPoints, EverySubmittedDraftReachesTheMasterOnce) {
  const DraftScenario& s = GetParam();
  TempDir dir;
  MockMasterProcess master;
  std::vector<std::string> flags;
  if (s.honouring_master) flags.emplace_back("--honor-idempotency-key");
  master.Start(dir.path(), flags);
  RouteOptions route;
  route.method = "";
  route.path = "/applications/drafts";
  route.mode = "draft";
  route.extra = "upstream_path: /applications\n";
  if (s.async)
    route.extra += "draft:\n  submit: async\nasync:\n  lease: 1500ms\n  poll_interval: 50ms\n  backoff_base: 10ms\n";
  route.idempotency = std::string("lease: 1500ms\non_unknown: ") + (s.honouring_master ? "retry" : "park");
  WritProcess writ;
  writ.Start(dir.path(), master.port(), {route}, "request_timeout: 1s\nconnect_timeout: 200ms");
  const std::string base = "/applications/drafts";
  int n = Iterations(), submitted = 0, parked = 0;
  for (int i = 0; i < n; ++i) {
    writ.Stop();
    writ.Restart({std::string("WRIT_CRASH_AT=") + s.point});
    auto created =
        Call(writ.port(), "POST", base, "{\"n\":" + std::to_string(i) + "}", {{"Content-Type", "application/json"}});
    ASSERT_EQ(created.status, 201) << created.body;
    std::string id(ParseBody(created).as_object()["draftId"].as_string());
    std::string key = "submit-" + std::to_string(i);
    Headers h = {{"If-Match", "\"1\""}, {"Idempotency-Key", key}};
    auto crashed = Call(writ.port(), "POST", base + "/" + id + "/submit", "", h);
    ASSERT_EQ(crashed.status, 0) << "cycle " << i << ": the crash point was not reached: " << crashed.body;
    ASSERT_EQ(writ.WaitExit(), 128 + 9);
    writ.Restart();
    Response r;
    ASSERT_TRUE(Eventually(
        [&] {
          r = Call(writ.port(), "POST", base + "/" + id + "/submit", "", h);
          bool transient =
              r.status == 0 || r.status == 409 || (r.status >= 500 && ProblemType(r) != "upstream-outcome-unknown");
          return !transient;
        },
        30'000))
        << "cycle " << i << ": " << r.status << " " << r.body;
    if (r.status == 201 || r.status == 202) {
      ++submitted;
      ASSERT_TRUE(Eventually(
          [&] {
            auto d = ParseBody(Call(writ.port(), "GET", base + "/" + id));
            return d.is_object() && d.as_object()["status"] == "submitted";
          },
          20'000))
          << "cycle " << i;
    } else {
      ASSERT_EQ(ProblemType(r), "upstream-outcome-unknown") << "cycle " << i << ": " << r.status << " " << r.body;
      EXPECT_FALSE(s.honouring_master) << "only at-most-once routes park";
      ++parked;
    }
  }
  auto stats = master.Stats();
  EXPECT_EQ(stats["duplicateApplies"].as_int64(), 0) << boost::json::serialize(stats);
  EXPECT_LE(stats["applied"].as_int64(), n) << "one application per draft at most";
  EXPECT_GE(stats["applied"].as_int64(), submitted);
  if (s.honouring_master) EXPECT_EQ(submitted, n);
  std::printf("draft %s (%s, %s master): %d cycles, %d submitted, %d parked, %lld applied, 0 duplicates\n", s.point,
              s.async ? "async" : "sync", s.honouring_master ? "key-honouring" : "key-ignoring", n, submitted, parked,
              static_cast<long long>(stats["applied"].as_int64()));
}

INSTANTIATE_TEST_SUITE_P(Points, DraftCrashPoints,
                         ::testing::Values(DraftScenario{"draft_after_submit_begin", false, true},
                                           DraftScenario{"draft_after_master_answer", false, true},
                                           DraftScenario{"draft_after_submit_commit", false, true},
                                           DraftScenario{"draft_after_submit_commit", true, true},
                                           DraftScenario{"draft_after_master_answer", false, false}),
                         [](const ::testing::TestParamInfo<DraftScenario>& i) {
                           return std::string(i.param.point) + (i.param.async ? "_async" : "_sync") +
                                  (i.param.honouring_master ? "_honouring" : "_ignoring");
                         });

// Edge copy (CP-5): writ dies after a record's write committed and before
// its answer, after the sync worker claimed and prepared the change, and after the master
// answered it and before the outcome was recorded. The client retries its
// create with the same key until it has an answer; every record ends synced
// and reaches the master exactly once.
class EdgeCrashPoints : public ::testing::TestWithParam<const char*> {};

TEST_P(EdgeCrashPoints, EveryRecordSyncsOnce) {
  const std::string point = GetParam();
  TempDir dir;
  MockMasterProcess master;
  master.Start(dir.path(), {"--honor-idempotency-key"});
  RouteOptions route;
  route.method = "";
  route.path = "/visits";
  route.mode = "edge";
  route.extra = "async: {lease: 1500ms, poll_interval: 50ms, backoff_base: 10ms}\n";
  WritProcess writ;
  writ.Start(dir.path(), master.port(), {route}, "request_timeout: 1s\nconnect_timeout: 200ms");
  int n = Iterations();
  for (int i = 0; i < n; ++i) {
    writ.Stop();
    writ.Restart({"WRIT_CRASH_AT=" + point});
    std::string key = "visit-" + std::to_string(i), body = "{\"n\":" + std::to_string(i) + "}";
    auto first = PostJson(writ.port(), "/visits", key, body);
    // After the commit and before the answer: the client never gets one.
    // At the other points the sync worker (another thread) may reach its
    // crash point before the 201 is on the wire: the answer may be lost
    // too, and the retry below replays it either way.
    if (point == "edge_after_write_commit")
      ASSERT_EQ(first.status, 0) << "cycle " << i;
    else
      ASSERT_TRUE(first.status == 201 || first.status == 0) << "cycle " << i << ": " << first.body;
    ASSERT_EQ(writ.WaitExit(), 128 + 9) << "cycle " << i << ": the crash point was not reached";
    writ.Restart();
    auto again = PostJson(writ.port(), "/visits", key, body);
    ASSERT_EQ(again.status, 201) << "cycle " << i << ": " << again.body;
    if (first.status == 201) EXPECT_EQ(again.body, first.body) << "the retry replays the first answer";
    std::string id(ParseBody(again).as_object()["id"].as_string());
    ASSERT_TRUE(Eventually(
        [&] {
          auto r = Call(writ.port(), "GET", "/visits/" + id);
          return FindHeader(r.headers, "Writ-Sync-Status").value_or("") == "synced";
        },
        20'000))
        << "cycle " << i;
  }
  auto records = ParseBody(Call(writ.port(), "GET", "/visits?limit=1000"));
  EXPECT_EQ(records.as_object()["records"].as_array().size(), static_cast<size_t>(n)) << "one record per key";
  auto stats = master.Stats();
  EXPECT_EQ(stats["duplicateApplies"].as_int64(), 0) << boost::json::serialize(stats);
  EXPECT_EQ(stats["applied"].as_int64(), n) << "each record created at the master once";
  std::printf("edge %s: %d cycles, %lld applied, 0 duplicates\n", point.c_str(), n,
              static_cast<long long>(stats["applied"].as_int64()));
}

INSTANTIATE_TEST_SUITE_P(Points, EdgeCrashPoints,
                         ::testing::Values("edge_after_write_commit", "edge_before_send", "after_upstream_response"));

// Dual copy (CP-6): writ dies while its refresh applies a page of the
// master's change feed (the page read, not applied; the page and the cursor
// committed), and `writ reconcile --repair master-wins` dies between a
// chunk's repairs and its checkpoint, and after the checkpoint. After every
// cycle the copy ends equal to the master, judged by a reconciliation that
// compares every entity and finds nothing.
class CopyCrashPoints : public ::testing::TestWithParam<const char*> {};

TEST_P(CopyCrashPoints, TheCopyEndsEqualToTheMaster) {
  const std::string point = GetParam();
  const bool refresh = point.rfind("copy_", 0) == 0;
  constexpr int kEntities = 2000;
  TempDir dir;
  MockMasterProcess master;
  master.Start(dir.path(), {"--honor-idempotency-key"});
  ASSERT_EQ(Call(master.port(), "POST", "/_seed", "{\"collection\":\"customers\",\"count\":2000}").status, 200);
  RouteOptions route;
  route.method = "";
  route.path = "/customers";
  route.mode = "dual-copy";
  route.extra =
      "async: {lease: 1500ms, poll_interval: 50ms, backoff_base: 10ms}\n"
      "copy: {refresh: {path: \"/customers?updatedSince={cursor}&limit=200\", interval: 100ms, data: /data, lease: "
      "2s}, "
      "max_staleness: 1h, on_conflict: master_wins, "
      "reconcile: {path: \"/customers?after={after}&limit={limit}\", chunk: 200, ignore_fields: [/id], lease: 1s}}\n";
  WritProcess writ;
  writ.Start(dir.path(), master.port(), {route}, "request_timeout: 1s\nconnect_timeout: 200ms");
  int runs = 0;
  // One `writ reconcile ...` command: its exit code, its --json report, and
  // the id of the run it started ("reconciling /customers as ID").
  std::string started;
  auto cli = [&](std::vector<std::string> args, const std::vector<std::string>& env, boost::json::object* report) {
    std::vector<std::string> argv = {WRIT_BINARY, "reconcile"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-c", writ.config_path(), "--json"});
    std::string log = dir.path() + "/reconcile-" + std::to_string(++runs) + ".log";
    auto p = ChildProcess::Spawn(argv, log, env);
    if (!p.ok()) return -1;
    int rc = p->Wait();
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) {
      if (report && line.rfind("{\"reconciliationId\"", 0) == 0) *report = ParseJsonStrict(line)->as_object();
      if (auto at = line.find(" as rec_"); line.rfind("reconciling ", 0) == 0 && at != std::string::npos)
        started = line.substr(at + 4, line.find(' ', at + 4) - at - 4);
    }
    return rc;
  };
  auto reconcile = [&](std::vector<std::string> extra, const std::vector<std::string>& env,
                       boost::json::object* report) {
    extra.insert(extra.begin(), "/customers");
    return cli(extra, env, report);
  };
  std::string last;  // the judge's last report, shown when it never agrees
  auto equal = [&] {
    boost::json::object r;
    int rc = reconcile({}, {}, &r);
    last = "exit " + std::to_string(rc) + ": " + boost::json::serialize(r);
    return rc == 0 && r["compared"].as_int64() == kEntities && r["mismatches"].as_int64() == 0;
  };
  // The refresh points crash the first load too; the reconciliation points start from a loaded copy.
  if (!refresh) ASSERT_TRUE(Eventually(equal, 20'000)) << "the copy never loaded; " << last;
  int n = Iterations(), crashed = 0;
  for (int i = 0; i < n; ++i) {
    std::string ids;
    for (int k = 1; k <= 5; ++k) ids += (ids.empty() ? "\"cus_" : ",\"cus_") + std::to_string(i * 37 + k * 101) + "\"";
    if (refresh) {
      // The master changes records (its feed shows them); writ dies applying them.
      for (int k = 1; k <= 30; ++k) {
        std::string id = "cus_" + std::to_string((i * 61 + k * 53) % kEntities + 1);
        ASSERT_EQ(Call(master.port(), "PUT", "/customers/" + id,
                       "{\"id\":\"" + id + "\",\"name\":\"cycle " + std::to_string(i) + "\"}")
                      .status,
                  200);
      }
      writ.Stop();
      writ.RestartToCrash({"WRIT_CRASH_AT=" + point, "WRIT_CRASH_AFTER=" + std::to_string(i % 3)});
      ASSERT_EQ(writ.WaitExit(), 128 + 9) << "cycle " << i << ": the crash point was not reached";
      ++crashed;
      writ.Restart();
    } else {
      // Records change behind the feed; the repairing run dies mid-way and the next one resumes it.
      ASSERT_EQ(
          Call(master.port(), "POST", "/_tamper", "{\"collection\":\"customers\",\"change\":[" + ids + "]}").status,
          200);
      int rc = reconcile({"--repair", "master-wins"},
                         {"WRIT_CRASH_AT=" + point, "WRIT_CRASH_AFTER=" + std::to_string(i % 3)}, nullptr);
      ASSERT_TRUE(rc == 128 + 9 || rc == 2) << "cycle " << i << ": exit " << rc << " (see " << dir.path() << ")";
      if (rc == 128 + 9) {
        ++crashed;
        // The dead run is resumed from its checkpoint once its lease (1 s) runs out: by the next
        // `writ reconcile`, or by the gateway's runner, whichever comes first. Either way it ends
        // done, having compared every entity once.
        std::string dead = started;
        ASSERT_FALSE(dead.empty());
        boost::json::object report;
        ASSERT_TRUE(Eventually(
            [&] {
              rc = reconcile({"--repair", "master-wins"}, {}, nullptr);
              return (rc == 0 || rc == 2) && cli({"show", dead}, {}, &report) == 0 && report["status"] == "done";
            },
            20'000))
            << "cycle " << i << ": " << boost::json::serialize(report);
        EXPECT_EQ(report["compared"].as_int64() + report["skippedPending"].as_int64(), kEntities)
            << "cycle " << i << ": the resumed run covers the whole collection once";
      }
    }
    ASSERT_TRUE(Eventually(equal, 20'000)) << "cycle " << i << ": the copy never became equal to the master; " << last;
  }
  EXPECT_GT(crashed, 0);
  std::printf("dual copy %s: %d cycles, %d crashes, the copy equal to the master after each\n", point.c_str(), n,
              crashed);
}

INSTANTIATE_TEST_SUITE_P(Points, CopyCrashPoints,
                         ::testing::Values("copy_before_page_apply", "copy_after_page_commit", "reconcile_after_repair",
                                           "reconcile_after_chunk_commit"));

// Sagas: writ dies when the saga and its first request have committed and
// the 202 is not yet written; when a step's (or a compensation's) answer
// came and is not yet recorded; and when an answer and the saga's move (its
// next request) have committed, before anything else. Every cycle books one
// trip (flight, hotel, car; every other one with a car the master refuses)
// and kills writ at the 1st, 2nd or 3rd hit of the point. After a restart
// the client retries with its key; the saga resumes from its last recorded
// move with the same keys. Every saga ends succeeded or compensated, each
// step is applied once, and a compensated trip leaves nothing booked.
class SagaCrashPoints : public ::testing::TestWithParam<const char*> {};

TEST_P(SagaCrashPoints, EverySagaEndsAndEachStepIsAppliedOnce) {
  const std::string point = GetParam();
  TempDir dir;
  MockMasterProcess master;
  master.Start(dir.path(), {"--honor-idempotency-key"});
  RouteOptions route;
  route.path = "/trips";
  route.mode = "saga";
  route.extra =
      "async: {lease: 1500ms, poll_interval: 50ms, backoff_base: 10ms, backoff_max: 100ms}\n"
      "saga:\n"
      "  compensation_retry: 100ms\n"
      "  steps:\n"
      "    - {name: flight, path: /flights, body: {trip: '{{/input/trip}}'},\n"
      "       compensate: {path: '/flights/{{/steps/flight/body/id}}'}}\n"
      "    - {name: hotel, path: /hotels, body: {trip: '{{/input/trip}}'},\n"
      "       compensate: {path: '/hotels/{{/steps/hotel/body/id}}'}}\n"
      "    - {name: car, path: /cars, body: {trip: '{{/input/trip}}', invalid: '{{/input/noCar}}'}}\n";
  WritProcess writ;
  writ.Start(dir.path(), master.port(), {route}, "request_timeout: 1s\nconnect_timeout: 200ms");
  int n = Iterations(), succeeded = 0, compensated = 0;
  for (int i = 0; i < n; ++i) {
    std::string key = "trip-" + std::to_string(i);
    bool no_car = i % 2 == 1;
    std::string body = "{\"trip\":\"" + key + "\",\"noCar\":" + (no_car ? "true" : "false") + "}";
    int skip = point == "after_commit_before_response" ? 0 : i % 3;
    writ.Stop();
    writ.Restart({"WRIT_CRASH_AT=" + point, "WRIT_CRASH_AFTER=" + std::to_string(skip)});
    auto first = PostJson(writ.port(), "/trips", key, body);
    if (point == "after_commit_before_response") ASSERT_EQ(first.status, 0) << "cycle " << i;
    else ASSERT_TRUE(first.status == 202 || first.status == 0) << "cycle " << i << ": " << first.body;
    ASSERT_EQ(writ.WaitExit(), 128 + 9) << "cycle " << i << ": the crash point was not reached";
    writ.Restart();
    Response r;
    ASSERT_TRUE(Eventually([&] {
      r = PostJson(writ.port(), "/trips", key, body);
      return r.status == 202;
    }));
    if (first.status == 202) EXPECT_EQ(r.body, first.body) << "the same saga";
    std::string id(ParseBody(r).as_object()["sagaId"].as_string());
    std::string status;
    ASSERT_TRUE(Eventually(
        [&] {
          auto g = ParseBody(Call(writ.port(), "GET", "/v1/sagas/" + id));
          status = g.is_object() && g.as_object().contains("status") ? std::string(g.at("status").as_string()) : "";
          return status != "running" && status != "compensating" && !status.empty();
        },
        20'000))
        << "cycle " << i << ": " << status;
    EXPECT_EQ(status, no_car ? "compensated" : "succeeded") << "cycle " << i;
    succeeded += status == "succeeded";
    compensated += status == "compensated";
  }
  auto stats = master.Stats();
  EXPECT_EQ(stats["duplicateApplies"].as_int64(), 0) << boost::json::serialize(stats);
  EXPECT_EQ(stats["records"].as_int64(), 3 * succeeded) << "a compensated trip leaves nothing booked";
  std::printf("saga %s: %d cycles, %d succeeded, %d compensated, 0 duplicates\n", point.c_str(), n, succeeded,
              compensated);
}

INSTANTIATE_TEST_SUITE_P(Points, SagaCrashPoints,
                         ::testing::Values("after_commit_before_response", "after_upstream_response",
                                           "after_outcome_commit"));

// Every event published, and `orders` submissions succeeded.
bool AllPublished(const std::string& store_url, int orders) {
  int succeeded = 0;
  for (const auto& r : StoredEvents(store_url)) {
    if (!r.published) return false;
    succeeded += r.type == "submission.succeeded";
  }
  return succeeded == orders;
}

// The NATS sink: JetStream acknowledged a round of events and writ is
// killed before marking them published. The restarted relay publishes them
// again under the same Nats-Msg-Id, which the stream drops: a consumer
// reading the stream sees every event exactly once (by count and by id).
TEST(NatsCrashPoint, AConsumerSeesEveryEventOnceThroughKills) {
  TempDir dir;
  NatsServerProcess nats;
  nats.Start(dir.path());
  MockMasterProcess master;
  master.Start(dir.path());
  RouteOptions route;
  route.path = "/orders";
  route.mode = "async";
  route.extra = "async: {lease: 4s, poll_interval: 50ms, backoff_base: 10ms, backoff_max: 100ms}\nsinks: {nats: {}}\n";
  WritProcess writ;
  writ.set_top_extra("nats: {url: '" + nats.url() + "', timeout: 1s, max_backoff: 500ms}\n");
  writ.Start(dir.path(), master.port(), {route});
  int n = Iterations();
  for (int i = 0; i < n; ++i) {
    std::string key = "order-" + std::to_string(i);
    std::string body = "{\"n\":" + std::to_string(i) + "}";
    writ.Stop();
    // Each order makes at least two events (accepted, succeeded), the next
    // sent only after the one before was acknowledged, so each is marked on
    // its own: the 1st or 2nd mark is the one cut.
    writ.Restart({"WRIT_CRASH_AT=nats_after_publish_before_mark", "WRIT_CRASH_AFTER=" + std::to_string(i % 2)});
    auto first = PostJson(writ.port(), "/orders", key, body);
    ASSERT_TRUE(first.status == 202 || first.status == 0) << "cycle " << i << ": " << first.body;
    ASSERT_EQ(writ.WaitExit(), 128 + 9) << "cycle " << i << ": the crash point was not reached";
    writ.Restart();
    ASSERT_TRUE(Eventually([&] { return PostJson(writ.port(), "/orders", key, body).status == 202; }));
    // Settled before the next cycle, so its kill cuts this cycle's order.
    ASSERT_TRUE(Eventually([&] { return AllPublished(writ.store_url(), i + 1); }, 30'000)) << "cycle " << i;
  }
  std::vector<EventRow> rows = StoredEvents(writ.store_url());
  std::vector<StreamMessage> msgs;
  Eventually([&] {
    msgs = ReadStream(nats.url(), "WRIT_EVENTS");
    return msgs.size() >= rows.size();
  });
  std::map<std::string, int> seen;
  for (const auto& m : msgs) ++seen[m.id];
  for (const auto& r : rows) EXPECT_EQ(seen[r.id], 1) << r.id << " (" << r.type << ")";
  EXPECT_EQ(msgs.size(), rows.size()) << "no message beside the store's events";
  EXPECT_EQ(master.Stat("duplicateApplies"), 0);
  auto metrics = Call(writ.admin_port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("writ_nats_duplicates_total"), std::string::npos)
      << "the restarted relay published again what JetStream held";
  std::printf("nats: %d cycles, %zu events, each once in the stream\n", n, rows.size());
}

#endif

}  // namespace
}  // namespace writ::testing
