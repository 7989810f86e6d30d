// Operating writ: health, readiness, metrics, published retention, config
// checking, the garbage collector in a running server, logs and shutdown.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <sstream>

#include "testing/cluster.h"

namespace writ::testing {
namespace {

class OperatorTest : public ::testing::Test {
 protected:
  TempDir dir_;
  MockMasterProcess master_;
  WritProcess writ_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_F(OperatorTest, HealthReadinessMetricsAndRetention) {
  master_.Start(dir_.path());
  RouteOptions route;
  route.idempotency = "retention: 2h";
  writ_.Start(dir_.path(), master_.port(), {route});
  EXPECT_EQ(Call(writ_.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(Call(writ_.port(), "GET", "/readyz").status, 200);
  ASSERT_EQ(PostJson(writ_.port(), "/orders", "m1", "{}").status, 201);
  ASSERT_EQ(PostJson(writ_.port(), "/orders", "m1", "{}").status, 201);
  auto metrics = Call(writ_.admin_port(), "GET", "/metrics").body;
  for (const char* want : {"writ_requests_total{route=\"POST /orders\",mode=\"sync\",status=\"201\"} 2",
                           "writ_replays_total{route=\"POST /orders\"} 1", "writ_upstream_seconds_count",
                           "writ_store_commit_seconds_bucket", "writ_store_commit_batch_size_count",
                           "writ_in_flight_keys{route=\"POST /orders\"} 0", "writ_keys{state=\"completed\"} 1",
                           "writ_conflicts_total{route=\"POST /orders\",kind=\"fingerprint\"} 0"})
    EXPECT_NE(metrics.find(want), std::string::npos) << want << "\n" << metrics;
  auto wk = ParseBody(Call(writ_.port(), "GET", "/.well-known/writ/idempotency")).as_object();
  auto r0 = wk["routes"].as_array()[0].as_object();
  EXPECT_EQ(r0["route"], "POST /orders");
  EXPECT_EQ(r0["retentionSeconds"].as_int64(), 7200);
  EXPECT_EQ(r0["keyRequired"], true);
}

// server.admin_listen: /metrics and every change under /v1/ are served on
// the admin listener only (the public one answers 404 and names it); the
// admin listener serves no route; status reads and health are on both.
TEST_F(OperatorTest, TheAdminListenerTakesTheOperatorEndpoints) {
  master_.Start(dir_.path());
  RouteOptions payments;
  payments.path = "/payments";
  payments.mode = "async";
  payments.extra = "async: {poll_interval: 50ms}";
  writ_.set_server_extra("admin_listen: 127.0.0.1:0");
  writ_.Start(dir_.path(), master_.port(), {RouteOptions{}, payments});
  uint16_t pub = writ_.port(), adm = writ_.admin_port();
  ASSERT_NE(adm, 0) << "the listening line names the admin port";
  ASSERT_NE(adm, pub);
  ASSERT_EQ(PostJson(pub, "/orders", "a1", "{}").status, 201);
  auto accepted = PostJson(pub, "/payments", "p1", "{}");
  ASSERT_EQ(accepted.status, 202);
  std::string id = ParseBody(accepted).as_object()["submissionId"].as_string().c_str();

  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/metrics"},
           {"POST", "/v1/submissions/" + id + "/retry"},
           {"POST", "/v1/submissions/" + id + "/cancel"}}) {
    auto r = Call(pub, method, target);
    EXPECT_EQ(r.status, 404) << method << " " << target << " on the public listener";
    EXPECT_NE(r.body.find("served on the admin listener (server.admin_listen) only"), std::string::npos) << r.body;
  }
  // Without a buffered route there are no route buffers to pause: no such endpoint on either listener.
  EXPECT_EQ(Call(pub, "POST", "/v1/routes/x/pause").status, 404);
  EXPECT_EQ(Call(adm, "POST", "/v1/routes/x/pause").status, 404);
  auto metrics = Call(adm, "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("writ_requests_total{route=\"POST /orders\",mode=\"sync\",status=\"201\"} 1"),
            std::string::npos);
  EXPECT_TRUE(Eventually([&] {
    return ParseBody(Call(pub, "GET", "/v1/submissions/" + id)).as_object()["status"] == "succeeded";
  }, 10'000));
  auto retry = Call(adm, "POST", "/v1/submissions/" + id + "/retry");
  EXPECT_EQ(retry.status, 409) << "reached the submissions API: a succeeded submission is not retried";
  EXPECT_EQ(Call(adm, "GET", "/v1/submissions/" + id).status, 200);
  EXPECT_EQ(Call(adm, "GET", "/healthz").status, 200);
  auto route = PostJson(adm, "/orders", "a2", "{}");
  EXPECT_EQ(route.status, 404) << "no route on the admin listener";
  EXPECT_NE(route.body.find("routes are on the public listener"), std::string::npos) << route.body;
  EXPECT_EQ(master_.Stat("requests"), 2) << "a1 and p1 only";
}

TEST_F(OperatorTest, GarbageCollectorDeletesExpiredRecordsWhileServing) {
  master_.Start(dir_.path());
  RouteOptions shortlived, kept;
  shortlived.idempotency = "retention: 300ms";
  kept.path = "/keep";
  kept.idempotency = "retention: 1h";
  writ_.set_store_extra("gc_interval: 100ms\ngc_batch: 3");
  writ_.Start(dir_.path(), master_.port(), {shortlived, kept});
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(PostJson(writ_.port(), "/orders", "gc-" + std::to_string(i), "{}").status, 201);
  ASSERT_EQ(PostJson(writ_.port(), "/keep", "keep-me", "{}").status, 201);
  ASSERT_TRUE(Eventually([&] { return CountKeys(writ_.db_path()).completed == 1; }, 10'000));
  auto kept_rec = OpenStoreReadOnly(writ_.db_path())->keys().Lookup({"default", "POST /keep", "keep-me"});
  ASSERT_TRUE(kept_rec.ok() && kept_rec->has_value());
  EXPECT_NE(Call(writ_.admin_port(), "GET", "/metrics").body.find("writ_gc_deleted_total 10"), std::string::npos);
  // A collected key is new again.
  auto again = PostJson(writ_.port(), "/orders", "gc-0", "{}");
  EXPECT_EQ(again.status, 201);
  EXPECT_FALSE(FindHeader(again.headers, "Idempotent-Replayed"));
}

TEST_F(OperatorTest, GcCommandDeletesExpiredRecordsOfAStoppedServer) {
  master_.Start(dir_.path());
  RouteOptions shortlived, kept;
  shortlived.idempotency = "retention: 200ms";
  kept.path = "/keep";
  writ_.set_store_extra("gc_interval: 1h");
  writ_.Start(dir_.path(), master_.port(), {shortlived, kept});
  for (int i = 0; i < 3; ++i) ASSERT_EQ(PostJson(writ_.port(), "/orders", "g" + std::to_string(i), "{}").status, 201);
  ASSERT_EQ(PostJson(writ_.port(), "/keep", "k", "{}").status, 201);
  writ_.Stop();
  int deleted = 0;
  ASSERT_TRUE(Eventually([&] {
    std::string out;
    if (RunWrit({"gc", "--config", writ_.config_path()}, &out) != 0) return false;
    deleted += std::atoi(out.substr(out.find("deleted ") + 8).c_str());
    return deleted >= 3;
  }));
  EXPECT_EQ(deleted, 3);
  EXPECT_EQ(CountKeys(writ_.db_path()).completed, 1) << "the record with a long retention stays";
}

TEST_F(OperatorTest, RequestLogIsJsonWithoutBodiesAndShutdownIsClean) {
  master_.Start(dir_.path());
  writ_.Start(dir_.path(), master_.port());
  ASSERT_EQ(PostJson(writ_.port(), "/orders", "secret-key-123", R"({"card":"4111-1111"})").status, 201);
  auto odd = Call(writ_.port(), "POST", "/orders", "{}",
                  {{"Content-Type", "application/json"}, {"Idempotency-Key", "k2"}, {"X-Request-Id", R"(id-"q"\)"}});
  ASSERT_EQ(odd.status, 201);
  EXPECT_EQ(*FindHeader(odd.headers, "X-Request-Id"), R"(id-"q"\)") << "the client's request id is echoed";
  writ_.Stop();
  auto log = ReadFile(dir_.path() + "/writ-0.log");
  EXPECT_NE(log.find("\"msg\":\"request\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"route\":\"POST /orders\""), std::string::npos);
  EXPECT_NE(log.find("\"outcome\":\"forwarded\""), std::string::npos);
  EXPECT_NE(log.find("\"key_hash\":\""), std::string::npos);
  EXPECT_NE(log.find("\"remote\":\"127.0.0.1:"), std::string::npos);
  EXPECT_EQ(log.find("4111"), std::string::npos) << "no bodies in logs";
  EXPECT_EQ(log.find("secret-key-123"), std::string::npos) << "no raw keys in logs";
  EXPECT_NE(log.find("\"msg\":\"shutting down\""), std::string::npos);
  std::istringstream lines(log);
  int parsed = 0;
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    EXPECT_FALSE(ec) << "not JSON: " << line;
    if (!ec && v.as_object().contains("request_id") && v.as_object().at("request_id") == R"(id-"q"\)") ++parsed;
  }
  EXPECT_EQ(parsed, 1) << "the odd request id is logged, escaped";
}

TEST_F(OperatorTest, SigtermDrainsRequestsInProgress) {
  master_.Start(dir_.path(), {"--latency", "500ms"});
  writ_.Start(dir_.path(), master_.port());
  Response r;
  std::thread client([&] { r = PostJson(writ_.port(), "/orders", "drain", "{}"); });
  ASSERT_TRUE(Eventually([&] { return CountKeys(writ_.db_path()).in_flight == 1; }));
  writ_.Stop();  // expects exit code 0
  client.join();
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(CountKeys(writ_.db_path()).completed, 1);
}

TEST_F(OperatorTest, CheckConfigReportsEveryErrorWithPosition) {
  std::string path = dir_.path() + "/bad.yaml";
  std::ofstream(path) << "upstreams:\n  m:\n    url: http://127.0.0.1:9\nroutes:\n  - method: POST\n    path: /x\n"
                         "    upstream: nope\n    idempotency:\n      lease: soon\n";
  std::string out;
  EXPECT_EQ(RunWrit({"check-config", path}, &out), 2);
  EXPECT_NE(out.find(path + ":7:15: route 'POST /x' names unknown upstream 'nope'"), std::string::npos) << out;
  EXPECT_NE(out.find(path + ":9:14: 'lease': invalid duration 'soon'"), std::string::npos) << out;
  EXPECT_NE(out.find("2 error(s)"), std::string::npos) << out;

  out.clear();
  EXPECT_EQ(RunWrit({"check-config", std::string(WRIT_SOURCE_DIR) + "/examples/writ.yaml"}, &out), 0) << out;
  EXPECT_NE(out.find("OK"), std::string::npos);
  EXPECT_NE(out.find("admin 127.0.0.1:9901"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(RunWrit({"check-config", std::string(WRIT_SOURCE_DIR) + "/examples/writ.yaml", "--listen", "bad"}, &out),
            2);
  out.clear();
  EXPECT_EQ(RunWrit({"check-config", std::string(WRIT_SOURCE_DIR) + "/examples/writ.yaml", "--admin-listen", "off"},
                    &out),
            0);
  EXPECT_NE(out.find("admin off"), std::string::npos) << out;
  EXPECT_EQ(RunWrit({"check-config", std::string(WRIT_SOURCE_DIR) + "/examples/writ.yaml", "--admin-listen", "9901"},
                    &out),
            2);
  EXPECT_NE(out.find("--admin-listen"), std::string::npos) << out;
}

// The benchmarks' S4 latency comes from the mock master: arrival time minus
// the `sentAt` a client put in the body, over the writes that carry one.
TEST_F(OperatorTest, MockMasterLatencyCountsOnlyWritesCarryingSentAt) {
  master_.Start(dir_.path());
  auto now_ms = [] {
    return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
  };
  ASSERT_EQ(PostJson(master_.port(), "/payments", "l1", "{\"sentAt\":" + std::to_string(now_ms() - 50) + "}").status,
            201);
  ASSERT_EQ(PostJson(master_.port(), "/payments", "l2", "{\"sentAt\":" + std::to_string(now_ms() - 50) + "}").status,
            201);
  ASSERT_EQ(PostJson(master_.port(), "/payments", "l3", "{\"amount\":1}").status, 201);
  auto lat = ParseBody(Call(master_.port(), "GET", "/_latency")).as_object();
  EXPECT_EQ(lat["count"].as_int64(), 2) << boost::json::serialize(lat);
  EXPECT_GE(lat["p50Ms"].to_number<double>(), 50.0);
  EXPECT_LT(lat["p99Ms"].to_number<double>(), 5'000.0);
  ASSERT_EQ(Call(master_.port(), "POST", "/_reset").status, 200);
  EXPECT_EQ(ParseBody(Call(master_.port(), "GET", "/_latency")).as_object()["count"].as_int64(), 0);
}

}  // namespace
}  // namespace writ::testing

namespace writ::testing {
namespace {

TEST(Cli, BareWritAndHelpListTheCommandsAndExit2) {
  for (std::vector<std::string> args : {std::vector<std::string>{}, {"help"}}) {
    std::string out;
    EXPECT_EQ(RunWrit(args, &out), 2) << "no command ran";
    for (const char* cmd : {"serve", "check-config", "mock-master", "demo", "keys", "submissions", "jobs"})
      EXPECT_NE(out.find(cmd), std::string::npos) << cmd << " missing from:\n" << out;
  }
  std::string out;
  EXPECT_EQ(RunWrit({"help", "serve"}, &out), 2);
  EXPECT_NE(out.find("--config"), std::string::npos) << out;
  std::string version;
  EXPECT_EQ(RunWrit({"--version"}, &version), 0);
  EXPECT_EQ(version.rfind("writ ", 0), 0u) << version;
}

}  // namespace
}  // namespace writ::testing
