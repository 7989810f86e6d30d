// Pure parts of async mode: the retry policy, Retry-After parsing, webhook
// signatures (the Standard Webhooks spec's own example) and JSON Schema
// violations as pointers.
#include <gtest/gtest.h>

#include "core/json.h"
#include "outbox/webhook.h"
#include "queue/worker.h"
#include "patterns/validate/schema.h"

namespace writ {
namespace {

TEST(Backoff, FullJitterUnderADoublingCapAndNeverBelowRetryAfter) {
  QueueConfig p;
  p.backoff_base = 100;
  p.backoff_max = 1'000;
  EXPECT_EQ(BackoffDelay(p, 1, 0, 0.999), 99);
  EXPECT_EQ(BackoffDelay(p, 2, 0, 0.999), 199);
  EXPECT_EQ(BackoffDelay(p, 3, 0, 0.999), 399);
  EXPECT_EQ(BackoffDelay(p, 5, 0, 0.999), 999) << "capped at backoff_max";
  EXPECT_EQ(BackoffDelay(p, 40, 0, 0.5), 500);
  EXPECT_EQ(BackoffDelay(p, 3, 0, 0.0), 0) << "full jitter starts at zero";
  EXPECT_EQ(BackoffDelay(p, 1, 5'000, 0.5), 5'000) << "Retry-After is a floor";
}

TEST(Backoff, RetryAfterAsSecondsOrHttpDate) {
  EXPECT_EQ(ParseRetryAfter({{"Retry-After", "3"}}, 0), 3'000);
  EXPECT_EQ(ParseRetryAfter({}, 0), 0);
  EXPECT_EQ(ParseRetryAfter({{"Retry-After", "soon"}}, 0), 0);
  EXPECT_EQ(ParseRetryAfter({{"Retry-After", "99999999999"}}, 0), 0) << "absurd values are ignored";
  // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 s.
  EXPECT_EQ(ParseRetryAfter({{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}}, 1'445'412'470'000), 10'000);
  EXPECT_EQ(ParseRetryAfter({{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}}, 1'445'412'490'000), 0);
}

TEST(Webhook, SignatureMatchesTheStandardWebhooksExample) {
  EXPECT_EQ(SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                        R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  EXPECT_EQ(Base64Decode(Base64Encode("any bytes\x01\x02")), "any bytes\x01\x02");
  EXPECT_EQ(WebhookKey("plain-secret"), "plain-secret");
}

TEST(Schema, ViolationsNamePointersAndReasons) {
  auto s = CompileJsonSchema(R"({"type":"object","required":["a"],
      "properties":{"a":{"type":"integer"},"items":{"type":"array","items":{"type":"string"}}}})",
                             "test.json");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE((*s)->Validate(*ParseJsonStrict(R"({"a":1,"items":["x"]})")).empty());
  auto v = (*s)->Validate(*ParseJsonStrict(R"({"a":"one","items":["x",2]})"));
  std::vector<std::string> pointers;
  for (auto& x : v) pointers.push_back(x.pointer);
  EXPECT_NE(std::find(pointers.begin(), pointers.end(), "/a"), pointers.end());
  EXPECT_NE(std::find(pointers.begin(), pointers.end(), "/items/1"), pointers.end());
  auto missing = (*s)->Validate(*ParseJsonStrict(R"({})"));
  ASSERT_FALSE(missing.empty());
  EXPECT_NE(missing[0].reason.find("a"), std::string::npos);
}

TEST(Schema, BadSchemasAreRefusedWithTheFileName) {
  auto not_json = CompileJsonSchema("{", "s.json");
  ASSERT_FALSE(not_json.ok());
  EXPECT_NE(not_json.status().message().find("s.json"), std::string::npos);
  EXPECT_FALSE(CompileJsonSchema("[]", "s.json").ok());
  EXPECT_FALSE(CompileJsonSchema(R"({"type":12})", "s.json").ok());
  EXPECT_FALSE(LoadJsonSchema("/nonexistent/schema.json").ok());
}

}  // namespace
}  // namespace writ
