// Edge routes (CP-5) end to end: real mock master and writ processes over
// loopback. Writes answered at once while the master is down and synced
// once when it is back, equal field by field; orders and their lines
// written offline reach the master in order with the master's order ids;
// coalescing; refusals and what they block; the HTTP surface; a crash
// between the master's answer and its record.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "core/json.h"
#include "testing/cluster.h"

namespace writ::testing {
namespace {

namespace json = boost::json;

// The body of an entry of the mock master's log, parsed (null if none).
json::value LoggedBody(const json::value& entry) {
  auto b = ParseJsonStrict(std::string(entry.as_object().at("body").as_string()));
  return b.ok() ? *b : json::value();
}

RouteOptions EdgeRoute(const std::string& path, const std::string& edge_yaml = "") {
  RouteOptions r;
  r.method = "";
  r.path = path;
  r.mode = "edge";
  r.extra = "async: {lease: 4s, poll_interval: 50ms, backoff_base: 50ms, backoff_max: 300ms, concurrency: 32}\n";
  if (!edge_yaml.empty()) r.extra += "edge: " + edge_yaml + "\n";
  return r;
}

class EdgeTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& env = {}) {
    // Some tests stop the master and start it again on its port.
    master_.Start(dir_.path(), {"--honor-idempotency-key"}, RestartablePort());
    writ_.Start(dir_.path(), master_.port(),
                {EdgeRoute("/orders"), EdgeRoute("/lines", "{references: [{pointer: /orderId, route: /orders}]}")},
                "", env);
  }
  Response Post(const std::string& path, const std::string& key, const std::string& body) {
    Headers h = {{"Content-Type", "application/json"}};
    if (!key.empty()) h.emplace_back("Idempotency-Key", key);
    return Call(writ_.port(), "POST", path, body, h);
  }
  std::string Create(const std::string& path, const std::string& key, const std::string& body) {
    auto r = Post(path, key, body);
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(ParseBody(r), "id");
  }
  json::value Get(const std::string& path) { return ParseBody(Call(writ_.port(), "GET", path)); }
  // Every record of `path` has left `pending`.
  bool Settled(const std::string& path) {
    auto r = Call(writ_.port(), "GET", path + "?syncStatus=pending&limit=1");
    return r.status == 200 && ParseBody(r).as_object().at("records").as_array().empty();
  }
  json::array MasterLog() {
    auto v = ParseBody(Call(master_.port(), "GET", "/_log"));
    return v.as_object().at("requests").as_array();
  }
  TempDir dir_;
  MockMasterProcess master_;
  WritProcess writ_;
};

