// Pure parts of buffered mode: the rate limiter (with a fake clock), batch
// splitting, the bulk request and the reading of per-item results, and the
// producer headers.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/rate_limiter.h"
#include "patterns/bulk/batch.h"
#include "patterns/bulk/buffered_route.h"
#include "patterns/bulk/bulk_codec.h"

namespace writ {
namespace {

TEST(RateLimiter, GrantsTheBurstThenTheRateAndNeverMore) {
  FakeClock clock;
  RateLimiter l(100, 10, clock);
  EXPECT_EQ(l.Take(50), 10) << "the bucket starts full: the burst";
  EXPECT_EQ(l.Take(1), 0);
  EXPECT_EQ(l.WaitFor(5), 50) << "5 tokens at 100/s";
  clock.Advance(50);
  EXPECT_EQ(l.Take(50), 5);
  clock.Advance(10'000);
  EXPECT_EQ(l.Take(50), 10) << "tokens never exceed the burst";
  l.Return(4);
  EXPECT_EQ(l.Take(50), 4) << "returned tokens can be taken again";
  // Over a simulated minute, at most rate * t + burst items are granted.
  int granted = 0;
  for (int ms = 0; ms < 60'000; ms += 7) {
    clock.Advance(7);
    granted += l.Take(3);
  }
  EXPECT_LE(granted, 100 * 60 + 10);
  EXPECT_GE(granted, 100 * 60 - 10);
}

TEST(RateLimiter, HalvesOnThrottleOncePerSpacingAndRecoversAdditively) {
  FakeClock clock;
  RateLimiter l(200, 20, clock);
  l.OnThrottled();
  EXPECT_DOUBLE_EQ(l.current_rate(), 100);
  l.OnThrottled();  // the same burst of refusals: counted once
  EXPECT_DOUBLE_EQ(l.current_rate(), 100);
  clock.Advance(RateLimiter::kDecreaseSpacing);
  l.OnThrottled();
  EXPECT_DOUBLE_EQ(l.current_rate(), 50);
  for (int i = 0; i < 20; ++i) {
    clock.Advance(RateLimiter::kDecreaseSpacing);
    l.OnThrottled();
  }
  EXPECT_DOUBLE_EQ(l.current_rate(), 200.0 / 64) << "never below rate/64";
  for (int i = 0; i < 100; ++i) l.OnAccepted();
  EXPECT_DOUBLE_EQ(l.current_rate(), 200) << "recovers to, never above, the configured rate";
  RateLimiter unlimited(0, 1, clock);
  EXPECT_EQ(unlimited.Take(1'000), 1'000);
  EXPECT_EQ(unlimited.WaitFor(1'000), 0);
}

TEST(Batch, NdjsonSkipsBlankLinesAndJudgesEachItem) {
  auto items = SplitBatch("{\"a\":1}\r\n\n  \n{bad\n[1,2]\n\"s\"", BatchFormat::kNdjson, 10);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 4u);
  EXPECT_EQ((*items)[0].position, 0);
  EXPECT_EQ((*items)[0].text, "{\"a\":1}");
  EXPECT_TRUE((*items)[0].error.empty());
  EXPECT_EQ((*items)[1].position, 1);
  EXPECT_FALSE((*items)[1].error.empty());
  EXPECT_TRUE((*items)[2].value.is_array());
  EXPECT_TRUE((*items)[3].value.is_string());
  auto many = SplitBatch("1\n2\n3\n", BatchFormat::kNdjson, 2);
  EXPECT_EQ(many.status().code(), Code::kResourceExhausted);
  auto dup = SplitBatch("{\"a\":1,\"a\":2}\n", BatchFormat::kNdjson, 2);
  ASSERT_TRUE(dup.ok());
  EXPECT_FALSE((*dup)[0].error.empty()) << "items are parsed as strictly as any body";
}

TEST(Batch, JsonArrayFraming) {
  auto items = SplitBatch("[{\"a\":1}, {\"b\":[2]}]", BatchFormat::kJsonArray, 10);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[1].text, "{\"b\":[2]}");
  EXPECT_EQ(SplitBatch("{\"a\":1}", BatchFormat::kJsonArray, 10).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SplitBatch("[1,", BatchFormat::kJsonArray, 10).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SplitBatch("[1,2,3]", BatchFormat::kJsonArray, 2).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(BatchFormatFor("application/x-ndjson; charset=utf-8"), BatchFormat::kNdjson);
  EXPECT_EQ(BatchFormatFor("Application/JSON"), BatchFormat::kJsonArray);
  EXPECT_FALSE(BatchFormatFor("text/csv").has_value());
}

Command Item(const std::string& key, const std::string& body) {
  Command c;
  c.target = "/products/_bulk";
  c.headers = {{"Content-Type", "application/json"}};
  c.upstream_key = key;
  c.body = body;
  return c;
}

TEST(BulkCodec, EncodesItemsWithKeysAndAStableBatchKey) {
  RouteConfig route;
  BufferedConfig buffered;
  JsonBulkCodec codec(route, buffered);
  std::vector<Command> items = {Item("k1", "{\"sku\":\"a\"}"), Item("k\"2", "[1]")};
  auto u = codec.Encode(items);
  EXPECT_EQ(u.method, "POST");
  EXPECT_EQ(u.target, "/products/_bulk");
  auto body = boost::json::parse(u.body);
  EXPECT_EQ(boost::json::serialize(body),
            R"({"items":[{"key":"k1","body":{"sku":"a"}},{"key":"k\"2","body":[1]}]})");
  EXPECT_EQ(codec.Encode(items).headers, u.headers) << "the same items: the same batch key";
  items.pop_back();
  EXPECT_NE(codec.Encode(items).headers, u.headers);
}

UpstreamResult Answer(int status, const std::string& body) {
  UpstreamResult r;
  r.response.status = status;
  r.response.body = body;
  return r;
}

TEST(BulkCodec, SplitsPerItemResultsAndTreatsAMissingOneAsUnknown) {
  RouteConfig route;
  BufferedConfig buffered;
  JsonBulkCodec codec(route, buffered);
  auto out = codec.Decode(Answer(200, R"({"results":[{"status":201,"id":"p1"},{"status":422},{"oops":1}]})"), 4);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].response.status, 201);
  EXPECT_NE(out[0].response.body.find("p1"), std::string::npos);
  EXPECT_EQ(out[1].response.status, 422);
  EXPECT_EQ(out[2].error, UpstreamError::kBrokenAnswer) << "no status for the item: unknown";
  EXPECT_EQ(out[3].error, UpstreamError::kBrokenAnswer) << "fewer results than items: unknown";
  // A non-2xx answer applies to every item as it is.
  auto refused = codec.Decode(Answer(429, "slow down"), 3);
  for (const auto& r : refused) EXPECT_EQ(r.response.status, 429);
  for (const auto& r : codec.Decode(Answer(200, "not json"), 2)) EXPECT_EQ(r.error, UpstreamError::kBrokenAnswer);
  buffered.results = "/data/out";
  buffered.item_status = "/code";
  JsonBulkCodec custom_codec(route, buffered);
  auto custom = custom_codec.Decode(Answer(200, R"({"data":{"out":[{"code":200}]}})"), 1);
  EXPECT_EQ(custom[0].response.status, 200) << "pointers come from the route's config";
}

