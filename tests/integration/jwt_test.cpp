// Bearer JWTs (auth.jwt): tokens minted here with libjwt, as an identity
// provider would, against a running writ. What passes is a token signed
// with the configured algorithm and key, unexpired, of the issuer and for
// the audience; its tenant and roles claims act as an API key's would.
// Everything else is 401: alg none, key confusion, another key, expired,
// not yet valid, another issuer or audience, no tenant, a huge token.
#include <gtest/gtest.h>

#include <jwt.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <boost/json.hpp>

#include "testing/cluster.h"

namespace writ::testing {
namespace {

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// A token of `claims` (JSON) signed with `alg` and `key` (a secret, or a
// private key's PEM); alg none: unsigned.
std::string Mint(jwt_alg_t alg, const std::string& key, const std::string& claims) {
  jwt_t* j = nullptr;
  EXPECT_EQ(jwt_new(&j), 0);
  EXPECT_EQ(jwt_add_grants_json(j, claims.c_str()), 0) << claims;
  EXPECT_EQ(jwt_set_alg(j, alg, alg == JWT_ALG_NONE ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
                        alg == JWT_ALG_NONE ? 0 : static_cast<int>(key.size())),
            0);
  char* s = jwt_encode_str(j);
  std::string out = s ? s : "";
  free(s);
  jwt_free(j);
  return out;
}

int Sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

class JwtTest : public ::testing::Test {
 protected:
  // Claims of a good token, with the fields of `more` (JSON members, no
  // braces) added or put in their place.
  static std::string Claims(const std::string& more = "", int64_t exp_in = 300) {
    boost::json::object c{{"iss", "https://idp.example"}, {"aud", "writ"},     {"sub", "svc-checkout"},
                          {"tenant", "acme"},             {"roles", "client"}, {"exp", NowSeconds() + exp_in}};
    if (!more.empty()) {
      auto extra = boost::json::parse("{" + more + "}");
      for (const auto& [k, v] : extra.as_object()) c[k] = v;
    }
    return boost::json::serialize(c);
  }

  void StartWith(const std::string& jwt_yaml) {
    master_.Start(dir_.path());
    writ_.set_top_extra("auth:\n  jwt:\n    issuer: https://idp.example\n    audience: writ\n    clock_skew: 5s\n" +
                        jwt_yaml);
    RouteOptions payments;
    payments.path = "/payments";
    payments.mode = "async";
    writ_.Start(dir_.path(), master_.port(), {{}, payments});
  }
  Response Post(const std::string& token, const std::string& key) {
    return Call(writ_.port(), "POST", "/orders", R"({"a":1})",
                {{"Authorization", "Bearer " + token}, {"Idempotency-Key", key}, {"Content-Type", "application/json"}});
  }

  TempDir dir_;
  MockMasterProcess master_;
  WritProcess writ_;
};

TEST_F(JwtTest, OnlyTokensOfTheConfiguredKeyIssuerAndAudiencePass) {
  std::string d = dir_.path();
  ASSERT_EQ(Sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + d + "/rs.key"), 0);
  ASSERT_EQ(Sh("openssl pkey -in " + d + "/rs.key -pubout -out " + d + "/rs.pub"), 0);
  ASSERT_EQ(Sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + d + "/other.key"), 0);
  StartWith("    algorithm: RS256\n    public_key: " + d + "/rs.pub\n");
  std::string key = ReadFile(d + "/rs.key"), pub = ReadFile(d + "/rs.pub"), other = ReadFile(d + "/other.key");

  std::string good = Mint(JWT_ALG_RS256, key, Claims());
  EXPECT_EQ(Post(good, "k1").status, 201);
  EXPECT_EQ(Post(good, "k1").status, 201) << "the replay";
  EXPECT_EQ(master_.Stat("applied"), 1);
  auto mine = Call(writ_.port(), "GET", "/v1/submissions", "", {{"Authorization", "Bearer " + good}});
  EXPECT_EQ(mine.status, 200);
  std::string out;
  ASSERT_EQ(RunWrit({"keys", "list", "--config", writ_.config_path()}, &out), 0);
  EXPECT_NE(out.find("acme"), std::string::npos) << "stored under the token's tenant\n" << out;

  // Roles from the claim, as a string or an array; a token of every tenant never writes.
  std::string reader = Mint(JWT_ALG_RS256, key, Claims(R"("roles":["reader"])"));
  EXPECT_EQ(Post(reader, "k2").status, 403);
  EXPECT_EQ(Call(writ_.port(), "GET", "/v1/submissions", "", {{"Authorization", "Bearer " + reader}}).status, 200);
  EXPECT_EQ(Post(Mint(JWT_ALG_RS256, key, Claims(R"("tenant":"*","roles":"client,reader")")), "k3").status, 403);
  EXPECT_EQ(Post(Mint(JWT_ALG_RS256, key, Claims(R"("aud":["other","writ"])")), "k4").status, 201)
      << "an audience array that holds writ";
  EXPECT_EQ(Post(Mint(JWT_ALG_RS256, key, Claims("", -2)), "k5").status, 201) << "expired 2 s ago: within skew";

