// Unit tests for the pure parts: idempotency keys, fingerprints, units,
// canonical JSON, outcome classification, router, metrics.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "config/config.h"
#include "core/api_key.h"
#include "core/endpoint.h"
#include "core/hash.h"
#include "core/redact.h"
#include "gateway/auth.h"
#include "core/json.h"
#include "core/units.h"
#include "gateway/router.h"
#include "metrics/metrics.h"
#include "patterns/idempotency/fingerprint.h"
#include "patterns/idempotency/key.h"
#include "upstream/outcome.h"

namespace writ {
namespace {

TEST(IdempotencyKey, AcceptsTokenAndSfString) {
  EXPECT_EQ(*ParseIdempotencyKey("abc-123"), "abc-123");
  EXPECT_EQ(*ParseIdempotencyKey("\"8e03978e-40d5-43e8\""), "8e03978e-40d5-43e8");
  EXPECT_EQ(*ParseIdempotencyKey("  spaced  "), "spaced");
  EXPECT_EQ(*ParseIdempotencyKey("\"with \\\"quote\\\"\""), "with \"quote\"");
  EXPECT_EQ(*ParseIdempotencyKey("'; DROP TABLE idem_keys; --"), "'; DROP TABLE idem_keys; --");
  EXPECT_EQ(ParseIdempotencyKey(std::string(255, 'k'))->size(), 255u);
}

TEST(IdempotencyKey, RejectsBadKeys) {
  EXPECT_FALSE(ParseIdempotencyKey("").ok());
  EXPECT_FALSE(ParseIdempotencyKey("\"\"").ok());
  EXPECT_FALSE(ParseIdempotencyKey(std::string(256, 'k')).ok());
  EXPECT_FALSE(ParseIdempotencyKey("a\x01" "b").ok());
  EXPECT_FALSE(ParseIdempotencyKey("caf\xc3\xa9").ok());
  EXPECT_FALSE(ParseIdempotencyKey("\"unterminated").ok());
  EXPECT_FALSE(ParseIdempotencyKey("\"bad\\escape\"").ok());
  // A comma outside quotes separates list members: two keys, not one.
  EXPECT_FALSE(ParseIdempotencyKey("key,with,commas").ok());
  EXPECT_FALSE(ParseIdempotencyKey("\"k1\", \"k2\"").ok());
  EXPECT_EQ(*ParseIdempotencyKey("\"a,b\""), "a,b") << "inside an sf-string a comma is a character";
}

TEST(IdempotencyKey, DerivedKeyIsStableAndScoped) {
  auto a = DeriveUpstreamKey("default", "POST /orders", "k1");
  EXPECT_EQ(a, DeriveUpstreamKey("default", "POST /orders", "k1"));
  EXPECT_NE(a, DeriveUpstreamKey("default", "POST /payments", "k1"));
  EXPECT_NE(a, DeriveUpstreamKey("other", "POST /orders", "k1"));
  EXPECT_NE(a, DeriveUpstreamKey("default", "POST /orders", "k2"));
  EXPECT_EQ(a.rfind("writ-", 0), 0u);
  // A generation makes a new record's key new; "" keeps the key of records
  // stored before generations existed.
  EXPECT_EQ(a, DeriveUpstreamKey("default", "POST /orders", "k1", ""));
  EXPECT_NE(a, DeriveUpstreamKey("default", "POST /orders", "k1", "0a1b"));
  EXPECT_EQ(DeriveUpstreamKey("default", "POST /orders", "k1", "0a1b"),
            DeriveUpstreamKey("default", "POST /orders", "k1", "0a1b"));
}

TEST(Fingerprint, TheQueryCountsInCanonicalOrder) {
  EXPECT_EQ(CanonicalQuery("b=2&a=1&a=0"), "a=1&a=0&b=2");
  EXPECT_EQ(CanonicalQuery("&x&&y=&"), "x&y=");
  EXPECT_EQ(CanonicalQuery(""), "");
  auto fp = [](const char* q, FingerprintMode m) {
    return ComputeFingerprint("POST", "/orders", q, "{}", m, {})->digest;
  };
  EXPECT_EQ(fp("", FingerprintMode::kJson), ComputeFingerprint("POST", "/orders", "", "{}", FingerprintMode::kJson, {})->digest);
  EXPECT_NE(fp("dryRun=true", FingerprintMode::kJson), fp("dryRun=false", FingerprintMode::kJson));
  EXPECT_NE(fp("dryRun=true", FingerprintMode::kJson), fp("", FingerprintMode::kJson));
  EXPECT_EQ(fp("b=2&a=1", FingerprintMode::kJson), fp("a=1&b=2", FingerprintMode::kJson));
  EXPECT_NE(fp("b=2&a=1", FingerprintMode::kRaw), fp("a=1&b=2", FingerprintMode::kRaw)) << "raw: the query as sent";
  auto a = ComputeFingerprint("POST", "/orders", "dryRun=true", "{}", FingerprintMode::kJson, {});
  auto b = ComputeFingerprint("POST", "/orders", "", "{}", FingerprintMode::kJson, {});
  EXPECT_EQ(DescribeMismatch(a->detail(), b->detail()), (std::vector<std::string>{"query"}));
}

TEST(Fingerprint, JsonIgnoresOrderWhitespaceAndIgnoredFields) {
  auto a = ComputeFingerprint("POST", "/orders", "", R"({"a":1,"b":{"c":[1,2]},"at":"x"})", FingerprintMode::kJson,
                              {"/at"});
  auto b = ComputeFingerprint("POST", "/orders", "", R"({ "b" : {"c":[1, 2]}, "a":1, "at":"y"})",
                              FingerprintMode::kJson, {"/at"});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->digest, b->digest);
  auto raw_a = ComputeFingerprint("POST", "/orders", "", R"({"a":1})", FingerprintMode::kRaw, {});
  auto raw_b = ComputeFingerprint("POST", "/orders", "", R"({ "a":1})", FingerprintMode::kRaw, {});
  EXPECT_NE(raw_a->digest, raw_b->digest);
}

TEST(Fingerprint, MismatchNamesPointersNeverValues) {
  auto a = ComputeFingerprint("POST", "/orders", "", R"({"amount":10,"card":{"number":"4111"},"n":[1]})",
                              FingerprintMode::kJson, {});
  auto b = ComputeFingerprint("POST", "/orders", "", R"({"amount":11,"card":{"number":"4111"},"n":[1,2]})",
                              FingerprintMode::kJson, {});
  auto diff = DescribeMismatch(a->detail(), b->detail());
  EXPECT_EQ(diff, (std::vector<std::string>{"/amount", "/n/1"}));
  EXPECT_EQ(a->detail().find("4111"), std::string::npos) << "values must never be stored in the detail";
  auto c = ComputeFingerprint("PUT", "/orders/2", "", R"({"amount":10,"card":{"number":"4111"},"n":[1]})",
                              FingerprintMode::kJson, {});
  EXPECT_EQ(DescribeMismatch(a->detail(), c->detail()), (std::vector<std::string>{"method", "path"}));
}

TEST(Fingerprint, RejectsInvalidJson) {
  EXPECT_FALSE(ComputeFingerprint("POST", "/o", "", "{\"a\":", FingerprintMode::kJson, {}).ok());
  EXPECT_FALSE(ComputeFingerprint("POST", "/o", "", "{} trailing", FingerprintMode::kJson, {}).ok());
  EXPECT_FALSE(ComputeFingerprint("POST", "/o", "", "\"\xff\"", FingerprintMode::kJson, {}).ok());
  std::string deep(65, '[');
  deep += std::string(65, ']');
  EXPECT_FALSE(ComputeFingerprint("POST", "/o", "", deep, FingerprintMode::kJson, {}).ok());
  EXPECT_TRUE(ComputeFingerprint("POST", "/o", "", "not json", FingerprintMode::kRaw, {}).ok());
  EXPECT_FALSE(ComputeFingerprint("POST", "/o", "", R"({"a":1,"a":2})", FingerprintMode::kJson, {}).ok());
  EXPECT_FALSE(ComputeFingerprint("POST", "/o", "", R"({"x":{"a":1,"b":{},"a":2}})", FingerprintMode::kJson, {}).ok());
  EXPECT_TRUE(ComputeFingerprint("POST", "/o", "", R"({"a":{"a":1},"b":[{"a":1},{"a":2}]})", FingerprintMode::kJson, {})
                  .ok()) << "the same name at different levels or in sibling objects is fine";
  EXPECT_FALSE(ComputeFingerprint("POST", "/o", "", R"("\ud800")", FingerprintMode::kJson, {}).ok());
}

TEST(ApiKey, OnlyTheExactShapeParsesAndEachKeyIsNew) {
  auto k = NewApiKey();
  ASSERT_TRUE(k.has_value());
  std::string token = FormatApiKey(*k);
  EXPECT_EQ(token.size(), 5u + 12 + 1 + 64);
  auto back = ParseApiKey(token);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->id, k->id);
  EXPECT_EQ(back->secret, k->secret);
  EXPECT_NE(FormatApiKey(*NewApiKey()), token);
  for (std::string bad : {std::string(""), std::string("writ_"), token.substr(1), token + "0", "WRIT" + token.substr(4),
                          token.substr(0, 17) + "-" + token.substr(18), token.substr(0, 20) + "G" + token.substr(21),
                          token.substr(0, 5) + "ABCDEF123456" + token.substr(17)})
    EXPECT_FALSE(ParseApiKey(bad).has_value()) << bad;
}