// The master is down for the whole offline phase: 1,000 orders and 5 lines
// each (referencing their order's temporary id) are answered 201 from the
// local copy. When it is back, every record is created once, every line
// after its order and with the master's order id, never a temporary one,
// and the master's records equal the local copies.
TEST_F(EdgeTest, OfflineOrdersAndLinesSyncOnceInOrderWithTheMastersIds) {
  Start();
  uint16_t master_port = master_.port();
  master_.Stop();
  constexpr int kOrders = 1000, kLines = 5, kThreads = 4;
  std::vector<std::string> orders(kOrders);
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t)
    clients.emplace_back([&, t] {
      for (int i = t; i < kOrders; i += kThreads) {
        auto o = Post("/orders", "o-" + std::to_string(i), "{\"n\":" + std::to_string(i) + "}");
        if (o.status != 201) {
          ++failures;
          continue;
        }
        orders[i] = Str(ParseBody(o), "id");
        for (int l = 0; l < kLines; ++l)
          if (Post("/lines", "l-" + std::to_string(i) + "-" + std::to_string(l),
                   "{\"orderId\":\"" + orders[i] + "\",\"line\":" + std::to_string(l) + "}")
                  .status != 201)
            ++failures;
      }
    });
  for (auto& c : clients) c.join();
  ASSERT_EQ(failures.load(), 0) << "every write is answered from the local copy while the master is down";
  auto pending = ParseBody(Call(writ_.port(), "GET", "/orders/" + orders[7]));
  EXPECT_EQ(Str(pending, "syncStatus"), "pending");

  master_.Start(dir_.path(), {"--honor-idempotency-key"}, master_port);
  ASSERT_TRUE(Eventually([&] { return Settled("/orders") && Settled("/lines"); }, 120'000));

  auto log = MasterLog();
  std::map<std::string, size_t> created_at;  // canonical order id -> position in the log
  std::map<std::string, int> line_posts;
  int order_posts = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    const auto& e = log[i].as_object();
    if (e.at("path") == "/orders") ++order_posts;
    if (e.at("path") != "/lines") continue;
    std::string order = Str(LoggedBody(log[i]), "orderId");
    EXPECT_EQ(order.rfind("tmp_", 0), std::string::npos) << "a temporary id reached the master";
    ++line_posts[order];
  }
  EXPECT_EQ(order_posts, kOrders) << "each order created once";
  EXPECT_EQ(master_.Stat("applied"), kOrders * (1 + kLines)) << "nothing applied twice";
  // Every line is at the master, after its order, pointing at it; the
  // master's records equal the local copies.
  for (int i = 0; i < kOrders; i += 97) {
    auto local = Get("/orders/" + orders[i]);
    std::string canonical = Str(local, "canonicalId");
    ASSERT_FALSE(canonical.empty()) << json::serialize(local);
    auto remote = ParseBody(Call(master_.port(), "GET", "/orders/" + canonical));
    auto expected = local.as_object().at("data").as_object();
    expected["id"] = canonical;
    EXPECT_EQ(remote, json::value(expected)) << "the master's record equals the local copy";
    EXPECT_EQ(line_posts[canonical], kLines);
    size_t order_at = log.size();
    for (size_t p = 0; p < log.size(); ++p)
      if (log[p].as_object().at("path") == "/orders" &&
          LoggedBody(log[p]) == local.as_object().at("data") && order_at == log.size())
        order_at = p;
    for (size_t p = 0; p < order_at && p < log.size(); ++p)
      if (log[p].as_object().at("path") == "/lines")
        EXPECT_NE(Str(LoggedBody(log[p]), "orderId"), canonical) << "a line reached the master before its order";
  }
}

