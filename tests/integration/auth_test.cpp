// API keys (auth.api_keys): keys made, listed, revoked and rotated with
// `writ apikeys`, checked by `writ serve` on every call but the open ones,
// and the role each kind of endpoint needs: 401 without a valid key, 403
// for a role that may not, the endpoint's own answer otherwise.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "core/api_key.h"
#include "patterns/registry.h"
#include "testing/cluster.h"

namespace writ::testing {
namespace {

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.path() + "/pepper") << "0123456789abcdef0123456789abcdef\n";
    master_.Start(dir_.path());
    RouteOptions orders;
    RouteOptions payments;
    payments.path = "/payments";
    payments.mode = "async";
    payments.extra = "async: {poll_interval: 50ms}";
    writ_.set_top_extra("auth:\n  api_keys:\n    pepper: ${file:" + dir_.path() +
                        "/pepper}\n    header: X-Api-Key\n    cache_ttl: 100ms\n"
                        "quotas:\n  tenants:\n    slow: {rate: 10, burst: 10}\n    busy: {max_pending: 2, max_drafts: 2}\n");
    RouteOptions bulk;
    bulk.path = "/products/bulk";
    bulk.mode = "buffered";
    bulk.extra = "upstream_path: /products\nbuffered:\n  item_key: /sku\n  bulk_path: /products/_bulk\n"
                 "async: {poll_interval: 50ms}\n";
    RouteOptions drafts;
    drafts.method = "";
    drafts.path = "/applications/drafts";
    drafts.mode = "draft";
    drafts.extra = "upstream_path: /applications\n";
    RouteOptions trips;
    trips.path = "/trips";
    trips.mode = "saga";
    trips.extra = "async: {poll_interval: 50ms}\nsaga:\n  steps:\n"
                  "    - {name: flight, path: /flights, body: {trip: '{{/input/trip}}'}}\n";
    writ_.Start(dir_.path(), master_.port(), {orders, payments, bulk, drafts, trips});
  }

  // `writ apikeys create`: the key it prints once.
  std::string Create(const std::string& tenant, const std::string& roles, const std::string& extra = "") {
    std::vector<std::string> args{"apikeys", "create", "--config", writ_.config_path(), "--tenant", tenant,
                                  "--roles", roles};
    if (!extra.empty()) args.push_back(extra);
    std::string out;
    EXPECT_EQ(RunWrit(args, &out), 0) << out;
    auto at = out.find("writ_");
    return at == std::string::npos ? "" : out.substr(at, out.find('\n', at) - at);
  }
  static std::string Id(const std::string& key) { return key.substr(5, 12); }
  // The listener an endpoint is on: /metrics and changes under /v1/ are on
  // the admin listener (server.admin_listen), the rest on the public one.
  uint16_t PortFor(const std::string& method, const std::string& target) const {
    // A saga's client cancels it on the public listener.
    bool saga_cancel = target.rfind("/v1/sagas/", 0) == 0 && target.size() > 7 &&
                       target.compare(target.size() - 7, 7, "/cancel") == 0;
    bool admin = target == "/metrics" || target == "/v1/endpoints" ||
                 (method != "GET" && target.rfind("/v1/", 0) == 0 && !saga_cancel);
    return admin ? writ_.admin_port() : writ_.port();
  }
  static Headers Bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }
  // A string member of a JSON answer ("" if absent).
  static std::string Field(const Response& r, const char* k) {
    auto v = ParseBody(r);
    auto* x = v.is_object() ? v.as_object().if_contains(k) : nullptr;
    return x && x->is_string() ? std::string(x->get_string()) : std::string();
  }

  TempDir dir_;
  MockMasterProcess master_;
  WritProcess writ_;
};

