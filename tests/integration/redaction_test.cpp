// Canaries: a value in a redacted field (routes[].redact), an API key's
// secret in Authorization, a webhook secret and a database password are
// planted, the writes go through sync, async and buffered routes with a
// webhook, and then everything Writ shows is searched for them: its log,
// /metrics, problem bodies, the status API (views, lists, events, job
// items), webhook payloads, the CLI and check-config. Only the master (and
// the client's own answer) may hold the redacted value.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "testing/cluster.h"

namespace writ::testing {
namespace {

const std::string kCard = "CANARY-card-4111";
const std::string kSsn = "CANARY-ssn-078051120";
// whsec_ + base64("CANARY-hook-secret-0123456789")
const std::string kHookSecret = "whsec_Q0FOQVJZLWhvb2stc2VjcmV0LTAxMjM0NTY3ODk=";
const std::string kDbPassword = "CANARY-db-password";

TEST(RedactionTest, CanariesAppearNowhereWritShowsThem) {
  TempDir dir;
  std::ofstream(dir.path() + "/pepper") << "0123456789abcdef0123456789abcdef\n";
  MockMasterProcess master, receiver;
  master.Start(dir.path());
  std::filesystem::create_directories(dir.path() + "/receiver");
  receiver.Start(dir.path() + "/receiver");
  const std::string redact = "redact: [/card/number, /ssn, /items/*/ssn]\n";
  RouteOptions orders;
  orders.extra = redact;
  RouteOptions payments;
  payments.path = "/payments";
  payments.mode = "async";
  payments.extra = redact + "async: {poll_interval: 50ms}\nnotify:\n  url: http://127.0.0.1:" +
                   std::to_string(receiver.port()) + "/hooks\n  secret: ${env:WRIT_TEST_HOOK_SECRET}\n";
  RouteOptions bulk;
  bulk.path = "/cards/bulk";
  bulk.mode = "buffered";
  bulk.extra = redact + "upstream_path: /cards\nbuffered: {item_key: /id}\nasync: {poll_interval: 50ms}\n";
  WritProcess writ;
  writ.set_top_extra("auth:\n  api_keys:\n    pepper: ${file:" + dir.path() + "/pepper}\n");
  // The secrets are in the environment of writ serve and of every writ command.
  ::setenv("WRIT_TEST_HOOK_SECRET", kHookSecret.c_str(), 1);
  ::setenv("PGPASSWORD", kDbPassword.c_str(), 1);
  writ.Start(dir.path(), master.port(), {orders, payments, bulk});
  std::string out;
  ASSERT_EQ(RunWrit({"apikeys", "create", "--config", writ.config_path(), "--tenant", "acme", "--roles",
                     "client,reader"},
                    &out),
            0);
  std::string key = out.substr(out.find("writ_"), 5 + 12 + 1 + 64), secret = key.substr(18);
  ASSERT_EQ(RunWrit({"apikeys", "create", "--config", writ.config_path(), "--tenant", "*", "--roles", "operator"},
                    &out),
            0);
  std::string op = out.substr(out.find("writ_"), 5 + 12 + 1 + 64);
  auto call = [&](const std::string& k, const std::string& method, const std::string& target,
                  const std::string& body = "", const std::string& type = "application/json") {
    Headers h = {{"Authorization", "Bearer " + k}, {"Idempotency-Key", "c-" + target + body.substr(0, 10)}};
    if (!body.empty()) h.emplace_back("Content-Type", type);
    bool admin = target == "/metrics" || (method != "GET" && target.rfind("/v1/", 0) == 0);
    return Call(admin ? writ.admin_port() : writ.port(), method, target, body, h);
  };
  const std::string body = R"({"amount":1,"card":{"number":")" + kCard + R"(","holder":"Ann"},"ssn":")" + kSsn + "\"}";