// 50 writes to a record the master has not seen yet: one create, with the
// final state. Writes after it synced are updates to the master's id.
TEST_F(EdgeTest, WritesToAnUnsyncedRecordCoalesceIntoOneCreate) {
  Start();
  uint16_t master_port = master_.port();
  master_.Stop();
  std::string id = Create("/orders", "c-1", R"({"v":0})");
  for (int v = 1; v < 50; ++v) {
    auto r = Call(writ_.port(), "PATCH", "/orders/" + id, "{\"v\":" + std::to_string(v) + "}",
                  {{"Content-Type", "application/merge-patch+json"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  auto local = Call(writ_.port(), "GET", "/orders/" + id);
  EXPECT_EQ(FindHeader(local.headers, "ETag").value_or(""), "\"50\"");
  // One change (a write that met an attempt on the wire is folded into its
  // retry once that attempt fails).
  EXPECT_TRUE(Eventually([&] {
    auto r = Call(writ_.port(), "GET", "/orders/" + id);
    return FindHeader(r.headers, "Writ-Pending-Writes").value_or("") == "1";
  }));
  master_.Start(dir_.path(), {"--honor-idempotency-key"}, master_port);
  ASSERT_TRUE(Eventually([&] { return Settled("/orders"); }, 30'000));
  auto log = MasterLog();
  ASSERT_EQ(log.size(), 1u) << json::serialize(log);
  EXPECT_EQ(log[0].as_object().at("method"), "POST");
  EXPECT_EQ(log[0].as_object().at("body"), R"({"v":49})");
  auto synced = Call(writ_.port(), "GET", "/orders/" + id);
  std::string canonical(FindHeader(synced.headers, "Writ-Canonical-Id").value_or(""));
  ASSERT_FALSE(canonical.empty());
  EXPECT_EQ(FindHeader(synced.headers, "Writ-Sync-Status").value_or(""), "synced");
  EXPECT_EQ(FindHeader(synced.headers, "Link").value_or(""), "</orders/" + canonical + ">; rel=\"canonical\"");
  // Read and written by the master's id too: an update with the whole state.
  auto put = Call(writ_.port(), "PUT", "/orders/" + canonical, R"({"v":100})",
                  {{"Content-Type", "application/json"}, {"If-Match", "\"50\""}});
  EXPECT_EQ(put.status, 200) << put.body;
  ASSERT_TRUE(Eventually([&] { return MasterLog().size() == 2; }));
  log = MasterLog();
  EXPECT_EQ(log[1].as_object().at("method"), "PUT");
  EXPECT_EQ(Str(log[1], "path"), "/orders/" + canonical);
  EXPECT_EQ(log[1].as_object().at("body"), R"({"v":100})");
  auto del = Call(writ_.port(), "DELETE", "/orders/" + id);
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(Call(writ_.port(), "GET", "/orders/" + id).status, 404);
  ASSERT_TRUE(Eventually([&] { return MasterLog().size() == 3; }));
  EXPECT_EQ(Call(master_.port(), "GET", "/orders/" + canonical).status, 404) << "the delete reached the master";
}

// A create the master refuses finally is `rejected`, readable with the
// master's answer; the lines that reference it are `blocked` and never
// sent; other orders are not held up.
TEST_F(EdgeTest, ARejectedOrderBlocksOnlyItsOwnLines) {
  Start();
  std::string bad = Create("/orders", "b-1", R"({"invalid":true})");
  std::string good = Create("/orders", "g-1", R"({"n":1})");
  std::string line = Create("/lines", "bl-1", "{\"orderId\":\"" + bad + "\"}");
  std::string ok_line = Create("/lines", "gl-1", "{\"orderId\":\"" + good + "\"}");
  ASSERT_TRUE(Eventually([&] { return Settled("/orders") && Settled("/lines"); }, 20'000));
  auto rejected = Get("/orders/" + bad);
  EXPECT_EQ(Str(rejected, "syncStatus"), "rejected") << json::serialize(rejected);
  EXPECT_EQ(rejected.as_object().at("masterAnswer").as_object().at("status").as_int64(), 422);
  auto blocked = Get("/lines/" + line);
  EXPECT_EQ(Str(blocked, "syncStatus"), "blocked");
  EXPECT_NE(Str(blocked, "reason").find(bad), std::string::npos) << Str(blocked, "reason");
  EXPECT_EQ(Str(Get("/lines/" + ok_line), "syncStatus"), "synced");
  auto listed = ParseBody(Call(writ_.port(), "GET", "/lines?syncStatus=blocked"));
  ASSERT_EQ(listed.as_object().at("records").as_array().size(), 1u);
  for (const auto& e : MasterLog()) EXPECT_NE(Str(LoggedBody(e), "orderId"), bad) << "a blocked line was sent";
  // The fix is a write: the order is created anew.
  auto fix = Call(writ_.port(), "PUT", "/orders/" + bad, R"({"n":2})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(fix.status, 200);
  ASSERT_TRUE(Eventually([&] { return Str(Get("/orders/" + bad), "syncStatus") == "synced"; }));
}

TEST_F(EdgeTest, BadRequestsAreRefusedPreciselyAndStoreNothing) {
  Start();
  std::string id = Create("/orders", "h-1", R"({"a":1})");
  auto stale = Call(writ_.port(), "PUT", "/orders/" + id, R"({"a":2})",
                    {{"Content-Type", "application/json"}, {"If-Match", "\"9\""}});
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(ProblemType(stale), "record-version-stale");
  EXPECT_EQ(FindHeader(stale.headers, "ETag").value_or(""), "\"1\"");
  auto media = Call(writ_.port(), "PATCH", "/orders/" + id, R"({"a":2})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(media.status, 415);
  EXPECT_EQ(FindHeader(media.headers, "Accept-Patch").value_or(""), "application/merge-patch+json");
  EXPECT_EQ(Post("/orders", "h-2", "[1,2]").status, 422);
  EXPECT_EQ(Post("/orders", "h-3", "{bad").status, 400);
  EXPECT_EQ(Post("/orders", "", R"({"a":1})").status, 400) << "a create needs its Idempotency-Key";
  EXPECT_EQ(Call(writ_.port(), "GET", "/orders/tmp_nope").status, 404);
  EXPECT_EQ(Call(writ_.port(), "GET", "/orders?syncStatus=later").status, 400);
  auto replay = Post("/orders", "h-1", R"({"a":1})");
  EXPECT_EQ(replay.status, 201) << "a retried create replays";
  EXPECT_EQ(Str(ParseBody(replay), "id"), id);
  EXPECT_EQ(Post("/orders", "h-1", R"({"a":5})").status, 422) << "the same key with another body";
  auto all = ParseBody(Call(writ_.port(), "GET", "/orders"));
  EXPECT_EQ(all.as_object().at("records").as_array().size(), 1u) << "only the one record was stored";
  EXPECT_EQ(Str(Get("/orders/" + id), "id"), id);
}

// Each conflict policy against a master whose record was changed behind
// Writ's back (the test PUTs it there directly, so its ETag moves on): the
// update Writ sends with the old If-Match is refused with 412.
TEST_F(EdgeTest, EachConflictPolicyMeetsAMasterThatChangedTheRecord) {
  master_.Start(dir_.path(), {"--honor-idempotency-key"});
  writ_.Start(dir_.path(), master_.port(),
              {EdgeRoute("/manual"), EdgeRoute("/masterwins", "{on_conflict: master_wins}"),
               EdgeRoute("/localwins", "{on_conflict: local_wins}")});
  auto record = [&](const std::string& path, const std::string& id) { return Get(path + "/" + id); };
  auto at_master = [&](const std::string& path, const std::string& canonical) {
    return ParseBody(Call(master_.port(), "GET", path + "/" + canonical));
  };
  // Creates a record, waits until it synced, changes it at the master, then
  // updates it through Writ; returns {temporary id, canonical id}.
  auto conflict = [&](const std::string& path) -> std::pair<std::string, std::string> {
    std::string id = Create(path, "create-" + path, R"({"v":"first"})");
    EXPECT_TRUE(Eventually([&] { return Str(record(path, id), "syncStatus") == "synced"; }, 10'000)) << path;
    auto created = Call(writ_.port(), "GET", path + "/" + id);
    EXPECT_NE(FindHeader(created.headers, "Age"), std::nullopt) << "a synced record says how old its copy is";
    std::string canonical = Str(ParseBody(created), "canonicalId");
    EXPECT_EQ(Call(master_.port(), "PUT", path + "/" + canonical, R"({"v":"master"})").status, 200);
    auto put = Call(writ_.port(), "PUT", path + "/" + id, R"({"v":"local"})", {{"Content-Type", "application/json"}});
    EXPECT_EQ(put.status, 200) << put.body;
    return {id, canonical};
  };

  // manual: held with both versions until an operator takes one.
  auto [m_id, m_canonical] = conflict("/manual");
  // The create's stream carries id.mapped: the temporary id and the master's.
  bool mapped = false;
  auto subs = ParseBody(Call(writ_.port(), "GET", "/v1/submissions?route=/manual"));
  for (const auto& sub : subs.at("items").as_array()) {
    auto events = Call(writ_.port(), "GET", "/v1/submissions/" + Str(sub, "submissionId") + "/events").body;
    mapped |= events.find("id.mapped") != std::string::npos && events.find(m_id) != std::string::npos &&
              events.find("\"canonicalId\":\"" + m_canonical + "\"") != std::string::npos;
  }
  EXPECT_TRUE(mapped) << json::serialize(subs);
  ASSERT_TRUE(Eventually([&] { return record("/manual", m_id).as_object().contains("conflict"); }, 10'000));
  auto held = record("/manual", m_id);
  EXPECT_EQ(Str(held, "syncStatus"), "conflict");
  EXPECT_EQ(Str(held.at("data"), "v"), "local");
  EXPECT_EQ(Str(held.at("conflict").at("masterVersion"), "v"), "master");
  EXPECT_EQ(Str(at_master("/manual", m_canonical), "v"), "master") << "nothing overwrote the master's change";
  std::string out;
  ASSERT_EQ(RunWrit({"edge", "conflicts", "-c", writ_.config_path(), "--json"}, &out), 0) << out;
  EXPECT_NE(out.find(m_id), std::string::npos) << out;
  EXPECT_EQ(RunWrit({"edge", "resync", "-c", writ_.config_path(), "/manual", m_id}, &out), 1) << "held: resolve it";
  ASSERT_EQ(RunWrit({"edge", "resolve", "-c", writ_.config_path(), "/manual", m_id, "--take", "local"}, &out), 0)
      << out;
  ASSERT_TRUE(Eventually([&] { return Str(record("/manual", m_id), "syncStatus") == "synced"; }, 10'000));
  EXPECT_EQ(Str(at_master("/manual", m_canonical), "v"), "local");

  // master_wins: the copy takes the master's version; the local one is history.
  auto [w_id, w_canonical] = conflict("/masterwins");
  ASSERT_TRUE(Eventually([&] { return Str(record("/masterwins", w_id).at("data"), "v") == "master"; }, 10'000));
  EXPECT_EQ(Str(record("/masterwins", w_id), "syncStatus"), "synced");
  EXPECT_EQ(Str(at_master("/masterwins", w_canonical), "v"), "master");
  std::string show;
  ASSERT_EQ(RunWrit({"edge", "show", "-c", writ_.config_path(), "/masterwins", w_id}, &show), 0) << show;
  auto shown = ParseJsonStrict(show);
  ASSERT_TRUE(shown.ok()) << show;
  ASSERT_EQ(shown->at("history").as_array().size(), 1u) << show;
  EXPECT_EQ(Str(shown->at("history").at(0).at("data"), "v"), "local");

  // local_wins: sent once more over the master's new ETag.
  auto [l_id, l_canonical] = conflict("/localwins");
  ASSERT_TRUE(Eventually([&] { return Str(at_master("/localwins", l_canonical), "v") == "local"; }, 10'000));
  ASSERT_TRUE(Eventually([&] { return Str(record("/localwins", l_id), "syncStatus") == "synced"; }, 10'000));

  auto metrics = Call(writ_.admin_port(), "GET", "/metrics").body;
  for (const char* policy : {"manual", "master_wins", "local_wins"})
    EXPECT_NE(metrics.find(std::string("policy=\"") + policy + "\"} 1"), std::string::npos) << policy;
  EXPECT_NE(metrics.find("writ_edge_sync_lag_seconds_count"), std::string::npos);
  // Every write reached the master once: no key applied twice.
  auto stats = ParseBody(Call(master_.port(), "GET", "/_stats"));
  EXPECT_EQ(stats.at("duplicateApplies").as_int64(), 0) << json::serialize(stats);
}

// The staleness window is explicit: published with the route, and a record
// waiting past it makes the route degraded (still ready: writes are taken).
TEST_F(EdgeTest, ARecordWaitingPastTheWindowDegradesTheRouteButNotReadiness) {
  master_.Start(dir_.path(), {"--honor-idempotency-key"}, RestartablePort());
  writ_.Start(dir_.path(), master_.port(), {EdgeRoute("/orders", "{max_sync_delay: 1s, on_conflict: local_wins}")});
  auto contract = ParseBody(Call(writ_.port(), "GET", "/.well-known/writ/routes"));
  const auto& route = contract.at("routes").at(0);
  EXPECT_EQ(Str(route, "mode"), "edge");
  EXPECT_EQ(route.at("promises").at("maxSyncDelaySeconds").as_int64(), 1);
  EXPECT_EQ(Str(route.at("promises"), "onConflict"), "local_wins");
  EXPECT_EQ(ParseBody(Call(writ_.port(), "GET", "/.well-known/writ/idempotency")), contract) << "its first name";

  uint16_t master_port = master_.port();
  master_.Stop();
  Create("/orders", "k1", R"({"n":1})");
  auto ready = [&] { return ParseBody(Call(writ_.port(), "GET", "/readyz?verbose")); };
  ASSERT_TRUE(Eventually([&] { return Str(ready(), "status") == "degraded"; }, 10'000));
  auto r = Call(writ_.port(), "GET", "/readyz?verbose");
  EXPECT_EQ(r.status, 200) << "degraded, still ready";
  EXPECT_NE(Str(ParseBody(r).at("routes").at(0), "reason").find("max_sync_delay"), std::string::npos) << r.body;
  EXPECT_EQ(Call(writ_.port(), "GET", "/readyz").status, 200);
  EXPECT_NE(Call(writ_.admin_port(), "GET", "/metrics").body.find("writ_edge_over_window{route=\"/orders\"} 1"),
            std::string::npos);

  master_.Start(dir_.path(), {"--honor-idempotency-key"}, master_port);
  ASSERT_TRUE(Eventually([&] { return Str(ready(), "status") == "ready"; }, 20'000));
  EXPECT_EQ(Str(ready().at("routes").at(0), "status"), "ok");
}

TEST(EdgeConfigTest, ClientIdsAreUniquePerRoute) {
  TempDir dir;
  MockMasterProcess master;
  WritProcess writ;
  master.Start(dir.path());
  writ.Start(dir.path(), master.port(), {EdgeRoute("/visits", "{client_id: /visitId}")});
  int keys = 0;
  auto post = [&](const std::string& body) {
    return Call(writ.port(), "POST", "/visits", body,
                {{"Content-Type", "application/json"}, {"Idempotency-Key", "v" + std::to_string(++keys)}});
  };
  auto r = post(R"({"visitId":"v-17","at":"9:00"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(FindHeader(r.headers, "Location").value_or(""), "/visits/v-17");
  auto dup = post(R"({"visitId":"v-17","at":"9:30"})");
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(ProblemType(dup), "record-exists");
  EXPECT_EQ(post(R"({"visitId":"a b"})").status, 422) << "an id must fit a path segment";
}

#ifdef WRIT_CRASH_POINTS
// kill -9 after the master created an order and before Writ recorded it:
// after the restart the same change is resent under the same key, the
// master answers from its key, and the order exists once.
TEST_F(EdgeTest, ACrashAfterTheMastersAnswerResendsUnderTheSameKey) {
  Start({"WRIT_CRASH_AT=after_upstream_response"});
  auto r = Post("/orders", "k-1", R"({"n":1})");
  ASSERT_EQ(r.status, 201);
  std::string id = Str(ParseBody(r), "id");
  ASSERT_EQ(writ_.WaitExit(), 128 + 9);
  writ_.Restart();
  ASSERT_TRUE(Eventually([&] { return Settled("/orders"); }, 20'000));
  EXPECT_EQ(Str(Get("/orders/" + id), "syncStatus"), "synced");
  EXPECT_EQ(master_.Stat("applied"), 1) << "applied once";
  EXPECT_EQ(master_.Stat("keyReplays"), 1) << "the resend was answered from the master's key";
}
#endif

}  // namespace
}  // namespace writ::testing