TEST(ProducerHeaders, BothOrNeitherAndWellFormed) {
  EXPECT_TRUE(ParseProducerHeaders({}).error.empty());
  auto ok = ParseProducerHeaders({{"Producer-Id", "loader-1"}, {"Producer-Seq", "42"}});
  EXPECT_EQ(ok.id, "loader-1");
  EXPECT_EQ(ok.seq, 42);
  EXPECT_FALSE(ParseProducerHeaders({{"Producer-Id", "a"}}).error.empty());
  EXPECT_FALSE(ParseProducerHeaders({{"Producer-Seq", "1"}}).error.empty());
  EXPECT_FALSE(ParseProducerHeaders({{"Producer-Id", "a b"}, {"Producer-Seq", "1"}}).error.empty());
  EXPECT_FALSE(ParseProducerHeaders({{"Producer-Id", "a"}, {"Producer-Seq", "1x"}}).error.empty());
  EXPECT_FALSE(ParseProducerHeaders({{"Producer-Id", "a"}, {"Producer-Seq", "9999999999999999"}}).error.empty());
  EXPECT_FALSE(
      ParseProducerHeaders({{"Producer-Id", "a"}, {"Producer-Id", "b"}, {"Producer-Seq", "1"}}).error.empty());
}

}  // namespace
}  // namespace writ
