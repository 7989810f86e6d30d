// Sync mode end to end: real mock master and writ processes over loopback.
// Every status code a client can get, and what is stored after each.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "testing/cluster.h"

namespace writ::testing {
namespace {

class SyncTest : public ::testing::Test {
 protected:
  void StartPair(const std::vector<std::string>& master_flags = {}, const std::vector<RouteOptions>& routes = {{}}) {
    master_.Start(dir_.path(), master_flags);
    writ_.Start(dir_.path(), master_.port(), routes);
  }
  TempDir dir_;
  MockMasterProcess master_;
  WritProcess writ_;
};

TEST_F(SyncTest, FirstRequestForwardsThenReplaysByteForByte) {
  StartPair();
  auto first = PostJson(writ_.port(), "/orders", "order-1", R"({"amount":10,"currency":"EUR"})");
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_NE(first.body.find("\"id\":\"ord_1\""), std::string::npos);
  EXPECT_EQ(*FindHeader(first.headers, "Location"), "/orders/ord_1");
  EXPECT_FALSE(FindHeader(first.headers, "Idempotent-Replayed"));

  // Same request, other key order and whitespace: same fingerprint.
  auto again = PostJson(writ_.port(), "/orders", "\"order-1\"", R"({ "currency":"EUR", "amount":10 })");
  ASSERT_EQ(again.status, 201);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(*FindHeader(again.headers, "Idempotent-Replayed"), "true");
  EXPECT_EQ(*FindHeader(again.headers, "Location"), "/orders/ord_1");
  EXPECT_EQ(*FindHeader(again.headers, "Content-Type"), *FindHeader(first.headers, "Content-Type"));
  EXPECT_EQ(master_.Stat("requests"), 1);
  EXPECT_EQ(master_.Stat("applied"), 1);
  EXPECT_EQ(CountKeys(writ_.db_path()).completed, 1);
}

TEST_F(SyncTest, BadKeysAre400AndStoreNothing) {
  StartPair();
  struct Case {
    Headers headers;
    const char* type;
  } cases[] = {
      {{{"Content-Type", "application/json"}}, "idempotency-key-missing"},
      {{{"Content-Type", "application/json"}, {"Idempotency-Key", ""}}, "idempotency-key-invalid"},
      {{{"Content-Type", "application/json"}, {"Idempotency-Key", std::string(256, 'x')}}, "idempotency-key-invalid"},
      {{{"Content-Type", "application/json"}, {"Idempotency-Key", "caf\xc3\xa9"}}, "idempotency-key-invalid"},
      {{{"Content-Type", "application/json"}, {"Idempotency-Key", "a"}, {"Idempotency-Key", "b"}},
       "idempotency-key-invalid"},
      {{{"Content-Type", "application/json"}, {"Idempotency-Key", "\"open"}}, "idempotency-key-invalid"},
  };
  for (const auto& c : cases) {
    auto r = Call(writ_.port(), "POST", "/orders", R"({"a":1})", c.headers);
    EXPECT_EQ(r.status, 400) << c.type;
    EXPECT_EQ(ProblemType(r), c.type);
    EXPECT_EQ(*FindHeader(r.headers, "Content-Type"), "application/problem+json");
  }
  auto bad_json = PostJson(writ_.port(), "/orders", "k-json", R"({"a":)");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(ProblemType(bad_json), "invalid-json");
  auto wrong_type = Call(writ_.port(), "POST", "/orders", "a=1",
                         {{"Content-Type", "application/x-www-form-urlencoded"}, {"Idempotency-Key", "k-form"}});
  EXPECT_EQ(wrong_type.status, 415);
  auto counts = CountKeys(writ_.db_path());
  EXPECT_EQ(counts.completed + counts.in_flight + counts.unknown, 0);
  EXPECT_EQ(master_.Stat("requests"), 0);
}

TEST_F(SyncTest, SameKeyOtherPayloadIs422NamingPointersNotValues) {
  StartPair();
  ASSERT_EQ(PostJson(writ_.port(), "/orders", "k1", R"({"amount":10,"card":"4111-secret"})").status, 201);
  auto r = PostJson(writ_.port(), "/orders", "k1", R"({"amount":11,"card":"4111-secret","note":"x"})");
  ASSERT_EQ(r.status, 422);
  EXPECT_EQ(ProblemType(r), "idempotency-key-reused");
  auto differs = ParseBody(r).as_object().at("differs").as_array();
  EXPECT_EQ(differs, (boost::json::array{"/amount", "/note"}));
  EXPECT_EQ(r.body.find("4111"), std::string::npos);
  EXPECT_EQ(r.body.find("11"), std::string::npos) << "values never appear in the problem";
  EXPECT_EQ(master_.Stat("requests"), 1);
  // The stored answer is untouched.
  auto replay = PostJson(writ_.port(), "/orders", "k1", R"({"amount":10,"card":"4111-secret"})");
  EXPECT_EQ(replay.status, 201);
  EXPECT_NE(replay.body.find("\"amount\":10"), std::string::npos);
}

TEST_F(SyncTest, InFlightKeyIs409WithRetryAfter) {
  StartPair({"--latency", "600ms"});
  std::thread first([&] { EXPECT_EQ(PostJson(writ_.port(), "/orders", "slow", R"({"a":1})").status, 201); });
  ASSERT_TRUE(Eventually([&] { return CountKeys(writ_.db_path()).in_flight == 1; }));
  auto r = PostJson(writ_.port(), "/orders", "slow", R"({"a":1})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ProblemType(r), "idempotency-key-in-flight");
  EXPECT_EQ(*FindHeader(r.headers, "Retry-After"), "1");
  first.join();
  EXPECT_EQ(master_.Stat("requests"), 1);
}

TEST_F(SyncTest, ConcurrentWaitReturnsTheFirstResult) {
  RouteOptions route;
  route.idempotency = "concurrent: wait\nwait_timeout: 5s";
  StartPair({"--latency", "400ms"}, {route});
  std::string first_body;
  std::thread first([&] { first_body = PostJson(writ_.port(), "/orders", "w", R"({"a":1})").body; });
  ASSERT_TRUE(Eventually([&] { return CountKeys(writ_.db_path()).in_flight == 1; }));
  auto r = PostJson(writ_.port(), "/orders", "w", R"({"a":1})");
  first.join();
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, first_body);
  EXPECT_EQ(*FindHeader(r.headers, "Idempotent-Replayed"), "true");
  EXPECT_EQ(master_.Stat("requests"), 1);
}

TEST_F(SyncTest, ConcurrentWaitIsBoundedByWaitTimeout) {
  RouteOptions route;
  route.idempotency = "concurrent: wait\nwait_timeout: 300ms";
  StartPair({"--latency", "1500ms"}, {route});
  std::thread first([&] { EXPECT_EQ(PostJson(writ_.port(), "/orders", "w2", R"({"a":1})").status, 201); });
  ASSERT_TRUE(Eventually([&] { return CountKeys(writ_.db_path()).in_flight == 1; }));
  auto t0 = std::chrono::steady_clock::now();
  auto r = PostJson(writ_.port(), "/orders", "w2", R"({"a":1})");
  auto waited = std::chrono::steady_clock::now() - t0;
  first.join();
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ProblemType(r), "idempotency-key-in-flight");
  EXPECT_GE(waited, std::chrono::milliseconds(250)) << "it waited";
  EXPECT_LT(waited, std::chrono::milliseconds(1400)) << "but not for the whole first request";
  EXPECT_EQ(master_.Stat("requests"), 1);
}

TEST_F(SyncTest, ThirtyTwoConcurrentIdenticalRequestsMakeOneUpstreamCall) {
  StartPair({"--latency", "50ms"});
  std::atomic<int> created{0}, replayed{0}, conflicts{0}, other{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 32; ++i) {
    clients.emplace_back([&] {
      auto r = PostJson(writ_.port(), "/orders", "burst", R"({"amount":5})");
      if (r.status == 201 && FindHeader(r.headers, "Idempotent-Replayed")) ++replayed;
      else if (r.status == 201) ++created;
      else if (r.status == 409) ++conflicts;
      else ++other;
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(created, 1);
  EXPECT_EQ(replayed + conflicts, 31);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(master_.Stat("requests"), 1);
  EXPECT_EQ(master_.Stat("applied"), 1);
}

TEST_F(SyncTest, TransientMasterErrorIsNotStoredAndRetryGoesThrough) {
  StartPair({"--error-rate", "1"});
  auto r = PostJson(writ_.port(), "/orders", "t1", R"({"a":1})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(ProblemType(r), "upstream-overloaded");
  EXPECT_TRUE(FindHeader(r.headers, "Retry-After"));
  EXPECT_EQ(ParseBody(r).as_object().at("upstreamStatus").as_int64(), 503);
  auto counts = CountKeys(writ_.db_path());
  EXPECT_EQ(counts.completed + counts.in_flight + counts.unknown, 0) << "a transient answer is never final";
  uint16_t port = master_.port();
  master_.Stop();
  master_.Start(dir_.path(), {}, port);
  EXPECT_EQ(PostJson(writ_.port(), "/orders", "t1", R"({"a":1})").status, 201);
  EXPECT_EQ(master_.Stat("applied"), 1);
}

TEST_F(SyncTest, DeterministicMasterRejectionIsStoredAndReplayed) {
  StartPair();
  auto r = PostJson(writ_.port(), "/orders", "bad", R"({"invalid":true})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(ProblemType(r), "validation-failed");
  auto again = PostJson(writ_.port(), "/orders", "bad", R"({"invalid":true})");
  EXPECT_EQ(again.status, 422);
  EXPECT_EQ(again.body, r.body);
  EXPECT_EQ(*FindHeader(again.headers, "Idempotent-Replayed"), "true");
  EXPECT_EQ(master_.Stat("requests"), 1);
}

TEST_F(SyncTest, OptionalKeyRouteProxiesWithoutKeyAndSubstitutesParams) {
  RouteOptions put;
  put.method = "PUT";
  put.path = "/orders/{id}";
  put.idempotency = "required: false";
  StartPair({}, {put});
  auto r = Call(writ_.port(), "PUT", "/orders/42?source=test", R"({"state":"paid"})",
                {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 201);
  EXPECT_NE(r.body.find("\"id\":\"42\""), std::string::npos);
  auto counts = CountKeys(writ_.db_path());
  EXPECT_EQ(counts.completed, 0) << "no key, no record";
  auto keyed = Call(writ_.port(), "PUT", "/orders/42", R"({"state":"shipped"})",
                    {{"Content-Type", "application/json"}, {"Idempotency-Key", "p1"}});
  EXPECT_EQ(keyed.status, 200);
  EXPECT_EQ(CountKeys(writ_.db_path()).completed, 1);
}

TEST_F(SyncTest, IdleKeepAliveConnectionIsClosed) {
  writ_.set_server_extra("idle_timeout: 300ms");
  StartPair();
  std::string body = "{}";
  auto t0 = std::chrono::steady_clock::now();
  auto r = RawRequest(writ_.port(),
                      "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Idempotency-Key: idle\r\nContent-Length: 2\r\n\r\n" + body,
                      5'000);
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 201) << r.response;
  EXPECT_TRUE(r.closed) << "the idle keep-alive connection is closed by the server";
  EXPECT_LT(waited, std::chrono::seconds(3));
}

TEST_F(SyncTest, ForwardsAndKeepsOnlyConfiguredHeaders) {
  RouteOptions with, without;
  with.extra = "forward_headers: [Authorization]\nresponse_headers: [X-Authorization-Seen]";
  without.path = "/plain";
  without.extra = "upstream_path: /orders";
  StartPair({}, {with, without});
  Headers h = {{"Content-Type", "application/json"}, {"Idempotency-Key", "h1"}, {"Authorization", "Bearer t"}};
  auto r = Call(writ_.port(), "POST", "/orders", "{}", h);
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(FindHeader(r.headers, "X-Authorization-Seen").value_or(""), "yes");
  auto replay = Call(writ_.port(), "POST", "/orders", "{}", h);
  EXPECT_EQ(FindHeader(replay.headers, "X-Authorization-Seen").value_or(""), "yes") << "kept headers are replayed";
  auto plain = Call(writ_.port(), "POST", "/plain", "{}", h);
  ASSERT_EQ(plain.status, 201);
  EXPECT_FALSE(FindHeader(plain.headers, "X-Authorization-Seen")) << "Authorization is not forwarded unless configured";
}

TEST_F(SyncTest, LimitsAndUnknownRoutes) {
  RouteOptions small;
  small.extra = "max_body: 64";
  StartPair({}, {small});
  auto big = PostJson(writ_.port(), "/orders", "big", "{\"pad\":\"" + std::string(200, 'x') + "\"}");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(ProblemType(big), "body-too-large");
  auto none = PostJson(writ_.port(), "/nowhere", "k", "{}");
  EXPECT_EQ(none.status, 404);
  auto get = Call(writ_.port(), "GET", "/orders");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(*FindHeader(get.headers, "Allow"), "POST");
  Headers many = {{"Content-Type", "application/json"}, {"Idempotency-Key", "h"}};
  for (int i = 0; i < 120; ++i) many.emplace_back("X-Pad-" + std::to_string(i), "1");
  EXPECT_EQ(Call(writ_.port(), "POST", "/orders", "{}", many).status, 431);
  Headers huge = {{"Content-Type", "application/json"}, {"X-Huge", std::string(20'000, 'h')}};
  EXPECT_EQ(Call(writ_.port(), "POST", "/orders", "{}", huge).status, 431);
  auto counts = CountKeys(writ_.db_path());
  EXPECT_EQ(counts.completed + counts.in_flight + counts.unknown, 0);
  EXPECT_EQ(master_.Stat("requests"), 0);
  // Still serving normal clients.
  EXPECT_EQ(PostJson(writ_.port(), "/orders", "ok", "{}").status, 201);
}

TEST_F(SyncTest, SlowClientIsCutOffAtTheHeaderTimeout) {
  writ_.set_server_extra("header_timeout: 300ms");
  StartPair();
  auto t0 = std::chrono::steady_clock::now();
  auto r = RawRequest(writ_.port(), "POST /orders HTTP/1.1\r\nHost: x\r\nIdempotency-Key: slow", 5'000);
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(r.closed) << "the server closes the connection";
  EXPECT_EQ(r.status, 0) << r.response;
  EXPECT_LT(waited, std::chrono::seconds(3));
  // Normal clients are served throughout.
  EXPECT_EQ(PostJson(writ_.port(), "/orders", "fast", "{}").status, 201);
  EXPECT_EQ(CountKeys(writ_.db_path()).completed, 1);
}

// Key semantics found missing by independent idempotency suites
// (express-idempotency, AWS Powertools, the IETF draft's cases).
TEST_F(SyncTest, TheQueryStringIsPartOfTheRequestUnderAKey) {
  StartPair();
  ASSERT_EQ(PostJson(writ_.port(), "/orders?dryRun=true", "q1", R"({"a":1})").status, 201);
  auto other = PostJson(writ_.port(), "/orders?dryRun=false", "q1", R"({"a":1})");
  ASSERT_EQ(other.status, 422) << other.body;
  EXPECT_EQ(ProblemType(other), "idempotency-key-reused");
  EXPECT_EQ(ParseBody(other).as_object().at("differs").as_array(), (boost::json::array{"query"}));
  auto none = PostJson(writ_.port(), "/orders", "q1", R"({"a":1})");
  EXPECT_EQ(none.status, 422) << "no query is not the same request as ?dryRun=true";
  // Parameters in another order are the same request (names sorted, values as sent).
  ASSERT_EQ(PostJson(writ_.port(), "/orders?b=2&a=1&a=0", "q2", R"({"a":1})").status, 201);
  auto reordered = PostJson(writ_.port(), "/orders?a=1&a=0&b=2", "q2", R"({"a":1})");
  EXPECT_EQ(reordered.status, 201);
  EXPECT_TRUE(FindHeader(reordered.headers, "Idempotent-Replayed"));
  EXPECT_EQ(PostJson(writ_.port(), "/orders?a=0&a=1&b=2", "q2", R"({"a":1})").status, 422)
      << "the order of a repeated name's values is kept";
  EXPECT_EQ(master_.Stat("requests"), 2);
}

TEST_F(SyncTest, AKeyWithACommaOutsideQuotesIsAListAndRefused) {
  StartPair();
  for (const char* key : {"key,with,commas", "k1, k2", "\"k1\", \"k2\""}) {
    auto r = Call(writ_.port(), "POST", "/orders", R"({"a":1})",
                  {{"Content-Type", "application/json"}, {"Idempotency-Key", key}});
    EXPECT_EQ(r.status, 400) << key;
    EXPECT_EQ(ProblemType(r), "idempotency-key-invalid") << key;
    EXPECT_NE(r.body.find("list of keys"), std::string::npos) << r.body;
  }
  EXPECT_EQ(master_.Stat("requests"), 0);
  // Inside an sf-string a comma is just a character.
  EXPECT_EQ(PostJson(writ_.port(), "/orders", "\"a,b\"", R"({"a":1})").status, 201);
}

TEST_F(SyncTest, AnUnstoredMasterAnswerReachesTheClientAsItWas) {
  RouteOptions strict;
  strict.idempotency = "final_statuses: [2xx]";
  StartPair({}, {strict});
  auto r = PostJson(writ_.port(), "/orders", "u1", R"({"invalid":true})");
  ASSERT_EQ(r.status, 422) << "the master's own answer, not a 502";
  EXPECT_EQ(ProblemType(r), "validation-failed");
  EXPECT_EQ(*FindHeader(r.headers, "Writ-Answer-Stored"), "false");
  EXPECT_FALSE(FindHeader(r.headers, "Idempotent-Replayed"));
  auto counts = CountKeys(writ_.db_path());
  EXPECT_EQ(counts.completed + counts.in_flight + counts.unknown, 0) << "not final: nothing stored";
  // A retry under the same key goes to the master again.
  EXPECT_EQ(PostJson(writ_.port(), "/orders", "u1", R"({"invalid":true})").status, 422);
  EXPECT_EQ(master_.Stat("requests"), 2);
  // Final answers are stored as before, without the marker.
  auto ok = PostJson(writ_.port(), "/orders", "u2", R"({"a":1})");
  EXPECT_EQ(ok.status, 201);
  EXPECT_FALSE(FindHeader(ok.headers, "Writ-Answer-Stored"));
}

TEST_F(SyncTest, RetentionIsADeadlineAndAReusedKeyIsANewKeyAtTheMaster) {
  RouteOptions short_lived;
  short_lived.idempotency = "retention: 1s";
  writ_.set_store_extra("gc_interval: 1h");  // expired but not yet swept
  StartPair({"--honor-idempotency-key"}, {short_lived});
  auto first = PostJson(writ_.port(), "/orders", "r1", R"({"amount":10})");
  ASSERT_EQ(first.status, 201);
  EXPECT_TRUE(FindHeader(PostJson(writ_.port(), "/orders", "r1", R"({"amount":10})").headers, "Idempotent-Replayed"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  // Past retention the record is absent, swept or not: the same key is a new
  // request, and the master sees a new derived key (not its old record).
  auto reused = PostJson(writ_.port(), "/orders", "r1", R"({"amount":99})");
  ASSERT_EQ(reused.status, 201) << reused.body;
  EXPECT_FALSE(FindHeader(reused.headers, "Idempotent-Replayed"));
  EXPECT_NE(reused.body.find("\"amount\":99"), std::string::npos) << reused.body;
  EXPECT_NE(reused.body, first.body);
  EXPECT_EQ(master_.Stat("applied"), 2);
  EXPECT_EQ(master_.Stat("keyReplays"), 0);
  // The new record replays as usual.
  auto again = PostJson(writ_.port(), "/orders", "r1", R"({"amount":99})");
  EXPECT_EQ(again.body, reused.body);
  EXPECT_TRUE(FindHeader(again.headers, "Idempotent-Replayed"));
  EXPECT_EQ(CountKeys(writ_.db_path()).completed, 1);
}

}  // namespace
}  // namespace writ::testing