// The matrix: every endpoint the gateway serves (GET /v1/endpoints lists
// Writ's own API and each route's) against every kind of caller. An
// endpoint added to the code and not to this table fails the test.
TEST_F(AuthTest, EachEndpointAnswersOnlyTheRolesItNeeds) {
  std::string client = Create("acme", "client"), other = Create("globex", "client"),
              reader = Create("acme", "reader"), op = Create("acme", "operator"), all = Create("*", "reader,operator"),
              revoked = Create("acme", "client,reader,operator"),
              expired = Create("acme", "client,reader,operator", "--expires=1ms");
  ASSERT_EQ(client.size(), 5u + 12 + 1 + 64) << client;
  std::string out;
  ASSERT_EQ(RunWrit({"apikeys", "revoke", "--config", writ_.config_path(), Id(revoked)}, &out), 0) << out;
  // A command that changes the store leaves an audit line on stderr: the OS user, the command, its exit.
  EXPECT_NE(out.find(R"("msg":"audit","actor":"cli:)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("command":"apikeys revoke")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("exit":0)"), std::string::npos) << out;
  std::string wrong_secret = client.substr(0, 18) + std::string(64, 'a');
  auto as = [&](const std::string& key, const std::string& method, const std::string& target,
                const std::string& body = "", const std::string& type = "application/json") {
    Headers h = Bearer(key);
    h.emplace_back("Idempotency-Key", "setup-" + target);
    if (!body.empty()) h.emplace_back("Content-Type", type);
    return Call(PortFor(method, target), method, target, body, h);
  };
  // Acme's records to read and act on: a submission, a job, a draft.
  std::string sub = Field(as(client, "POST", "/payments", R"({"amount":1})"), "submissionId");
  std::string job = Field(as(client, "POST", "/products/bulk", "{\"sku\":\"s1\"}\n", "application/x-ndjson"), "jobId");
  std::string draft = Field(as(client, "POST", "/applications/drafts", R"({"name":"a"})"), "draftId");
  std::string saga = Field(as(client, "POST", "/trips", R"({"trip":"a-1"})"), "sagaId");
  ASSERT_FALSE(sub.empty() || job.empty() || draft.empty() || saga.empty());
  ASSERT_TRUE(Eventually([&] { return Field(as(client, "GET", "/v1/sagas/" + saga), "status") == "succeeded"; },
                         10'000));
  ASSERT_TRUE(Eventually([&] { return Field(as(client, "GET", "/v1/submissions/" + sub), "status") == "succeeded"; },
                         10'000));
  ASSERT_TRUE(Eventually([&] { return Field(as(client, "GET", "/v1/jobs/" + job), "status") == "completed"; },
                         10'000));
  const std::string route = "POST%20%2Fproducts%2Fbulk", d = "/applications/drafts/" + draft;

  struct Row {
    std::string method, pattern;  // as GET /v1/endpoints lists it
    std::string target, body;
    // Expected status per caller; `open` 0: a key is needed (401 without one).
    int open, client, other, reader, op, all;
  };
  // Rows run in order, callers in the order of the columns: the client's
  // own PUT, submit and DELETE change its draft for the rows after.
  std::vector<Row> matrix = {
      {"GET", "/healthz", "/healthz", "", 200, 200, 200, 200, 200, 200},
      {"GET", "/readyz", "/readyz", "", 200, 200, 200, 200, 200, 200},
      {"GET", "/.well-known/writ/idempotency", "/.well-known/writ/idempotency", "", 200, 200, 200, 200, 200, 200},
      {"GET", "/.well-known/writ/routes", "/.well-known/writ/routes", "", 200, 200, 200, 200, 200, 200},
      {"GET", "/metrics", "/metrics", "", 0, 403, 403, 403, 200, 200},
      {"GET", "/v1/endpoints", "/v1/endpoints", "", 0, 403, 403, 403, 200, 200},
      {"GET", "/v1/submissions", "/v1/submissions", "", 0, 200, 200, 200, 200, 200},
      {"GET", "/v1/submissions/{id}", "/v1/submissions/" + sub, "", 0, 200, 404, 200, 200, 200},
      {"GET", "/v1/submissions/{id}/events", "/v1/submissions/" + sub + "/events", "", 0, 200, 404, 200, 200, 200},
      {"POST", "/v1/submissions/{id}/retry", "/v1/submissions/" + sub + "/retry", "", 0, 403, 403, 403, 409, 409},
      {"POST", "/v1/submissions/{id}/cancel", "/v1/submissions/" + sub + "/cancel", "", 0, 403, 403, 403, 409, 409},
      {"GET", "/v1/jobs", "/v1/jobs", "", 0, 200, 200, 200, 200, 200},
      {"GET", "/v1/jobs/{id}", "/v1/jobs/" + job, "", 0, 200, 404, 200, 200, 200},
      {"GET", "/v1/jobs/{id}/items", "/v1/jobs/" + job + "/items", "", 0, 200, 404, 200, 200, 200},
      {"POST", "/v1/jobs/{id}/replay", "/v1/jobs/" + job + "/replay", "", 0, 403, 403, 403, 200, 200},
      {"GET", "/v1/routes/{route}/buffer", "/v1/routes/" + route + "/buffer", "", 0, 200, 200, 200, 200, 200},
      {"POST", "/v1/routes/{route}/pause", "/v1/routes/" + route + "/pause", "", 0, 403, 403, 403, 403, 200},
      {"POST", "/v1/routes/{route}/resume", "/v1/routes/" + route + "/resume", "", 0, 403, 403, 403, 403, 200},
      {"POST", "/orders", "/orders", R"({"a":1})", 0, 201, 201, 403, 403, 403},
      {"POST", "/payments", "/payments", R"({"a":2})", 0, 202, 202, 403, 403, 403},
      {"POST", "/products/bulk", "/products/bulk", "{\"sku\":\"s2\"}\n", 0, 202, 202, 403, 403, 403},
      {"POST", "/applications/drafts", "/applications/drafts", R"({"name":"b"})", 0, 201, 201, 403, 403, 403},
      {"GET", "/applications/drafts", "/applications/drafts", "", 0, 200, 200, 403, 403, 403},
      {"GET", "/applications/drafts/{draftId}", d, "", 0, 200, 404, 403, 403, 403},
      {"GET", "/applications/drafts/{draftId}/versions", d + "/versions", "", 0, 200, 404, 403, 403, 403},
      {"PUT", "/applications/drafts/{draftId}", d, R"({"name":"c"})", 0, 200, 404, 403, 403, 403},
      {"PATCH", "/applications/drafts/{draftId}", d, R"({"name":"e"})", 0, 200, 404, 403, 403, 403},
      {"POST", "/applications/drafts/{draftId}/submit", d + "/submit", "", 0, 201, 404, 403, 403, 403},
      {"DELETE", "/applications/drafts/{draftId}", d, "", 0, 204, 404, 403, 403, 403},
      {"GET", "/v1/sagas", "/v1/sagas", "", 0, 403, 403, 200, 200, 200},
      {"GET", "/v1/sagas/{id}", "/v1/sagas/" + saga, "", 0, 200, 404, 200, 200, 200},
      {"GET", "/v1/sagas/{id}/events", "/v1/sagas/" + saga + "/events", "", 0, 200, 404, 200, 200, 200},
      // The saga has succeeded: nothing to cancel, retry or resolve.
      {"POST", "/v1/sagas/{id}/cancel", "/v1/sagas/" + saga + "/cancel", "", 0, 409, 404, 403, 409, 409},
      {"POST", "/v1/sagas/{id}/retry-compensation", "/v1/sagas/" + saga + "/retry-compensation", "", 0, 403, 403,
       403, 409, 409},
      {"POST", "/v1/sagas/{id}/mark-resolved", "/v1/sagas/" + saga + "/mark-resolved", "", 0, 403, 403, 403, 409,
       409},
      {"POST", "/trips", "/trips", R"({"trip":"a-2"})", 0, 202, 202, 403, 403, 403},
  };

  // The table is complete: exactly the endpoints the gateway serves.
  auto listed = as(all, "GET", "/v1/endpoints");
  ASSERT_EQ(listed.status, 200) << listed.body;
  std::set<std::string> served, tabled;
  std::map<std::string, std::string> listener;
  auto listing = ParseBody(listed);
  for (const auto& e : listing.as_object()["endpoints"].as_array()) {
    const auto& o = e.as_object();
    std::string name = std::string(o.at("method").as_string()) + " " + std::string(o.at("path").as_string());
    served.insert(name);
    listener[name] = o.at("listener").as_string().c_str();
  }
  for (const auto& r : matrix) tabled.insert(r.method + " " + r.pattern);
  for (const auto& e : served) EXPECT_TRUE(tabled.count(e)) << e << " is served but not in the matrix: add it";
  for (const auto& e : tabled) EXPECT_TRUE(served.count(e)) << e << " is in the matrix but not served";

  int n = 0;
  for (const auto& r : matrix) {
    auto call = [&](const Headers& creds) {
      Headers hs = creds;
      hs.emplace_back("Idempotency-Key", "m" + std::to_string(n++));
      if (r.target.rfind(d, 0) == 0 && r.method != "GET") hs.emplace_back("If-Match", "*");
      hs.emplace_back("Content-Type", r.method == "PATCH"                ? "application/merge-patch+json"
                                      : r.pattern == "/products/bulk" ? "application/x-ndjson"
                                                                      : "application/json");
      return Call(PortFor(r.method, r.target), r.method, r.target, r.body, hs);
    };
    std::string what = r.method + " " + r.pattern;
    // Each call goes to the listener the list names; the other one does not serve it.
    EXPECT_EQ(PortFor(r.method, r.target) == writ_.admin_port(), listener[what] == "admin") << what;
    if (listener[what] == "admin")
      EXPECT_EQ(Call(writ_.port(), r.method, r.target, "", Bearer(all)).status, 404) << what << " on the public listener";
    auto none = call({});
    if (r.open) {
      EXPECT_EQ(none.status, r.open) << what;
    } else {
      EXPECT_EQ(none.status, 401) << what;
      EXPECT_EQ(ProblemType(none), "credentials-required") << what;
      EXPECT_EQ(FindHeader(none.headers, "WWW-Authenticate").value_or(""), "Bearer realm=\"writ\"") << what;
      for (const auto& [name, creds] : std::vector<std::pair<std::string, Headers>>{
               {"malformed", {{"Authorization", "Bearer writ_nope"}}},
               {"basic", {{"Authorization", "Basic dXNlcjpwYXNz"}}},
               {"wrong secret", Bearer(wrong_secret)},
               {"revoked", Bearer(revoked)},
               {"expired", Bearer(expired)}}) {
        auto bad = call(creds);
        EXPECT_EQ(bad.status, 401) << what << " with a " << name << " key";
        EXPECT_EQ(ProblemType(bad), "invalid-credentials") << what << " with a " << name << " key";
      }
    }
    for (const auto& [name, key, expected] : std::vector<std::tuple<std::string, std::string, int>>{
             {"acme's client", client, r.client},
             {"globex's client", other, r.other},
             {"acme's reader", reader, r.reader},
             {"acme's operator", op, r.op},
             {"an operator of every tenant", all, r.all}}) {
      auto got = call(Bearer(key));
      EXPECT_EQ(got.status, expected) << what << " as " << name << ": " << got.body;
      if (expected == 403 && got.status == 403 && r.pattern.find("/pause") == std::string::npos &&
          r.pattern.find("/resume") == std::string::npos)
        EXPECT_NE(got.body.find("this needs one of the roles"), std::string::npos) << what << ": " << got.body;
    }
  }
  // A path no endpoint fits: 401 without a key, then 404 to anyone.
  EXPECT_EQ(Call(writ_.port(), "GET", "/nowhere").status, 401);
  EXPECT_EQ(Call(writ_.port(), "GET", "/nowhere", "", Bearer(reader)).status, 404);
  EXPECT_EQ(Call(writ_.port(), "GET", "/v1/nowhere", "", Bearer(reader)).status, 404);
  // A call without a credential is refused from its head: Writ does not
  // read (here: wait for) a body it would refuse anyway.
  auto raw = RawRequest(writ_.port(),
                        "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Content-Length: 900000\r\n\r\n{\"a\":",
                        2'000);
  EXPECT_EQ(raw.status, 401) << raw.response;
  EXPECT_TRUE(raw.closed);
  EXPECT_NE(raw.response.find("credentials-required"), std::string::npos) << raw.response;
  // The configured header carries a key as well as Authorization does.
  EXPECT_EQ(Call(writ_.port(), "GET", "/v1/submissions/" + sub, "", {{"X-Api-Key", reader}}).status, 200);

  // No secret ever reaches the log; refusals name the key id.
  std::string log = writ_.ReadLog();
  // Every operator action, done or refused for its role, has an audit line naming who and what.
  auto audited = [&](const std::string& key, const std::string& action, int status) {
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);)
      if (line.find(R"("msg":"audit","actor":")" + Id(key) + R"(",)") != std::string::npos &&
          line.find(R"("action":")" + action + R"(","status":)" + std::to_string(status)) != std::string::npos)
        return true;
    return false;
  };
  EXPECT_TRUE(audited(all, "POST /v1/routes/" + route + "/pause", 200)) << log;
  EXPECT_TRUE(audited(op, "POST /v1/routes/" + route + "/pause", 403)) << log;
  EXPECT_TRUE(audited(op, "POST /v1/submissions/" + sub + "/retry", 409)) << log;
  for (const auto& k : {client, other, reader, op, all, revoked, expired})
    EXPECT_EQ(log.find(k.substr(18)), std::string::npos) << "a key's secret in the log";
  EXPECT_NE(log.find("\"reason\":\"revoked\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"keyId\":\"" + Id(revoked) + "\""), std::string::npos) << log;
  // Only the digest is stored: the list shows ids and states, never a secret.
  ASSERT_EQ(RunWrit({"apikeys", "list", "--config", writ_.config_path()}, &out), 0) << out;
  EXPECT_EQ(out.find(client.substr(18)), std::string::npos);
  EXPECT_NE(out.find(Id(revoked) + "\tacme\tclient,reader,operator\trevoked"), std::string::npos) << out;
  EXPECT_NE(out.find(Id(expired) + "\tacme\tclient,reader,operator\texpired"), std::string::npos) << out;
}

// The tenant comes from the key: one Idempotency-Key used by two tenants is
// two records, two writes at the master under two derived keys, and neither
// replays the other's answer; an async submission is stored under its
// caller's tenant. Nothing in the request can choose the tenant.
TEST_F(AuthTest, OneKeyUnderTwoTenantsIsTwoWrites) {
  std::string acme = Create("acme", "client"), globex = Create("globex", "client");
  auto post = [&](const std::string& k, const std::string& target) {
    Headers h = Bearer(k);
    h.emplace_back("Idempotency-Key", "order-1");
    h.emplace_back("Content-Type", "application/json");
    h.emplace_back("X-Tenant", "acme");  // ignored: the tenant is the key's
    return Call(writ_.port(), "POST", target, R"({"a":1})", h);
  };
  auto a = post(acme, "/orders");
  auto g = post(globex, "/orders");
  ASSERT_EQ(a.status, 201) << a.body;
  ASSERT_EQ(g.status, 201) << g.body;
  EXPECT_FALSE(FindHeader(g.headers, "Idempotent-Replayed").has_value()) << "globex never gets acme's answer";
  EXPECT_NE(ParseBody(a).as_object()["id"], ParseBody(g).as_object()["id"]);
  auto again = post(globex, "/orders");
  EXPECT_EQ(FindHeader(again.headers, "Idempotent-Replayed").value_or(""), "true") << "each tenant replays its own";
  EXPECT_EQ(ParseBody(again).as_object()["id"], ParseBody(g).as_object()["id"]);
  auto log = ParseBody(Call(master_.port(), "GET", "/_log")).as_object().at("requests").as_array();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_NE(log[0].as_object().at("key"), log[1].as_object().at("key")) << "the derived key holds the tenant";

  ASSERT_EQ(post(acme, "/payments").status, 202);
  ASSERT_EQ(post(globex, "/payments").status, 202);
  auto store = OpenStoreReadOnly(writ_.db_path());
  ASSERT_TRUE(store);
  auto keys = store->keys().List(std::nullopt, "", 100);
  ASSERT_TRUE(keys.ok());
  std::multiset<std::string> tenants;
  for (const auto& r : *keys) tenants.insert(r.id.tenant + " " + r.id.route);
  EXPECT_EQ(tenants, (std::multiset<std::string>{"acme POST /orders", "globex POST /orders", "acme POST /payments",
                                                  "globex POST /payments"}));
  CommandFilter f;
  auto cmds = store->queue().ListCommands(f);
  ASSERT_TRUE(cmds.ok());
  std::multiset<std::string> owners;
  for (const auto& c : *cmds) owners.insert(c.tenant);
  EXPECT_EQ(owners, (std::multiset<std::string>{"acme", "globex"}));
  std::string out;
  ASSERT_EQ(RunWrit({"keys", "list", "--config", writ_.config_path(), "--route", "POST /orders"}, &out), 0) << out;
  EXPECT_NE(out.find("completed\tglobex\tPOST /orders\torder-1"), std::string::npos) << out;
}

// Object-level authorization: another tenant's submission, job, draft and
// idempotency key answer 404 (never 403: an id's existence is not told) to
// every role of this tenant, and nothing of them changes; lists show one's
// own records; a key of tenant "*" sees and operates on all of them.
TEST_F(AuthTest, AnotherTenantsRecordsAreNotFoundAndUntouched) {
  std::string a_client = Create("acme", "client"), a_reader = Create("acme", "reader"),
              a_op = Create("acme", "operator"), g_client = Create("globex", "client"),
              all = Create("*", "reader,operator");
  auto call = [&](const std::string& k, const std::string& method, const std::string& target,
                  const std::string& body = "", const std::string& idem = "", const std::string& ct = "application/json") {
    Headers h = Bearer(k);
    if (!idem.empty()) h.emplace_back("Idempotency-Key", idem);
    if (!body.empty()) h.emplace_back("Content-Type", ct);
    return Call(PortFor(method, target), method, target, body, h);
  };
  // Globex's records: a submission, a job whose item has key sku-1, a draft.
  auto sub = call(g_client, "POST", "/payments", R"({"amount":1})", "p1");
  ASSERT_EQ(sub.status, 202) << sub.body;
  std::string s = Field(sub, "submissionId");
  auto job = call(g_client, "POST", "/products/bulk", "{\"sku\":\"sku-1\"}\n", "b1", "application/x-ndjson");
  ASSERT_EQ(job.status, 202) << job.body;
  std::string j = Field(job, "jobId");
  auto draft = call(g_client, "POST", "/applications/drafts", R"({"name":"g"})");
  ASSERT_EQ(draft.status, 201) << draft.body;
  std::string d = Field(draft, "draftId");
  std::string d_etag(FindHeader(draft.headers, "ETag").value_or(""));
  ASSERT_TRUE(Eventually([&] { return Field(call(g_client, "GET", "/v1/jobs/" + j), "status") == "completed"; },
                         10'000));
  auto saga = call(g_client, "POST", "/trips", R"({"trip":"g-1"})", "t1");
  ASSERT_EQ(saga.status, 202) << saga.body;
  std::string g = Field(saga, "sagaId");
  ASSERT_TRUE(Eventually([&] { return Field(call(g_client, "GET", "/v1/sagas/" + g), "status") == "succeeded"; },
                         10'000));
  auto before_saga = call(g_client, "GET", "/v1/sagas/" + g).body;
  auto before_sub = call(g_client, "GET", "/v1/submissions/" + s).body;
  auto before_job = call(g_client, "GET", "/v1/jobs/" + j + "/items").body;

  struct Try {
    std::string who, key, method, target, body;
  };
  std::vector<Try> tries = {
      {"client", a_client, "GET", "/v1/submissions/" + s, ""},
      {"reader", a_reader, "GET", "/v1/submissions/" + s, ""},
      {"operator", a_op, "GET", "/v1/submissions/" + s, ""},
      {"reader", a_reader, "GET", "/v1/submissions/" + s + "/events", ""},
      {"operator", a_op, "POST", "/v1/submissions/" + s + "/retry", ""},
      {"operator", a_op, "POST", "/v1/submissions/" + s + "/cancel", ""},
      {"client", a_client, "GET", "/v1/submissions?route=POST%20%2Fpayments&key=p1", ""},
      {"client", a_client, "GET", "/v1/jobs/" + j, ""},
      {"reader", a_reader, "GET", "/v1/jobs/" + j + "/items", ""},
      {"operator", a_op, "POST", "/v1/jobs/" + j + "/replay", ""},
      {"client", a_client, "GET", "/applications/drafts/" + d, ""},
      {"client", a_client, "PUT", "/applications/drafts/" + d, R"({"name":"mine now"})"},
      {"client", a_client, "DELETE", "/applications/drafts/" + d, ""},
      {"client", a_client, "POST", "/applications/drafts/" + d + "/submit", ""},
      {"client", a_client, "GET", "/applications/drafts/" + d + "/versions", ""},
      {"client", a_client, "GET", "/v1/sagas/" + g, ""},
      {"reader", a_reader, "GET", "/v1/sagas/" + g + "/events", ""},
      {"client", a_client, "POST", "/v1/sagas/" + g + "/cancel", ""},
      {"operator", a_op, "POST", "/v1/sagas/" + g + "/retry-compensation", ""},
      {"operator", a_op, "POST", "/v1/sagas/" + g + "/mark-resolved", ""},
  };
  for (const auto& t : tries) {
    Headers h = Bearer(t.key);
    h.emplace_back("If-Match", "*");
    h.emplace_back("Idempotency-Key", "x-" + t.method + t.target);
    if (!t.body.empty()) h.emplace_back("Content-Type", "application/json");
    auto r = Call(PortFor(t.method, t.target), t.method, t.target, t.body, h);
    EXPECT_EQ(r.status, 404) << t.method << " " << t.target << " as acme's " << t.who << ": " << r.body;
  }
  EXPECT_EQ(call(g_client, "GET", "/v1/submissions/" + s).body, before_sub) << "globex's submission unchanged";
  EXPECT_EQ(call(g_client, "GET", "/v1/sagas/" + g).body, before_saga) << "globex's saga unchanged";
  auto listed = call(a_reader, "GET", "/v1/sagas");
  EXPECT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(ParseBody(listed).at("sagas").as_array().size(), 0u) << "globex's saga is not listed";
  EXPECT_EQ(ParseBody(call(all, "GET", "/v1/sagas")).at("sagas").as_array().size(), 1u) << "every tenant's key sees it";
  EXPECT_EQ(call(g_client, "GET", "/v1/jobs/" + j + "/items").body, before_job) << "globex's job unchanged";
  auto mine = call(g_client, "GET", "/applications/drafts/" + d);
  EXPECT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(FindHeader(mine.headers, "ETag").value_or(""), d_etag) << "globex's draft unchanged";

  // Acme's own: the same item key is acme's own item, not a duplicate of globex's.
  auto a_sub = call(a_client, "POST", "/payments", R"({"amount":2})", "p1");
  ASSERT_EQ(a_sub.status, 202) << a_sub.body;
  auto a_job = call(a_client, "POST", "/products/bulk", "{\"sku\":\"sku-1\"}\n", "b1", "application/x-ndjson");
  ASSERT_EQ(a_job.status, 202) << a_job.body;
  auto a_job_view = ParseBody(call(a_client, "GET", "/v1/jobs/" + Field(a_job, "jobId"))).as_object();
  EXPECT_EQ(a_job_view["counts"].as_object()["duplicate"], 0) << a_job_view;
  auto ids = [&](const std::string& k, const std::string& target, const char* id) {
    std::set<std::string> out;
    auto r = call(k, "GET", target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    auto body = ParseBody(r);
    for (const auto& it : body.as_object()["items"].as_array())
      out.insert(std::string(it.as_object().at(id).as_string()));
    return out;
  };
  EXPECT_EQ(ids(a_reader, "/v1/submissions?route=POST%20%2Fpayments", "submissionId"),
            std::set<std::string>{Field(a_sub, "submissionId")});
  EXPECT_EQ(ids(a_client, "/v1/jobs", "jobId"), std::set<std::string>{Field(a_job, "jobId")});
  auto drafts = call(a_client, "GET", "/applications/drafts");
  EXPECT_EQ(drafts.status, 200);
  EXPECT_EQ(ParseBody(drafts).as_object()["drafts"].as_array().size(), 0u) << "globex's draft is not listed";
  EXPECT_EQ(ids(all, "/v1/submissions?route=POST%20%2Fpayments", "submissionId"),
            (std::set<std::string>{s, Field(a_sub, "submissionId")}));
  EXPECT_EQ(ids(all, "/v1/jobs", "jobId").size(), 2u);
  auto by_key = call(a_client, "GET", "/v1/submissions?route=POST%20%2Fpayments&key=p1");
  EXPECT_EQ(by_key.status, 200);
  EXPECT_EQ(Field(by_key, "submissionId"), Field(a_sub, "submissionId")) << "a key finds its own tenant's submission";

  // Every tenant: reads and acts on globex's records; pausing a shared route
  // is for it alone.
  EXPECT_EQ(call(all, "GET", "/v1/submissions/" + s).status, 200);
  EXPECT_EQ(call(all, "POST", "/v1/jobs/" + j + "/replay").status, 200);
  EXPECT_EQ(call(all, "POST", "/v1/routes/POST%20%2Fproducts%2Fbulk/pause").status, 200);
  EXPECT_EQ(call(all, "POST", "/v1/routes/POST%20%2Fproducts%2Fbulk/resume").status, 200);
  EXPECT_EQ(call(all, "POST", "/orders", R"({"a":1})", "o1").status, 403) << "a key of every tenant never writes";
  std::string out;
  EXPECT_EQ(RunWrit({"apikeys", "create", "--config", writ_.config_path(), "--tenant", "*", "--roles", "client"}, &out),
            2);
  EXPECT_NE(out.find("cannot write"), std::string::npos) << out;
  // A client key of tenant "*" written to the store some other way still
  // cannot write: the authenticator drops the role.
  StoreOptions so;
  so.url = "sqlite:" + writ_.db_path();
  so.schema = AllSchemaSteps();
  auto store = OpenStore(so);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto parts = NewApiKey();
  ASSERT_TRUE(parts.has_value());
  ApiKeyRecord rec;
  rec.id = parts->id;
  rec.digest = ApiKeyDigest("0123456789abcdef0123456789abcdef", parts->secret);
  rec.tenant = "*";
  rec.roles = kRoleClient | kRoleReader;
  auto made = CreateApiKeySync((*store)->api_keys(), rec);
  ASSERT_TRUE(made.ok() && *made) << (made.ok() ? "id taken" : made.status().message());
  std::string forged = FormatApiKey(*parts);
  EXPECT_EQ(call(forged, "GET", "/v1/submissions/" + s).status, 200) << "it reads every tenant";
  auto write = call(forged, "POST", "/orders", R"({"a":1})", "o2");
  EXPECT_EQ(write.status, 403) << write.body;
}

// Quotas: a tenant over its requests per second is answered 429 with
// Retry-After and the RateLimit fields, while another tenant calling at the
// same time is never refused; the bucket refills.
TEST_F(AuthTest, ATenantAtItsQuotaIsRefusedWithoutSlowingAnother) {
  std::string slow = Create("slow", "reader"), acme = Create("acme", "reader");
  constexpr int kCalls = 60;
  struct Tally {
    std::map<int, int> statuses;
    Response refused, allowed;
    double seconds = 0;
  };
  auto run = [&](const std::string& key, Tally& t) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) {
      auto r = Call(writ_.port(), "GET", "/v1/submissions/sub_x", "", Bearer(key));
      ++t.statuses[r.status];
      (r.status == 429 ? t.refused : t.allowed) = r;
    }
    t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  Tally s, a;
  std::thread other([&] { run(acme, a); });
  run(slow, s);
  other.join();
  EXPECT_EQ(a.statuses, (std::map<int, int>{{404, kCalls}})) << "acme is never refused";
  EXPECT_FALSE(FindHeader(a.allowed.headers, "RateLimit").has_value()) << "acme has no quota";
  int allowed = s.statuses[404];
  EXPECT_GE(allowed, 10) << "the burst";
  EXPECT_LE(allowed, 10 + static_cast<int>(10 * s.seconds) + 1) << "then 10 per second";
  EXPECT_EQ(allowed + s.statuses[429], kCalls);
  ASSERT_GT(s.statuses[429], 0);
  EXPECT_EQ(ProblemType(s.refused), "rate-limited");
  EXPECT_EQ(FindHeader(s.refused.headers, "Retry-After").value_or(""), "1");
  EXPECT_EQ(FindHeader(s.refused.headers, "RateLimit-Policy").value_or(""), "\"tenant\";q=10;w=1");
  EXPECT_EQ(FindHeader(s.refused.headers, "RateLimit").value_or(""), "\"tenant\";r=0;t=1");
  EXPECT_NE(FindHeader(s.allowed.headers, "RateLimit").value_or("").find("\"tenant\";r="), std::string::npos);
  std::printf("quota: slow %d allowed, %d refused in %.2f s; acme %d calls in %.2f s (time ratio %.2f)\n", allowed,
              s.statuses[429], s.seconds, kCalls, a.seconds, a.seconds / std::max(s.seconds, 1e-3));
  EXPECT_TRUE(Eventually([&] { return Call(writ_.port(), "GET", "/v1/submissions/sub_x", "", Bearer(slow)).status == 404; },
                         3'000))
      << "the bucket refills";
  auto metrics = Call(writ_.admin_port(), "GET", "/metrics", "", Bearer(Create("*", "operator"))).body;
  auto at = metrics.find("\nwrit_quota_refused_total ");
  ASSERT_NE(at, std::string::npos) << metrics;
  EXPECT_GE(std::stoi(metrics.substr(at + 26)), s.statuses[429]) << "every refusal counted (and the refill's polls)";
}

// A revoked key stops working on a running server within cache_ttl; a
// rotated key keeps working for its overlap beside its successor.
// quotas.max_pending: a tenant with 2 writes accepted and unfinished (the
// master refuses them for now) is refused a third with 429, another tenant
// is not, and once the master takes them the tenant may write again.
TEST_F(AuthTest, ATenantWithTooManyPendingWritesWaitsUntilTheyFinish) {
  std::string busy = Create("busy", "client"), acme = Create("acme", "client");
  ASSERT_EQ(Call(master_.port(), "POST", "/_faults", R"({"errorRate":1})").status, 200);
  auto pay = [&](const std::string& key, const std::string& idem) {
    return Call(writ_.port(), "POST", "/payments", R"({"amount":1})",
                {{"Authorization", "Bearer " + key}, {"Idempotency-Key", idem}, {"Content-Type", "application/json"}});
  };
  EXPECT_EQ(pay(busy, "b1").status, 202);
  EXPECT_EQ(pay(busy, "b2").status, 202);
  auto refused = pay(busy, "b3");
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(ProblemType(refused), "too-many-pending");
  EXPECT_NE(refused.body.find("quotas.max_pending: 2"), std::string::npos) << refused.body;
  EXPECT_EQ(FindHeader(refused.headers, "Retry-After").value_or(""), "1");
  EXPECT_EQ(pay(busy, "b2").status, 202) << "a replay of an accepted write is no new work";
  EXPECT_EQ(pay(acme, "a1").status, 202) << "another tenant is not limited";
  EXPECT_EQ(pay(acme, "a2").status, 202);
  EXPECT_EQ(pay(acme, "a3").status, 202);
  ASSERT_EQ(Call(master_.port(), "POST", "/_faults", R"({"errorRate":0})").status, 200);
  EXPECT_TRUE(Eventually([&] { return pay(busy, "b4").status == 202; }, 15'000))
      << "accepted again once the pending writes finished";
  auto metrics = Call(writ_.admin_port(), "GET", "/metrics", "", Bearer(Create("*", "operator")));
  EXPECT_NE(metrics.body.find("writ_quota_pending_refused_total"), std::string::npos);
}

// quotas.max_drafts: a tenant with 2 live drafts is refused a third with
// 429 and nothing stored; a retry of an accepted create still replays, and
// deleting a draft frees its place.
TEST_F(AuthTest, ATenantWithTooManyDraftsDeletesOneBeforeCreatingMore) {
  std::string busy = Create("busy", "client"), acme = Create("acme", "client");
  auto create = [&](const std::string& key, const std::string& idem) {
    return Call(writ_.port(), "POST", "/applications/drafts", R"({"name":"n"})",
                {{"Authorization", "Bearer " + key}, {"Idempotency-Key", idem}, {"Content-Type", "application/json"}});
  };
  auto first = create(busy, "d1");
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(create(busy, "d2").status, 201);
  auto refused = create(busy, "d3");
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(ProblemType(refused), "too-many-drafts");
  EXPECT_NE(refused.body.find("quotas.max_drafts: 2"), std::string::npos) << refused.body;
  auto again = create(busy, "d1");
  EXPECT_EQ(again.status, 201) << "a retry of an accepted create replays";
  EXPECT_EQ(again.body, first.body);
  auto list = Call(writ_.port(), "GET", "/applications/drafts", "", Bearer(busy));
  EXPECT_EQ(ParseBody(list).as_object().at("drafts").as_array().size(), 2u) << list.body;
  EXPECT_EQ(create(acme, "a1").status, 201) << "another tenant is not limited";
  EXPECT_EQ(create(acme, "a2").status, 201);
  EXPECT_EQ(create(acme, "a3").status, 201);
  std::string id = Field(first, "draftId");
  EXPECT_EQ(Call(writ_.port(), "DELETE", "/applications/drafts/" + id, "", Bearer(busy)).status, 204);
  EXPECT_EQ(create(busy, "d3").status, 201) << "the refused key was judged afresh once a place was free";
  auto metrics = Call(writ_.admin_port(), "GET", "/metrics", "", Bearer(Create("*", "operator")));
  EXPECT_NE(metrics.body.find("writ_quota_drafts_refused_total 1"), std::string::npos);
}

TEST_F(AuthTest, RevocationAndRotationTakeEffectOnARunningServer) {
  std::string key = Create("acme", "reader");
  auto get = [&](const std::string& k) { return Call(writ_.port(), "GET", "/v1/submissions/sub_x", "", Bearer(k)).status; };
  EXPECT_EQ(get(key), 404) << "authenticated: the submission does not exist";
  std::string out;
  ASSERT_EQ(RunWrit({"apikeys", "rotate", "--config", writ_.config_path(), Id(key), "--overlap", "1s"}, &out), 0)
      << out;
  auto at = out.find("writ_");
  ASSERT_NE(at, std::string::npos) << out;
  std::string next = out.substr(at, out.find('\n', at) - at);
  EXPECT_NE(next, key);
  EXPECT_EQ(get(next), 404) << "the successor works at once";
  EXPECT_EQ(get(key), 404) << "the old key works during the overlap";
  EXPECT_TRUE(Eventually([&] { return get(key) == 401; }, 5'000)) << "the old key ends after the overlap";
  EXPECT_EQ(get(next), 404);
  ASSERT_EQ(RunWrit({"apikeys", "revoke", "--config", writ_.config_path(), Id(next)}, &out), 0) << out;
  EXPECT_TRUE(Eventually([&] { return get(next) == 401; }, 2'000)) << "revoked within cache_ttl";
  ASSERT_NE(RunWrit({"apikeys", "revoke", "--config", writ_.config_path(), Id(next)}, &out), 0) << "once";
  EXPECT_NE(out.find("revoked already"), std::string::npos) << out;

  // A config without auth.api_keys has no pepper: no key is made with it.
  std::ifstream in(writ_.config_path());
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  yaml.erase(yaml.find("auth:"), yaml.find("store:") - yaml.find("auth:"));
  std::string bare = dir_.path() + "/no-auth.yaml";
  std::ofstream(bare) << yaml;
  out.clear();
  EXPECT_EQ(RunWrit({"apikeys", "create", "--config", bare, "--tenant", "acme"}, &out), 1) << out;
  EXPECT_NE(out.find("has no auth.api_keys"), std::string::npos) << out;
  EXPECT_EQ(out.find("writ_"), std::string::npos) << "no key printed";
}

}  // namespace
}  // namespace writ::testing