// The digest check compares whole strings in constant time: a digest that
// shares all but its last character, or is a prefix, never matches.
TEST(ApiKey, DigestsMatchOnlyWhole) {
  std::string d = ApiKeyDigest("pepper-0123456789", "secret");
  EXPECT_EQ(d.size(), 64u);
  EXPECT_EQ(d, ApiKeyDigest("pepper-0123456789", "secret"));
  EXPECT_NE(d, ApiKeyDigest("pepper-0123456780", "secret")) << "the pepper counts";
  EXPECT_TRUE(DigestsEqual(d, d));
  std::string last = d;
  last.back() = last.back() == '0' ? '1' : '0';
  EXPECT_FALSE(DigestsEqual(d, last));
  EXPECT_FALSE(DigestsEqual(d, d.substr(0, 63)));
  EXPECT_FALSE(DigestsEqual("", ""));
}

TEST(ApiKey, RolesParseAndPrint) {
  EXPECT_EQ(ParseRoles("client"), kRoleClient);
  EXPECT_EQ(ParseRoles("reader, operator"), kRoleReader | kRoleOperator);
  for (const char* bad : {"", "admin", "client,", "client,,reader"}) EXPECT_FALSE(ParseRoles(bad).has_value()) << bad;
  EXPECT_EQ(RolesToString(kRoleClient | kRoleOperator), "client,operator");
}