  // The client's own answer holds what the master answered, unredacted.
  auto sync = call(key, "POST", "/orders", body);
  ASSERT_EQ(sync.status, 201) << sync.body;
  EXPECT_NE(sync.body.find(kCard), std::string::npos) << "the client gets the master's whole answer";
  auto accepted = call(key, "POST", "/payments", body);
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  std::string sub = ParseBody(accepted).as_object()["submissionId"].as_string().c_str();
  auto job = call(key, "POST", "/cards/bulk", "{\"id\":\"c1\",\"ssn\":\"" + kSsn + "\"}\n", "application/x-ndjson");
  ASSERT_EQ(job.status, 202) << job.body;
  std::string job_id = ParseBody(job).as_object()["jobId"].as_string().c_str();
  auto bad = call(key, "POST", "/orders", "{\"ssn\":\"" + kSsn + "\",", "application/json");
  EXPECT_EQ(bad.status, 400);
  ASSERT_TRUE(Eventually([&] { return call(key, "GET", "/v1/submissions/" + sub).body.find("succeeded") !=
                                      std::string::npos; },
                         10'000));
  ASSERT_TRUE(Eventually([&] { return call(key, "GET", "/v1/jobs/" + job_id).body.find("\"completed\"") !=
                                      std::string::npos; },
                         10'000));
  ASSERT_TRUE(Eventually([&] { return receiver.Stat("applied") >= 3; }, 10'000)) << "three webhooks";

  // The master got every field.
  std::string master_log = Call(master.port(), "GET", "/_log").body;
  EXPECT_NE(master_log.find(kCard), std::string::npos);
  EXPECT_NE(master_log.find(kSsn), std::string::npos);

  std::map<std::string, std::string> shown;
  shown["submission view"] = call(key, "GET", "/v1/submissions/" + sub).body;
  shown["submission list"] = call(key, "GET", "/v1/submissions").body;
  shown["events (SSE)"] = call(key, "GET", "/v1/submissions/" + sub + "/events").body;
  shown["job items"] = call(key, "GET", "/v1/jobs/" + job_id + "/items").body;
  shown["retry answer"] = call(op, "POST", "/v1/submissions/" + sub + "/retry").body;
  shown["problem body"] = bad.body;
  shown["/metrics"] = call(op, "GET", "/metrics").body;
  shown["webhook payloads"] = Call(receiver.port(), "GET", "/_log").body;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"submissions", "show", "-c", writ.config_path(), sub},
           {"submissions", "list", "--json", "-c", writ.config_path()},
           {"jobs", "items", "--json", "-c", writ.config_path(), job_id},
           {"keys", "list", "-c", writ.config_path()},
           {"apikeys", "list", "-c", writ.config_path()}}) {
    std::string text;
    EXPECT_EQ(RunWrit(args, &text), 0) << args[0] << " " << args[1] << ": " << text;
    shown["writ " + args[0] + " " + args[1]] = text;
  }
  {
    // check-config with the secrets in its environment.
    std::string text;
    std::string cmd = std::string(WRIT_BINARY) + " check-config " + writ.config_path() + " 2>&1";
    FILE* f = ::popen(cmd.c_str(), "r");
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    EXPECT_EQ(::pclose(f), 0) << text;
    shown["check-config"] = text;
  }
  writ.Stop();
  shown["writ's log"] = writ.ReadLog();
  ::unsetenv("PGPASSWORD");

  for (const auto& [where, text] : shown) {
    for (const auto& [what, canary] : std::vector<std::pair<std::string, std::string>>{
             {"a redacted card number", kCard},
             {"a redacted ssn", kSsn},
             {"an API key's secret", secret},
             {"the webhook secret", kHookSecret.substr(6)},
             {"the database password", kDbPassword}})
      EXPECT_EQ(text.find(canary), std::string::npos) << what << " in " << where << ":\n" << text.substr(0, 2000);
  }
  // ...and the redacted views still show the rest, with the field marked.
  EXPECT_NE(shown["submission view"].find(R"("number":"[redacted]","holder":"Ann")"), std::string::npos)
      << shown["submission view"];
  EXPECT_NE(shown["webhook payloads"].find("[redacted]"), std::string::npos);
  EXPECT_NE(shown["job items"].find("[redacted]"), std::string::npos) << shown["job items"];
}

}  // namespace
}  // namespace writ::testing