  // Every refusal is 401 invalid-credentials and names its reason in the log.
  std::string none = Mint(JWT_ALG_NONE, "", Claims());
  struct Bad {
    std::string what, token, reason;
  };
  std::vector<Bad> bad = {
      {"alg none", none, "signature not valid"},  // libjwt refuses an unsigned token when given a key
      {"alg none with a signature", none + "c2ln", "signature not valid"},
      {"HS256 keyed with the RS256 public key (key confusion)", Mint(JWT_ALG_HS256, pub, Claims()),
       "algorithm HS256 not allowed"},
      {"another key", Mint(JWT_ALG_RS256, other, Claims()), "signature not valid"},
      {"expired", Mint(JWT_ALG_RS256, key, Claims("", -60)), "expired"},
      {"not valid yet", Mint(JWT_ALG_RS256, key, Claims("\"nbf\":" + std::to_string(NowSeconds() + 60))),
       "not valid yet"},
      {"no exp", Mint(JWT_ALG_RS256, key, R"({"iss":"https://idp.example","aud":"writ","tenant":"acme","roles":"client"})"),
       "no exp claim"},
      {"another issuer", Mint(JWT_ALG_RS256, key, Claims(R"("iss":"https://evil.example")")), "issuer not accepted"},
      {"another audience", Mint(JWT_ALG_RS256, key, Claims(R"("aud":"billing")")), "audience not accepted"},
      {"no tenant", Mint(JWT_ALG_RS256, key, Claims(R"("tenant":"")")), "no tenant claim"},
      {"an unknown role", Mint(JWT_ALG_RS256, key, Claims(R"("roles":"admin")")), "names no known role"},
      {"huge", Mint(JWT_ALG_RS256, key, Claims("\"pad\":\"" + std::string(9000, 'x') + "\"")), "larger than 8 KiB"},
      {"garbage", "a.b.c", "signature not valid"},
      {"not base64url", "a.b+.c", "outside base64url"},
      {"an API key (auth.api_keys is off)", "writ_0123456789ab_" + std::string(64, 'a'), "not configured"},
  };
  int n = 0;
  for (const auto& b : bad) {
    auto r = Post(b.token, "bad" + std::to_string(n++));
    EXPECT_EQ(r.status, 401) << b.what << ": " << r.body;
    EXPECT_EQ(ProblemType(r), "invalid-credentials") << b.what;
    EXPECT_NE(writ_.ReadLog().find(b.reason), std::string::npos) << b.what << ": no '" << b.reason << "' in the log";
  }
  EXPECT_EQ(master_.Stat("applied"), 3) << "k1, k4 and k5 only";
  std::string log = writ_.ReadLog();
  EXPECT_EQ(log.find(good.substr(good.rfind('.') + 1)), std::string::npos) << "a token's signature in the log";
}

TEST_F(JwtTest, Hs256TakesASecretAndEs256APublicKey) {
  std::string d = dir_.path();
  std::string secret(48, 's');
  std::ofstream(d + "/hs.secret") << secret;
  StartWith("    algorithm: HS256\n    secret: ${file:" + d + "/hs.secret}\n");
  EXPECT_EQ(Post(Mint(JWT_ALG_HS256, secret, Claims()), "h1").status, 201);
  EXPECT_EQ(Post(Mint(JWT_ALG_HS256, std::string(48, 't'), Claims()), "h2").status, 401) << "another secret";
  writ_.Stop();

  ASSERT_EQ(Sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + d + "/es.key"), 0);
  ASSERT_EQ(Sh("openssl pkey -in " + d + "/es.key -pubout -out " + d + "/es.pub"), 0);
  WritProcess es;
  std::filesystem::create_directories(d + "/es");
  es.set_top_extra("auth:\n  jwt:\n    issuer: https://idp.example\n    audience: writ\n    algorithm: ES256\n"
                   "    public_key: " + d + "/es.pub\n");
  es.Start(d + "/es", master_.port());
  std::string key = ReadFile(d + "/es.key");
  auto post = [&](const std::string& token, const std::string& k) {
    return Call(es.port(), "POST", "/orders", "{}",
                {{"Authorization", "Bearer " + token}, {"Idempotency-Key", k}, {"Content-Type", "application/json"}});
  };
  EXPECT_EQ(post(Mint(JWT_ALG_ES256, key, Claims()), "e1").status, 201);
  EXPECT_EQ(post(Mint(JWT_ALG_HS256, secret, Claims()), "e2").status, 401) << "HS256 on an ES256 gateway";
}

}  // namespace
}  // namespace writ::testing