TEST(ApiEndpoint, APatternsBracesFitOneNonEmptySegment) {
  EXPECT_TRUE(PathFits("/v1/jobs", "/v1/jobs"));
  EXPECT_TRUE(PathFits("/v1/jobs/{id}", "/v1/jobs/job_1"));
  EXPECT_TRUE(PathFits("/v1/jobs/{id}/items", "/v1/jobs/job_1/items"));
  EXPECT_TRUE(PathFits("/v1/routes/{route}/pause", "/v1/routes/POST%20%2Fx/pause"));
  EXPECT_FALSE(PathFits("/v1/jobs/{id}", "/v1/jobs/"));
  EXPECT_FALSE(PathFits("/v1/jobs/{id}", "/v1/jobs//items"));
  EXPECT_FALSE(PathFits("/v1/jobs/{id}", "/v1/jobs/job_1/items"));
  EXPECT_FALSE(PathFits("/v1/jobs/{id}/items", "/v1/jobs/job_1"));
  EXPECT_FALSE(PathFits("/v1/jobs", "/v1/jobsx"));
  EXPECT_FALSE(PathFits("/healthz", "/healthz/"));
}

TEST(Redactor, ReplacesTheNamedFieldsAndNothingElse) {
  Redactor r({"/card/number", "/items/*/ssn", "/a~1b", "/list/1"});
  EXPECT_EQ(r.Text(R"({"card":{"number":"4111","exp":"12/30"},"items":[{"ssn":"1","n":1},{"n":2}],"a/b":"x",)"
                   R"("list":["keep","drop"],"ssn":"top-level is not named"})"),
            R"({"card":{"number":"[redacted]","exp":"12/30"},"items":[{"ssn":"[redacted]","n":1},{"n":2}],)"
            R"("a/b":"[redacted]","list":["keep","[redacted]"],"ssn":"top-level is not named"})");
  EXPECT_EQ(r.Text(R"({"card":"not an object"})"), R"({"card":"not an object"})") << "absent fields are no error";
  EXPECT_EQ(r.Text(R"({"card":{"number":{"deep":1}}})"), R"({"card":{"number":"[redacted]"}})") << "whole subtrees";
  EXPECT_EQ(r.Text("card=4111"), kRedactedText) << "a body that is not JSON is hidden whole";
  EXPECT_EQ(r.Text(""), "");
  EXPECT_EQ(Redactor().Text("card=4111"), "card=4111") << "no fields: nothing changes";
  EXPECT_TRUE(ValidRedactPointer("/items/*/ssn"));
  for (const char* bad : {"", "/", "card", "/a~2"}) EXPECT_FALSE(ValidRedactPointer(bad)) << bad;
}

TEST(Hash, Sha256MatchesKnownVectorsOnEveryCall) {
  // The digest context is reused per thread: the second call must not carry
  // state from the first.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }
}

TEST(Hash, RandomIdsNeverRepeatAcrossRefillsAndThreads) {
  // Ids come from a per-thread pool of random bytes refilled every 256 ids:
  // 3,000 ids per thread cross a dozen refills.
  constexpr int kPerThread = 3000;
  std::vector<std::string> a, b;
  std::thread t([&] { for (int i = 0; i < kPerThread; ++i) b.push_back(RandomId()); });
  for (int i = 0; i < kPerThread; ++i) a.push_back(RandomId());
  t.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 2u * kPerThread);
  for (const auto& id : a) {
    ASSERT_EQ(id.size(), 32u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
}

TEST(Units, DurationsAndSizes) {
  EXPECT_EQ(*ParseDuration("250ms"), 250);
  EXPECT_EQ(*ParseDuration("30s"), 30'000);
  EXPECT_EQ(*ParseDuration("24h"), 86'400'000);
  EXPECT_EQ(*ParseDuration("1.5s"), 1'500);
  EXPECT_FALSE(ParseDuration("30").has_value());
  EXPECT_FALSE(ParseDuration("abc").has_value());
  EXPECT_EQ(*ParseSize("1MiB"), 1024u * 1024);
  EXPECT_EQ(*ParseSize("512"), 512u);
  EXPECT_FALSE(ParseSize("1 parsec").has_value());
  EXPECT_EQ(FormatDuration(86'400'000), "24h");
  EXPECT_EQ(FormatDuration(1'500), "1500ms");
}

TEST(Outcome, ClassifiesUpstreamResults) {
  IdempotencyConfig idem;
  StatusSet& final_set = idem.final_statuses;
  final_set.include = {{200, 299}, {400, 499}};
  final_set.exclude = {408, 409, 429};
  UpstreamResult r;
  for (int s : {200, 201, 204, 400, 404, 422}) {
    r.response.status = s;
    EXPECT_EQ(Classify(r, idem), Outcome::kFinal) << s;
  }
  for (int s : {408, 409, 429, 500, 502, 503, 504}) {
    r.response.status = s;
    EXPECT_EQ(Classify(r, idem), Outcome::kTransient) << s;
  }
  // A park route's default: a 500/502/504 may follow the master's commit.
  idem.unknown_statuses.include = {{500, 500}, {502, 502}, {504, 504}};
  for (int s : {500, 502, 504}) {
    r.response.status = s;
    EXPECT_EQ(Classify(r, idem), Outcome::kUnknown) << s;
    EXPECT_EQ(UpstreamProblem(r, Outcome::kUnknown, true).status, 502);
    EXPECT_NE(UpstreamProblem(r, Outcome::kUnknown, true).body.find("answered " + std::to_string(s)),
              std::string::npos);
  }
  r.response.status = 503;
  EXPECT_EQ(Classify(r, idem), Outcome::kTransient) << "503 stays 'not applied' unless configured";
  r.error = UpstreamError::kNotSent;
  EXPECT_EQ(Classify(r, idem), Outcome::kNotSent);
  r.error = UpstreamError::kTimeout;
  EXPECT_EQ(Classify(r, idem), Outcome::kUnknown);
  EXPECT_EQ(UpstreamProblem(r, Outcome::kUnknown, false).status, 504);
  EXPECT_EQ(UpstreamProblem(r, Outcome::kUnknown, true).status, 502);
  r.error = UpstreamError::kNone;
  r.response.status = 429;
  auto p = UpstreamProblem(r, Outcome::kTransient, false);
  EXPECT_EQ(p.status, 503);
  EXPECT_TRUE(FindHeader(p.headers, "Retry-After").has_value());
}

TEST(Router, MatchesTemplatesAndReportsWrongMethod) {
  Router r;
  r.Add("POST", "/orders");
  r.Add("PUT", "/orders/{id}");
  auto m = r.Match("PUT", "/orders/42");
  ASSERT_EQ(m.kind, RouteMatch::kFound);
  EXPECT_EQ(m.index, 1u);
  EXPECT_EQ(m.params["id"], "42");
  EXPECT_EQ(r.Match("GET", "/orders").kind, RouteMatch::kWrongMethod);
  EXPECT_EQ(r.Match("GET", "/orders").allow, "POST");
  EXPECT_EQ(r.Match("POST", "/customers").kind, RouteMatch::kNoPath);
  EXPECT_EQ(r.Match("POST", "/orders/1/2").kind, RouteMatch::kNoPath);
}

TEST(Metrics, RendersPrometheusText) {
  Metrics m;
  m.GetCounter("writ_requests_total", "Requests", "route=\"a\"").Inc(3);
  m.GetHistogram("writ_upstream_seconds", "Latency", {0.1, 1}).Observe(0.5);
  auto text = m.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE writ_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("writ_requests_total{route=\"a\"} 3"), std::string::npos);
  EXPECT_NE(text.find("writ_upstream_seconds_bucket{le=\"0.1\"} 0"), std::string::npos);
  EXPECT_NE(text.find("writ_upstream_seconds_bucket{le=\"1\"} 1"), std::string::npos);
  EXPECT_NE(text.find("writ_upstream_seconds_count 1"), std::string::npos);
}

}  // namespace
}  // namespace writ

namespace writ {
namespace {

// Found by tests/fuzz/json_fuzz.cpp: Boost 1.81 converted this number one
// unit in the last place off, so its canonical text did not parse back to
// itself (and two spellings of one number could get two fingerprints).
TEST(Json, CanonicalNumbersAreAFixedPoint) {
  for (const char* text : {R"({"a":3333333333333333333333333333333333333333332})", R"([0.1,1e-7,2.5e300,-0.0])",
                           R"([123456789012345678901234567890.123456789])"}) {
    auto doc = ParseJsonStrict(text);
    ASSERT_TRUE(doc.ok()) << text;
    std::string canon = CanonicalJson(*doc);
    auto again = ParseJsonStrict(canon);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(CanonicalJson(*again), canon) << text;
  }
  EXPECT_FALSE(ParseJsonStrict(R"({"114":-253e10122})").ok()) << "no double holds it";
  EXPECT_TRUE(ParseJsonStrict("[1e-400]").ok()) << "underflow is zero";
  auto a = ParseJsonStrict("[3.3333333333333334E42]"), b = ParseJsonStrict("[3333333333333333333333333333333333333333332]");
  EXPECT_EQ(CanonicalJson(*a), CanonicalJson(*b)) << "one number, two spellings, one canonical text";
}

}  // namespace
}  // namespace writ
