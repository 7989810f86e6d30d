// Config loading: defaults, every error reported with file:line:column.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "core/api_key.h"
#include "core/json.h"
#include "patterns/async/async_config.h"
#include "patterns/copy/copy_config.h"
#include "patterns/local_copy/edge_config.h"
#include "patterns/registry.h"
#include "patterns/saga/saga_config.h"
#include "patterns/sync/completer.h"

namespace writ {
namespace {

const char* kGood = R"(server:
  listen: 127.0.0.1:8080
upstreams:
  master:
    url: http://127.0.0.1:9090/api/
    request_timeout: 5s
routes:
  - method: POST
    path: /orders/{id}/lines
    upstream: master
    idempotency:
      retention: 1h
      fingerprint: raw
      on_unknown: park
      concurrent: wait
      final_statuses: [2xx, 404, "!204"]
)";

TEST(Config, LoadsAValidFile) {
  auto c = LoadConfigText(kGood, "good.yaml", ModeSpecs());
  ASSERT_TRUE(c.errors.empty()) << c.errors[0].ToString();
  ASSERT_EQ(c.config.routes.size(), 1u);
  const auto& r = c.config.routes[0];
  EXPECT_EQ(r.name, "POST /orders/{id}/lines");
  EXPECT_EQ(r.upstream_path, "/orders/{id}/lines");
  EXPECT_EQ(r.idempotency.retention, 3'600'000);
  EXPECT_EQ(r.idempotency.fingerprint, FingerprintMode::kRaw);
  EXPECT_EQ(r.idempotency.on_unknown, OnUnknown::kPark);
  EXPECT_EQ(r.idempotency.concurrent, Concurrent::kWait);
  EXPECT_TRUE(r.idempotency.final_statuses.Contains(201));
  EXPECT_FALSE(r.idempotency.final_statuses.Contains(204));
  EXPECT_TRUE(r.idempotency.final_statuses.Contains(404));
  EXPECT_FALSE(r.idempotency.final_statuses.Contains(400));
  EXPECT_EQ(c.config.upstreams[0].base_path, "/api");
  EXPECT_EQ(c.config.upstreams[0].port, 9090);
  EXPECT_EQ(c.config.store.url, "sqlite:./writ-data/writ.db");
}

TEST(Config, DefaultFinalStatusesAreDeterministicAnswers) {
  auto c = LoadConfigText("upstreams: {m: {url: 'http://h:1'}}\nroutes: [{method: POST, path: /x, upstream: m}]\n",
                          "d.yaml", ModeSpecs());
  ASSERT_TRUE(c.errors.empty()) << c.errors[0].ToString();
  const auto& f = c.config.routes[0].idempotency.final_statuses;
  for (int s : {200, 201, 400, 404, 422}) EXPECT_TRUE(f.Contains(s)) << s;
  for (int s : {408, 409, 429, 500, 503}) EXPECT_FALSE(f.Contains(s)) << s;
}

TEST(Config, UnknownStatusesDefaultOnParkRoutesAndNeverOverlapFinalOnes) {
  auto c = LoadConfigText(kGood, "good.yaml", ModeSpecs());
  const auto& park = c.config.routes[0].idempotency.unknown_statuses;
  for (int s : {500, 502, 504}) EXPECT_TRUE(park.Contains(s)) << s << ": may follow the master's commit";
  for (int s : {503, 429, 201}) EXPECT_FALSE(park.Contains(s)) << s;
  auto retry = LoadConfigText("upstreams: {m: {url: 'http://h:1'}}\nroutes: [{method: POST, path: /x, upstream: m}]\n",
                              "d.yaml", ModeSpecs());
  EXPECT_FALSE(retry.config.routes[0].idempotency.unknown_statuses.Contains(500)) << "retry routes: none";
  auto both = LoadConfigText(
      "upstreams: {m: {url: 'http://h:1'}}\nroutes:\n  - method: POST\n    path: /x\n    upstream: m\n"
      "    idempotency:\n      final_statuses: [2xx, 4xx]\n      unknown_statuses: [5xx, 409]\n",
      "b.yaml", ModeSpecs());
  ASSERT_EQ(both.errors.size(), 1u);
  EXPECT_EQ(both.errors[0].line, 8);
  EXPECT_NE(both.errors[0].message.find("status 409 is in both final_statuses and unknown_statuses"), std::string::npos)
      << both.errors[0].message;
}

TEST(Config, QuotasGiveEachTenantARateAndABurst) {
  const char* rest = "upstreams: {m: {url: 'http://h:1'}}\nroutes: [{method: POST, path: /x, upstream: m}]\n";
  auto ok = LoadConfigText(std::string("quotas:\n  rate: 100\n  tenants:\n    acme: {rate: 5, burst: 20}\n") + rest,
                           "q.yaml", ModeSpecs());
  ASSERT_TRUE(ok.errors.empty()) << ok.errors[0].ToString();
  EXPECT_EQ(ok.config.quotas.limit.rate, 100);
  EXPECT_EQ(ok.config.quotas.tenants.at("acme").burst, 20);
  EXPECT_TRUE(ok.config.quotas.any());
  EXPECT_FALSE(LoadConfigText(rest, "n.yaml", ModeSpecs()).config.quotas.any()) << "no quotas by default";
  auto pending = LoadConfigText(std::string("quotas:\n  max_pending: 1000\n  max_drafts: 20\n  tenants:\n"
                                            "    acme: {max_pending: 50, max_drafts: 5}\n") +
                                    rest,
                                "p.yaml", ModeSpecs());
  ASSERT_TRUE(pending.errors.empty()) << pending.errors[0].ToString();
  EXPECT_TRUE(pending.config.quotas.any_pending());
  EXPECT_FALSE(pending.config.quotas.any()) << "no rate limit was asked for";
  EXPECT_EQ(pending.config.quotas.Of("acme").max_pending, 50);
  EXPECT_EQ(pending.config.quotas.Of("globex").max_pending, 1000);
  EXPECT_EQ(pending.config.quotas.Of("acme").max_drafts, 5);
  EXPECT_EQ(pending.config.quotas.Of("globex").max_drafts, 20);
  auto low = LoadConfigText(std::string("quotas:\n  tenants:\n    acme: {rate: 50, burst: 10}\n") + rest, "b.yaml",
                            ModeSpecs());
  ASSERT_EQ(low.errors.size(), 1u);
  EXPECT_NE(low.errors[0].message.find("quotas.tenants.acme: burst must be at least rate"), std::string::npos);
  auto typo = LoadConfigText(std::string("quotas:\n  rps: 5\n") + rest, "t.yaml", ModeSpecs());
  ASSERT_EQ(typo.errors.size(), 1u);
  EXPECT_NE(typo.errors[0].message.find("unknown key 'rps' in quotas"), std::string::npos);
}

TEST(Config, TheAdminListenerIsAnotherAddress) {
  const char* rest = "upstreams: {m: {url: 'http://h:1'}}\nroutes: [{method: POST, path: /x, upstream: m}]\n";
  auto ok = LoadConfigText(std::string("server: {listen: 0.0.0.0:8080, admin_listen: 127.0.0.1:9901}\n") + rest,
                           "a.yaml", ModeSpecs());
  ASSERT_TRUE(ok.errors.empty()) << ok.errors[0].ToString();
  ASSERT_TRUE(ok.config.server.admin_listen.has_value());
  EXPECT_EQ(ok.config.server.admin_listen->port, 9901);
  auto by_default = LoadConfigText(rest, "n.yaml", ModeSpecs()).config.server.admin_listen;
  ASSERT_TRUE(by_default.has_value()) << "operator endpoints are off the public listener by default";
  EXPECT_EQ(by_default->host, "127.0.0.1");
  EXPECT_EQ(by_default->port, 9901);
  auto off = LoadConfigText(std::string("server: {admin_listen: off}\n") + rest, "o.yaml", ModeSpecs());
  ASSERT_TRUE(off.errors.empty());
  EXPECT_FALSE(off.config.server.admin_listen.has_value());
  auto same = LoadConfigText(std::string("server: {listen: 127.0.0.1:8080, admin_listen: 127.0.0.1:8080}\n") + rest,
                             "s.yaml", ModeSpecs());
  ASSERT_EQ(same.errors.size(), 1u);
  EXPECT_NE(same.errors[0].message.find("must differ from 'listen'"), std::string::npos);
  auto clash = LoadConfigText(std::string("server: {listen: 0.0.0.0:9901}\n") + rest, "c.yaml", ModeSpecs());
  ASSERT_EQ(clash.errors.size(), 1u) << "the default admin port taken by listen";
  EXPECT_NE(clash.errors[0].message.find("set admin_listen to another port, or off"), std::string::npos);
  auto bad = LoadConfigText(std::string("server: {admin_listen: 9901}\n") + rest, "b.yaml", ModeSpecs());
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_NE(bad.errors[0].message.find("'admin_listen' must be host:port"), std::string::npos);
}

TEST(Config, TlsNeedsReadableFilesAndHttpsUpstreamsMayNameTheirCa) {
  std::string dir = ::testing::TempDir() + "writ-tls-config";  // TempDir() ends with '/'
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/c.pem") << "x";
  std::ofstream(dir + "/k.pem") << "x";
  const char* routes = "routes: [{method: POST, path: /x, upstream: m}]\n";
  auto load = [&](const std::string& text) { return LoadConfigText(text + routes, dir + "/t.yaml", ModeSpecs()); };
  auto ok = load(
      "server:\n  tls: {cert: c.pem, key: k.pem, client_ca: c.pem, client_certs: optional}\n"
      "auth:\n  client_certs:\n    - {name: spiffe://acme/orders, tenant: acme, roles: 'client,reader'}\n"
      "upstreams: {m: {url: 'https://master.internal/api', ca_file: c.pem}}\n");
  ASSERT_TRUE(ok.errors.empty()) << ok.errors[0].ToString();
  EXPECT_EQ(ok.config.server.tls.cert, dir + "/c.pem") << "files resolve against the config's folder";
  EXPECT_FALSE(ok.config.server.tls.client_cert_required);
  ASSERT_EQ(ok.config.auth.client_certs.size(), 1u);
  EXPECT_EQ(ok.config.auth.client_certs[0].roles, unsigned{kRoleClient | kRoleReader});
  EXPECT_TRUE(ok.config.auth.enabled()) << "client certificates alone turn authentication on";
  const auto& u = ok.config.upstreams[0];
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.base_path, "/api");
  EXPECT_EQ(u.ca_file, dir + "/c.pem");

  const char* up = "upstreams: {m: {url: 'http://h:1'}}\n";
  auto first_error = [&](const std::string& text) {
    auto l = load(text);
    return l.errors.empty() ? std::string("(no error)") : l.errors[0].message;
  };
  EXPECT_NE(first_error(std::string("server: {tls: {cert: c.pem}}\n") + up).find("needs both cert and key"),
            std::string::npos);
  EXPECT_NE(first_error(std::string("server: {tls: {cert: c.pem, key: gone.pem}}\n") + up).find("cannot read key file"),
            std::string::npos);
  EXPECT_NE(first_error(std::string("server: {tls: {cert: c.pem, key: k.pem, client_certs: optional}}\n") + up)
                .find("needs a client_ca"),
            std::string::npos);
  EXPECT_NE(first_error("upstreams: {m: {url: 'http://h:1', ca_file: c.pem}}\n").find("for https:// upstreams"),
            std::string::npos);
  EXPECT_NE(first_error("upstreams: {m: {url: 'ftp://h:1'}}\n").find("http[s]://"), std::string::npos);
  EXPECT_NE(first_error(std::string("auth: {client_certs: [{name: ops, tenant: '*', roles: client}]}\n") + up)
                .find("cannot be a client"),
            std::string::npos);
  EXPECT_NE(first_error(std::string("auth: {client_certs: [{name: ops}]}\n") + up).find("needs name"),
            std::string::npos);
}

TEST(Config, AJwtVerifierNamesOneAlgorithmItsKeyIssuerAndAudience) {
  std::string dir = ::testing::TempDir() + "writ-jwt-config";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/idp.pem") << "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n";
  std::ofstream(dir + "/cert.pem") << "-----BEGIN CERTIFICATE-----\n";
  const char* rest = "upstreams: {m: {url: 'http://h:1'}}\nroutes: [{method: POST, path: /x, upstream: m}]\n";
  auto load = [&](const std::string& jwt) {
    return LoadConfigText("auth:\n  jwt: {issuer: i, audience: a, " + jwt + "}\n" + rest, dir + "/j.yaml", ModeSpecs());
  };
  auto ok = load("algorithm: RS256, public_key: idp.pem, tenant_claim: org, clock_skew: 30s");
  ASSERT_TRUE(ok.errors.empty()) << ok.errors[0].ToString();
  EXPECT_NE(ok.config.auth.jwt.key.find("BEGIN PUBLIC KEY"), std::string::npos);
  EXPECT_EQ(ok.config.auth.jwt.tenant_claim, "org");
  EXPECT_EQ(ok.config.auth.jwt.clock_skew, 30'000);
  EXPECT_TRUE(ok.config.auth.enabled());
  ::setenv("WRIT_TEST_JWT", "0123456789abcdef0123456789abcdef", 1);
  EXPECT_TRUE(load("algorithm: HS256, secret: '${env:WRIT_TEST_JWT}'").errors.empty());
  auto first_error = [&](const std::string& jwt) {
    auto l = load(jwt);
    return l.errors.empty() ? std::string("(no error)") : l.errors[0].message;
  };
  EXPECT_NE(first_error("algorithm: none").find("HS256, RS256 or ES256"), std::string::npos);
  EXPECT_NE(first_error("algorithm: HS256, secret: short").find("not hold it"), std::string::npos)
      << "a literal secret is refused";
  ::setenv("WRIT_TEST_JWT_SHORT", "0123456789", 1);
  EXPECT_NE(first_error("algorithm: HS256, secret: '${env:WRIT_TEST_JWT_SHORT}'").find("at least 32 bytes"),
            std::string::npos);
  EXPECT_NE(first_error("algorithm: HS256, public_key: idp.pem, secret: '${env:WRIT_TEST_JWT}'").find("use secret"),
            std::string::npos);
  EXPECT_NE(first_error("algorithm: ES256").find("needs public_key"), std::string::npos);
  EXPECT_NE(first_error("algorithm: ES256, public_key: cert.pem").find("PEM public key"), std::string::npos);
  auto no_aud = LoadConfigText(std::string("auth: {jwt: {issuer: i, algorithm: RS256, public_key: idp.pem}}\n") + rest,
                               dir + "/n.yaml", ModeSpecs());
  ASSERT_FALSE(no_aud.errors.empty());
  EXPECT_NE(no_aud.errors[0].message.find("issuer and audience"), std::string::npos);
}

TEST(Config, ThePepperComesFromTheEnvironmentOrAFileNeverTheConfig) {
  const char* rest = "upstreams: {m: {url: 'http://h:1'}}\nroutes: [{method: POST, path: /x, upstream: m}]\n";
  ::setenv("WRIT_TEST_PEPPER", "0123456789abcdef-env", 1);
  auto env = LoadConfigText(std::string("auth:\n  api_keys:\n    pepper: ${env:WRIT_TEST_PEPPER}\n") + rest, "e.yaml",
                            ModeSpecs());
  ASSERT_TRUE(env.errors.empty()) << env.errors[0].ToString();
  EXPECT_TRUE(env.config.auth.api_keys);
  EXPECT_EQ(env.config.auth.pepper, "0123456789abcdef-env");
  EXPECT_EQ(env.config.auth.cache_ttl, 5'000);
  auto literal = LoadConfigText(std::string("auth:\n  api_keys:\n    pepper: 0123456789abcdef-literal\n") + rest,
                                "l.yaml", ModeSpecs());
  ASSERT_EQ(literal.errors.size(), 1u);
  EXPECT_EQ(literal.errors[0].line, 3);
  EXPECT_NE(literal.errors[0].message.find("${env:NAME} or ${file:PATH}, not hold it"), std::string::npos);
  EXPECT_EQ(literal.errors[0].message.find("0123456789abcdef-literal"), std::string::npos) << "never the value";
  ::setenv("WRIT_TEST_PEPPER", "short", 1);
  auto shorty = LoadConfigText(std::string("auth:\n  api_keys:\n    pepper: ${env:WRIT_TEST_PEPPER}\n") + rest,
                               "s.yaml", ModeSpecs());
  ASSERT_EQ(shorty.errors.size(), 1u);
  EXPECT_NE(shorty.errors[0].message.find("at least 16 bytes"), std::string::npos);
  EXPECT_EQ(shorty.errors[0].message.find("short"), std::string::npos) << "never the value";
  ::unsetenv("WRIT_TEST_PEPPER");
  auto unset = LoadConfigText(std::string("auth:\n  api_keys:\n    pepper: ${env:WRIT_TEST_PEPPER}\n") + rest, "u.yaml",
                              ModeSpecs());
  ASSERT_EQ(unset.errors.size(), 1u);
  EXPECT_NE(unset.errors[0].message.find("WRIT_TEST_PEPPER (for 'pepper') is not set"), std::string::npos);
  auto file = LoadConfigText(std::string("auth:\n  api_keys:\n    pepper: ${file:/nonexistent/pepper}\n") + rest,
                             "f.yaml", ModeSpecs());
  ASSERT_EQ(file.errors.size(), 1u);
  EXPECT_NE(file.errors[0].message.find("cannot read /nonexistent/pepper"), std::string::npos);
  auto none = LoadConfigText(rest, "n.yaml", ModeSpecs());
  EXPECT_FALSE(none.config.auth.api_keys) << "no auth section: open, as before";
}

TEST(Config, OrphansAreResentOnRetryRoutesUnlessReleaseIsSaid) {
  const char* base = "upstreams: {m: {url: 'http://h:1'}}\nroutes:\n  - method: POST\n    path: /x\n    upstream: m\n";
  auto dflt = LoadConfigText(base, "d.yaml", ModeSpecs());
  ASSERT_TRUE(dflt.errors.empty()) << dflt.errors[0].ToString();
  EXPECT_EQ(dflt.config.routes[0].settings_as<SyncSettings>().orphans, OrphanPolicy::kResend);
  auto release = LoadConfigText(std::string(base) + "    orphans: release\n", "r.yaml", ModeSpecs());
  ASSERT_TRUE(release.errors.empty()) << release.errors[0].ToString();
  EXPECT_EQ(release.config.routes[0].settings_as<SyncSettings>().orphans, OrphanPolicy::kRelease);
  auto typo = LoadConfigText(std::string(base) + "    orphans: retry\n", "t.yaml", ModeSpecs());
  ASSERT_EQ(typo.errors.size(), 1u);
  EXPECT_NE(typo.errors[0].message.find("resend, release"), std::string::npos) << typo.errors[0].message;
  auto park = LoadConfigText(std::string(base) + "    orphans: resend\n    idempotency: {on_unknown: park}\n", "p.yaml",
                             ModeSpecs());
  ASSERT_EQ(park.errors.size(), 1u);
  EXPECT_EQ(park.errors[0].line, 6);
  EXPECT_NE(park.errors[0].message.find("never re-sends them"), std::string::npos) << park.errors[0].message;
  auto async = LoadConfigText(std::string(base) + "    mode: async\n    orphans: resend\n", "a.yaml", ModeSpecs());
  ASSERT_EQ(async.errors.size(), 1u);
  EXPECT_NE(async.errors[0].message.find("'orphans' applies to mode: sync routes only"), std::string::npos)
      << async.errors[0].message;
}

TEST(Config, AProbeBelongsToParkRoutesAndLooksUpTheKeyWritSent) {
  const char* base =
      "upstreams: {m: {url: 'http://h:1'}}\nroutes:\n  - method: POST\n    path: /x\n    upstream: m\n"
      "    idempotency:\n";
  auto ok = LoadConfigText(std::string(base) +
                               "      on_unknown: park\n      probe: {path: '/x?clientRef={key}', found: /items/0, "
                               "settle: 30s, rate: 5}\n",
                           "ok.yaml", ModeSpecs());
  ASSERT_TRUE(ok.errors.empty()) << ok.errors[0].ToString();
  const auto& p = ok.config.routes[0].idempotency.probe;
  EXPECT_TRUE(p.enabled());
  EXPECT_EQ(p.method, "GET");
  EXPECT_EQ(p.settle, 30'000);
  EXPECT_EQ(p.rate, 5);
  auto retry = LoadConfigText(std::string(base) + "      probe: {path: '/x?clientRef={key}'}\n", "r.yaml", ModeSpecs());
  ASSERT_EQ(retry.errors.size(), 1u);
  EXPECT_EQ(retry.errors[0].line, 7);
  EXPECT_NE(retry.errors[0].message.find("only on_unknown: park routes"), std::string::npos) << retry.errors[0].message;
  auto nokey =
      LoadConfigText(std::string(base) + "      on_unknown: park\n      probe: {path: '/x?ref=1', found: items}\n",
                     "k.yaml", ModeSpecs());
  std::string all;
  for (const auto& e : nokey.errors) all += e.ToString() + "\n";
  ASSERT_EQ(nokey.errors.size(), 2u) << all;
  EXPECT_NE(all.find("probe path must start with / and hold {key}"), std::string::npos) << all;
  EXPECT_NE(all.find("'found' must be a JSON Pointer"), std::string::npos) << all;
  auto draft = LoadConfigText(
      "upstreams: {m: {url: 'http://h:1'}}\nroutes:\n  - path: /d\n    mode: draft\n"
      "    upstream: m\n    idempotency:\n      on_unknown: park\n"
      "      probe: {path: '/x?clientRef={key}'}\n",
      "d.yaml", ModeSpecs());
  ASSERT_EQ(draft.errors.size(), 1u);
  EXPECT_NE(draft.errors[0].message.find("mode draft does not probe; a probe runs on sync and async routes"),
            std::string::npos)
      << draft.errors[0].message;
}

// An edge route's references must name edge routes of the same config; the
// sync queue orders per record and reads the master's id at edge.canonical_id.
TEST(Config, EdgeRoutesCheckTheirReferencesAcrossRoutes) {
  const std::string base =
      "upstreams: {m: {url: 'http://h:1'}}\nroutes:\n"
      "  - {path: /orders, mode: edge, upstream: m}\n"
      "  - {method: POST, path: /payments, mode: async, upstream: m}\n";
  auto ok = LoadConfigText(base +
                               "  - path: /lines\n    mode: edge\n    upstream: m\n    edge:\n"
                               "      references: [{pointer: /lines/*/orderId, route: /orders}]\n",
                           "ok.yaml", ModeSpecs());
  ASSERT_TRUE(ok.errors.empty()) << ok.errors[0].ToString();
  EXPECT_EQ(ok.config.routes[2].settings_as<EdgeSettings>().queue.max_attempts, 1000) << "keeps trying";
  EXPECT_EQ(ok.config.routes[2].settings_as<EdgeSettings>().on_conflict, ConflictPolicy::kManual);
  EXPECT_TRUE(ok.config.routes[2].idempotency.final_statuses.Contains(409)) << "a 409 is a conflict, not retried";
  EXPECT_FALSE(ok.config.routes[1].idempotency.final_statuses.Contains(409)) << "elsewhere it is retried";
  auto bad = LoadConfigText(base +
                                "  - path: /lines\n    mode: edge\n    upstream: m\n    edge:\n"
                                "      references: [{pointer: /orderId, route: 'POST /payments'}, "
                                "{pointer: orderId, route: /orders}, {pointer: /x, route: /nowhere}]\n"
                                "      update_method: POST\n"
                                "      on_conflict: newest_wins\n"
                                "    async: {ordering_key: /orderId}\n",
                            "bad.yaml", ModeSpecs());
  std::string all;
  for (const auto& e : bad.errors) all += e.ToString() + "\n";
  ASSERT_EQ(bad.errors.size(), 6u) << all;
  EXPECT_NE(all.find("bad.yaml:9:47: reference route 'POST /payments' is no edge route"), std::string::npos) << all;
  EXPECT_NE(all.find("'on_conflict' must be manual, master_wins or local_wins"), std::string::npos) << all;
  EXPECT_NE(all.find("reference route '/nowhere' is no edge route"), std::string::npos) << all;
  EXPECT_NE(all.find("a reference's pointer is a JSON Pointer"), std::string::npos) << all;
  EXPECT_NE(all.find("'update_method' must be PUT or PATCH"), std::string::npos) << all;
  EXPECT_NE(all.find("orders its changes per record; drop async.ordering_key"), std::string::npos) << all;
}

// A dual copy needs its change feed (with a {cursor}); its window and
// policies are checked like an edge route's.
TEST(Config, ADualCopyNamesItsFeedItsWindowAndWhatAStaleReadDoes) {
  const std::string base =
      "upstreams: {m: {url: 'http://h:1'}}\nroutes:\n  - path: /customers\n    mode: dual-copy\n"
      "    upstream: m\n";
  auto ok = LoadConfigText(base +
                               "    copy: {refresh: {path: '/customers?updatedSince={cursor}', interval: 5s, "
                               "data: /data}, max_staleness: 30s, on_stale: refuse, on_conflict: master_wins}\n",
                           "ok.yaml", ModeSpecs());
  ASSERT_TRUE(ok.errors.empty()) << ok.errors[0].ToString();
  const auto& s = ok.config.routes[0].settings_as<CopySettings>();
  EXPECT_EQ(s.on_stale, OnStale::kRefuse);
  EXPECT_EQ(s.max_staleness, 30'000);
  EXPECT_EQ(s.refresh.interval, 5'000);
  EXPECT_EQ(s.refresh.data, "/data");
  EXPECT_EQ(s.on_conflict, ConflictPolicy::kMasterWins);
  EXPECT_EQ(s.refresh.lease, 30'000) << "taken over within the default window";
  auto leased = LoadConfigText(base + "    copy: {refresh: {path: '/c?updatedSince={cursor}', lease: 5s}}\n",
                               "lease.yaml", ModeSpecs());
  ASSERT_TRUE(leased.errors.empty()) << leased.errors[0].ToString();
  EXPECT_EQ(leased.config.routes[0].settings_as<CopySettings>().refresh.lease, 5'000);
  auto short_lease = LoadConfigText(base + "    copy: {refresh: {path: '/c?updatedSince={cursor}', lease: 500ms}}\n",
                                    "short.yaml", ModeSpecs());
  ASSERT_EQ(short_lease.errors.size(), 1u);
  EXPECT_NE(short_lease.errors[0].message.find("'refresh.lease' must be at least 1s"), std::string::npos);
  auto bad = LoadConfigText(base +
                                "    copy: {refresh: {path: /customers, interval: 1h}, on_stale: maybe, "
                                "max_staleness: 1m, references: []}\n",
                            "bad.yaml", ModeSpecs());
  std::string all;
  for (const auto& e : bad.errors) all += e.ToString() + "\n";
  ASSERT_EQ(bad.errors.size(), 3u) << all;
  EXPECT_NE(all.find("with a {cursor} in it"), std::string::npos) << all;
  EXPECT_NE(all.find("'on_stale': 'maybe' is not one of: serve, refuse, passthrough"), std::string::npos) << all;
  EXPECT_NE(all.find("references"), std::string::npos) << all;
  ASSERT_EQ(bad.warnings.size(), 1u);
  EXPECT_NE(bad.warnings[0].message.find("longer than max_staleness"), std::string::npos);
  auto none = LoadConfigText(base, "none.yaml", ModeSpecs());
  ASSERT_EQ(none.errors.size(), 1u);
  EXPECT_NE(none.errors[0].message.find("needs 'copy'"), std::string::npos);
}

// A saga's steps: templates that name the input or earlier steps only, at
// most one pivot, compensations that may name their own step.
TEST(Config, ASagaNamesItsStepsTheirTemplatesAndOnePivot) {
  const std::string base =
      "upstreams: {m: {url: 'http://h:1'}}\nroutes:\n  - method: POST\n    path: /trips\n    mode: saga\n    upstream: m\n";
  auto ok = LoadConfigText(base +
                               "    saga:\n      compensation_retry: 1m\n      steps:\n"
                               "        - {name: a, path: /a, body: {x: '{{/input/x}}', n: 3, t: true}}\n"
                               "        - name: b\n          upstream: m\n          path: '/b/{{/steps/a/body/id}}'\n"
                               "          pivot: true\n"
                               "          compensate: {path: '/b/{{/steps/b/body/id}}'}\n",
                           "ok.yaml", ModeSpecs());
  ASSERT_TRUE(ok.errors.empty()) << ok.errors[0].ToString();
  const auto& s = ok.config.routes[0].settings_as<SagaSettings>();
  ASSERT_EQ(s.def.steps.size(), 2u);
  EXPECT_EQ(s.def.pivot(), 1);
  EXPECT_EQ(s.again_delay, 60'000);
  EXPECT_EQ(s.def.steps[1].compensate->method, "DELETE") << "a compensation deletes unless told";
  EXPECT_EQ(s.def.steps[1].upstream, "") << "the route's own upstream, named";
  auto body = s.def.steps[0].request.body->Expand(ParseJsonStrict(R"({"input":{"x":"y"}})").value());
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, ParseJsonStrict(R"({"x":"y","n":3,"t":true})").value()) << "plain YAML scalars keep their type";
  auto bad = LoadConfigText(base +
                                "    saga:\n      steps:\n"
                                "        - {name: a, path: '/a/{{/steps/b/body/id}}', pivot: true}\n"
                                "        - {name: b, path: /b, method: GET, pivot: true}\n"
                                "        - {name: a, path: 'no-slash'}\n"
                                "        - {name: c, path: '/c/{{input}}'}\n"
                                "        - {name: d, path: /d, body: {x: '{{/secrets/k}}'}}\n"
                                "        - {name: e, path: /e, upstream: nowhere}\n",
                            "bad.yaml", ModeSpecs());
  std::string all;
  for (const auto& e : bad.errors) all += e.ToString() + "\n";
  EXPECT_NE(all.find("names step 'b', which has not run by then"), std::string::npos) << all;
  EXPECT_NE(all.find("method' must be POST, PUT, PATCH or DELETE"), std::string::npos) << all;
  EXPECT_NE(all.find("two steps are named 'a'"), std::string::npos) << all;
  EXPECT_NE(all.find("is the master's path"), std::string::npos) << all;
  EXPECT_NE(all.find("is no JSON Pointer"), std::string::npos) << all;
  EXPECT_NE(all.find("names neither /input nor /steps/NAME"), std::string::npos) << all;
  EXPECT_NE(all.find("at most one pivot"), std::string::npos) << all;
  EXPECT_NE(all.find("step 'e' names unknown upstream 'nowhere'"), std::string::npos) << all;
  auto none = LoadConfigText(base, "none.yaml", ModeSpecs());
  ASSERT_EQ(none.errors.size(), 1u);
  EXPECT_NE(none.errors[0].message.find("needs 'saga' with its 'steps'"), std::string::npos);
}

// copy.sync (and edge.sync): how local changes go out. Unset, a change is
// sent at once, unthrottled.
TEST(Config, TheOutboundSyncHasAnIntervalABatchSizeAndARate) {
  const std::string base =
      "upstreams: {m: {url: 'http://h:1'}}\nroutes:\n  - path: /customers\n    mode: dual-copy\n"
      "    upstream: m\n    copy: {refresh: {path: '/c?updatedSince={cursor}'}";
  auto plain = LoadConfigText(base + "}\n", "plain.yaml", ModeSpecs());
  ASSERT_TRUE(plain.errors.empty()) << plain.errors[0].ToString();
  const auto& p = plain.config.routes[0].settings_as<CopySettings>().sync;
  EXPECT_EQ(p.interval, 0);
  EXPECT_EQ(p.batch_size, 0);
  EXPECT_EQ(p.rate, 0);
  auto ok = LoadConfigText(base + ", sync: {interval: 5s, batch_size: 200, rate: 50.5}}\n", "ok.yaml", ModeSpecs());
  ASSERT_TRUE(ok.errors.empty()) << ok.errors[0].ToString();
  const auto& s = ok.config.routes[0].settings_as<CopySettings>().sync;
  EXPECT_EQ(s.interval, 5'000);
  EXPECT_EQ(s.batch_size, 200);
  EXPECT_EQ(s.rate, 50.5);
  auto bad =
      LoadConfigText(base + ", max_sync_delay: 10s, sync: {interval: 10s, batch_size: 0, rate: fast, size: 3}}\n",
                     "bad.yaml", ModeSpecs());
  std::string all;
  for (const auto& e : bad.errors) all += e.ToString() + "\n";
  ASSERT_EQ(bad.errors.size(), 4u) << all;
  EXPECT_NE(all.find("'sync.interval' must be shorter than max_sync_delay (10s)"), std::string::npos) << all;
  EXPECT_NE(all.find("batch_size"), std::string::npos) << all;
  EXPECT_NE(all.find("'sync.rate' is changes per second"), std::string::npos) << all;
  EXPECT_NE(all.find("size"), std::string::npos) << all;
  auto edge = LoadConfigText(
      "upstreams: {m: {url: 'http://h:1'}}\nroutes:\n  - path: /orders\n    mode: edge\n    upstream: m\n"
      "    edge: {sync: {interval: 2s}}\n",
      "edge.yaml", ModeSpecs());
  ASSERT_TRUE(edge.errors.empty()) << edge.errors[0].ToString();
  EXPECT_EQ(edge.config.routes[0].settings_as<EdgeSettings>().sync.interval, 2'000);
}

TEST(Config, QueuedRetentionOutlivesRetriesAndBufferedItemsNeedStableKeys) {
  const char* base =
      "upstreams: {m: {url: 'http://h:1'}}\nroutes:\n  - method: POST\n    path: /p\n    mode: async\n"
      "    upstream: m\n";
  // Left at its default, the retention is raised past the retry horizon.
  auto d = LoadConfigText(std::string(base) + "    async: {max_age: 48h, backoff_max: 1m}\n", "d.yaml", ModeSpecs());
  ASSERT_TRUE(d.errors.empty()) << d.errors[0].ToString();
  EXPECT_TRUE(d.warnings.empty());
  EXPECT_EQ(d.config.routes[0].idempotency.retention, 48 * 3'600'000LL + 60'000 + 3'600'000);
  // Given too short, or with a master that forgets keys before the last retry: warnings, with positions.
  auto w = LoadConfigText(std::string(base) +
                              "    idempotency:\n      retention: 24h\n      master_key_retention: 12h\n"
                              "    async: {max_age: 24h}\n",
                          "w.yaml", ModeSpecs());
  ASSERT_TRUE(w.errors.empty()) << w.errors[0].ToString();
  ASSERT_EQ(w.warnings.size(), 2u);
  EXPECT_EQ(w.warnings[0].line, 8);
  EXPECT_NE(w.warnings[0].ToString().find("warning: idempotency retention (24h) does not exceed"), std::string::npos)
      << w.warnings[0].ToString();
  EXPECT_EQ(w.warnings[1].line, 9);
  EXPECT_NE(w.warnings[1].message.find("master_key_retention (12h)"), std::string::npos) << w.warnings[1].message;
  // Buffered items keyed by position, uploads without a required key: warned;
  // item_key: position says it on purpose.
  const char* bulk =
      "upstreams: {m: {url: 'http://h:1'}}\nroutes:\n  - method: POST\n    path: /b\n    mode: buffered\n"
      "    upstream: m\n    buffered:\n      batch_size: 10\n";
  auto b = LoadConfigText(bulk, "b.yaml", ModeSpecs());
  ASSERT_TRUE(b.errors.empty()) << b.errors[0].ToString();
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_NE(b.warnings[0].message.find("a re-sent upload applies every item again"), std::string::npos);
  auto p = LoadConfigText(std::string(bulk) + "      item_key: position\n", "p.yaml", ModeSpecs());
  EXPECT_TRUE(p.errors.empty() && p.warnings.empty());
  auto k = LoadConfigText(std::string(bulk) + "      item_key: /sku\n", "k.yaml", ModeSpecs());
  EXPECT_TRUE(k.errors.empty() && k.warnings.empty());
}

TEST(Config, ReportsEveryErrorWithLineAndColumn) {
  const char* bad = R"(server:
  listen: nowhere
  colour: blue
upstreams:
  master:
    url: ftp://x
routes:
  - method: GET
    path: orders
    upstream: missing
    mode: teleport
    idempotency:
      retention: forever
      on_unknown: maybe
)";
  auto c = LoadConfigText(bad, "bad.yaml", ModeSpecs());
  std::string all;
  for (const auto& e : c.errors) all += e.ToString() + "\n";
  EXPECT_NE(all.find("bad.yaml:2:11: 'listen' must be host:port"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:3:3: unknown key 'colour'"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:6:10: upstream url must be http"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:8:13: method must be"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:9:11: path must start"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:10:15: route 'GET orders' names unknown upstream 'missing'"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:11:11: mode 'teleport' is not available"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:13:18: 'retention': invalid duration 'forever'"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:14:19: 'on_unknown': 'maybe' is not one of: retry, park"), std::string::npos) << all;
  EXPECT_EQ(c.errors.size(), 9u) << all;
}

TEST(Config, LeaseMustExceedRequestTimeout) {
  auto c = LoadConfigText(
      "upstreams: {m: {url: 'http://h:1', request_timeout: 30s}}\n"
      "routes: [{method: POST, path: /x, upstream: m, idempotency: {lease: 10s}}]\n",
      "l.yaml", ModeSpecs());
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_NE(c.errors[0].message.find("must exceed the upstream connect_timeout + request_timeout (32s)"),
            std::string::npos)
      << c.errors[0].message;
}

TEST(Config, UpstreamPathParamsAndForwardedHeadersAreChecked) {
  auto c = LoadConfigText(
      "upstreams: {m: {url: 'http://h:1'}}\n"
      "routes:\n"
      "  - method: PUT\n"
      "    path: /orders/{id}\n"
      "    upstream: m\n"
      "    upstream_path: /v2/orders/{orderId}\n"
      "    forward_headers: [Authorization, Content-Length]\n",
      "p.yaml", ModeSpecs());
  ASSERT_EQ(c.errors.size(), 2u);
  EXPECT_EQ(c.errors[0].ToString(),
            "p.yaml:6:20: upstream_path uses {orderId}, which path '/orders/{id}' does not define");
  EXPECT_NE(c.errors[1].ToString().find("p.yaml:7:38: 'Content-Length' cannot be listed in forward_headers"),
            std::string::npos)
      << c.errors[1].ToString();
}

TEST(Config, SyntaxErrorHasPosition) {
  auto c = LoadConfigText("routes: [\n  {method: POST\n", "s.yaml", ModeSpecs());
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_GT(c.errors[0].line, 0);
}

TEST(Config, ParsesListen) {
  ListenAddress a;
  EXPECT_TRUE(ParseListen("0.0.0.0:0", a));
  EXPECT_EQ(a.port, 0);
  EXPECT_TRUE(ParseListen("[::1]:8080", a));
  EXPECT_EQ(a.host, "::1");
  EXPECT_FALSE(ParseListen("8080", a));
  EXPECT_FALSE(ParseListen("h:99999", a));
}

}  // namespace
}  // namespace writ

namespace writ {
namespace {

const char* kAsync = R"(upstreams:
  master: {url: "http://127.0.0.1:9090"}
routes:
  - method: POST
    path: /payments
    mode: async
    upstream: master
    async:
      max_attempts: 5
      max_age: 10m
      ordering_key: /accountId
      concurrency: 4
    notify:
      url: http://127.0.0.1:9999/hooks
      secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
)";

TEST(Config, AsyncRouteWithNotify) {
  auto c = LoadConfigText(kAsync, "async.yaml", ModeSpecs());
  ASSERT_TRUE(c.errors.empty()) << c.errors[0].ToString();
  const auto& r = c.config.routes[0];
  EXPECT_EQ(r.mode, "async");
  const auto& a = r.settings_as<AsyncSettings>();
  EXPECT_EQ(a.queue.max_attempts, 5);
  EXPECT_EQ(a.queue.max_age, 600'000);
  EXPECT_EQ(a.queue.ordering_key, "/accountId");
  EXPECT_EQ(a.queue.concurrency, 4);
  EXPECT_EQ(a.queue.canonical_id, "/id");
  EXPECT_TRUE(a.notify_config.enabled());
  EXPECT_EQ(a.notify_config.port, 9999);
  EXPECT_EQ(a.notify_config.path, "/hooks");
}

TEST(Config, AsyncErrorsArePositioned) {
  std::string bad = kAsync;
  bad.replace(bad.find("/accountId"), 10, "accountId");
  bad.replace(bad.find("max_attempts: 5"), 15, "max_attempts: 0");
  bad.replace(bad.find("http://127.0.0.1:9999/hooks"), 27, "ftp://x");
  bad.replace(bad.find("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), 38, "short");
  auto c = LoadConfigText(bad, "bad.yaml", ModeSpecs());
  ASSERT_EQ(c.errors.size(), 4u);
  std::string all;
  for (auto& e : c.errors) all += e.ToString() + "\n";
  EXPECT_NE(all.find("bad.yaml:9:21: 'max_attempts' must be an integer"), std::string::npos) << all;
  EXPECT_NE(all.find("JSON Pointer"), std::string::npos) << all;
  EXPECT_NE(all.find("notify url"), std::string::npos) << all;
  EXPECT_NE(all.find("secret"), std::string::npos) << all;
}

TEST(Config, AsyncKeysOnSyncRoutesAndShortLeasesAreRefused) {
  std::string sync = kAsync;
  sync.replace(sync.find("mode: async"), 11, "mode: sync");
  auto c = LoadConfigText(sync, "s.yaml", ModeSpecs());
  ASSERT_EQ(c.errors.size(), 2u) << (c.errors.empty() ? "" : c.errors[0].ToString());
  // In line order: the async: block (line 8), then notify: (line 13).
  EXPECT_NE(c.errors[0].message.find("'async' applies to mode: async, buffered, draft, edge, dual-copy and saga routes only"),
            std::string::npos)
      << c.errors[0].message;
  EXPECT_NE(c.errors[1].message.find("'notify' applies to mode: async and saga routes only"), std::string::npos)
      << c.errors[1].message;
  std::string lease = kAsync;
  lease.replace(lease.find("max_age: 10m"), 12, "lease: 2s");
  auto l = LoadConfigText(lease, "l.yaml", ModeSpecs());
  ASSERT_EQ(l.errors.size(), 1u);
  EXPECT_NE(l.errors[0].message.find("async lease"), std::string::npos);
  std::string schema = kAsync;
  schema.replace(schema.find("    async:"), 10, "    validate: no/such.json\n    async:");
  auto sc = LoadConfigText(schema, "/tmp/x.yaml", ModeSpecs());
  ASSERT_EQ(sc.errors.size(), 1u);
  EXPECT_NE(sc.errors[0].message.find("cannot read schema file '/tmp/no/such.json'"), std::string::npos)
      << sc.errors[0].message;
}

// Every error of `c`, one per line.
std::string All(const LoadedConfig& c) {
  std::string all;
  for (const auto& e : c.errors) all += e.ToString() + "\n";
  return all;
}

const char* kNatsYaml = R"(nats:
  url: nats://127.0.0.1:4222
  duplicate_window: 5m
upstreams:
  master: {url: "http://127.0.0.1:9090"}
routes:
  - method: POST
    path: /payments
    mode: async
    upstream: master
    sinks:
      nats: {subject: "payments.{type}"}
      webhook: {url: http://127.0.0.1:9999/hooks, secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}
)";

TEST(Config, SinksTakeAWebhookAndNats) {
  std::string text = kNatsYaml;
  text.replace(text.find("url: nats"), 3, "subjects: [payments.>]\n  url");
  auto c = LoadConfigText(text, "nats.yaml", ModeSpecs());
  ASSERT_TRUE(c.errors.empty()) << c.errors[0].ToString();
  EXPECT_TRUE(c.warnings.empty()) << c.warnings[0].ToString();
  EXPECT_EQ(c.config.nats.url, "nats://127.0.0.1:4222");
  EXPECT_EQ(c.config.nats.stream, "WRIT_EVENTS");
  EXPECT_EQ(c.config.nats.duplicate_window, 300'000);
  EXPECT_EQ(c.config.nats.subjects, std::vector<std::string>{"payments.>"}) << "given, they replace the default";
  const auto& a = c.config.routes[0].settings_as<AsyncSettings>();
  EXPECT_EQ(a.event_sinks(), kWebhookSink | kNatsSink);
  EXPECT_EQ(a.nats_sink.subject, "payments.{type}");
  EXPECT_EQ(NatsSubject(a.nats_sink.subject, "POST /payments", "submission.succeeded"), "payments.submission.succeeded");
  EXPECT_EQ(NatsSubject("writ.events.{route}.{type}", "POST /v2/pay-ments/{id}", "t"), "writ.events.POST_v2_pay-ments_id.t");
  EXPECT_TRUE(NatsSubjectMatches("writ.events.>", "writ.events.POST_orders.submission.accepted"));
  EXPECT_TRUE(NatsSubjectMatches("writ.*.x", "writ.events.x"));
  EXPECT_FALSE(NatsSubjectMatches("writ.*.x", "writ.events.x.y"));
  EXPECT_FALSE(NatsSubjectMatches("writ.events", "writ.events.x"));
}

TEST(Config, NatsSinkErrorsArePositioned) {
  // A nats sink without the server block; a subject with a wildcard; both
  // notify: and sinks:.
  std::string no_server = kNatsYaml;
  no_server.erase(0, no_server.find("upstreams:"));
  auto c = LoadConfigText(no_server, "n.yaml", ModeSpecs());
  ASSERT_EQ(c.errors.size(), 1u) << All(c);
  EXPECT_NE(c.errors[0].message.find("sinks.nats needs the NATS server"), std::string::npos) << All(c);
  std::string wild = kNatsYaml;
  wild.replace(wild.find("payments.{type}"), 15, "payments.*");
  c = LoadConfigText(wild, "w.yaml", ModeSpecs());
  ASSERT_EQ(c.errors.size(), 1u) << All(c);
  EXPECT_EQ(c.errors[0].line, 12) << All(c);
  EXPECT_NE(c.errors[0].message.find("without spaces or wildcards"), std::string::npos) << All(c);
  // The default stream subjects (writ.events.>) do not take payments.*.
  c = LoadConfigText(kNatsYaml, "s.yaml", ModeSpecs());
  ASSERT_EQ(c.errors.size(), 1u) << All(c);
  EXPECT_NE(c.errors[0].message.find("not among the stream's subjects"), std::string::npos) << All(c);
  std::string both = kNatsYaml;
  both.replace(both.find("    sinks:"), 10,
               "    notify: {url: http://127.0.0.1:9999/h, secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}\n    sinks:");
  c = LoadConfigText(both, "b.yaml", ModeSpecs());
  EXPECT_NE(All(c).find("not both"), std::string::npos) << All(c);
  std::string url = kNatsYaml;
  url.replace(url.find("nats://127.0.0.1:4222"), 21, "http://127.0.0.1:4222");
  c = LoadConfigText(url, "u.yaml", ModeSpecs());
  EXPECT_NE(All(c).find("u.yaml:2:8: nats url must be nats://host:port"), std::string::npos) << All(c);
}

TEST(Config, DomainEventsAreCheckedAndDefaulted) {
  std::string text = kNatsYaml;
  text.replace(text.find("    sinks:"), 10,
               "    events:\n"
               "      - {on: succeeded, type: order.created, payload: /response/body}\n"
               "      - {on: processing, type: x}\n"
               "      - {on: dead, subject: a.b, payload: response}\n"
               "    sinks:");
  auto c = LoadConfigText(text, "e.yaml", ModeSpecs());
  // Besides the three below: the stream's default subjects (writ.events.>)
  // take neither order.created, nor x, nor the sink's payments.{type}.
  ASSERT_EQ(c.errors.size(), 6u) << All(c);
  EXPECT_NE(c.errors[1].message.find("events[].on must be succeeded, failed or dead, got 'processing'"),
            std::string::npos) << All(c);
  EXPECT_NE(All(c).find("e.yaml:12:31: events[] subject 'order.created' is not among the stream's subjects"),
            std::string::npos) << All(c);
  EXPECT_NE(All(c).find("e.yaml:14:9: events[] needs a type"), std::string::npos) << All(c);
  EXPECT_NE(All(c).find("events[].payload must be a JSON Pointer"), std::string::npos) << All(c);
  text.replace(text.find("      - {on: processing"), std::string("      - {on: processing, type: x}\n      - {on: dead, subject: a.b, payload: response}\n").size(), "");
  text.replace(text.find("  duplicate_window: 5m"), 0, "  subjects: [payments.>, order.>]\n");
  c = LoadConfigText(text, "e.yaml", ModeSpecs());
  ASSERT_TRUE(c.errors.empty()) << All(c);
  const auto& d = c.config.routes[0].settings_as<AsyncSettings>().domain_events;
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].subject, "order.created") << "the type, by default";
  EXPECT_EQ(d[0].aggregate_type, "POST_payments");
  EXPECT_EQ(d[0].on, SubmissionStatus::kSucceeded);
}

TEST(Config, ADuplicateWindowShorterThanARetryIsWarnedAbout) {
  std::string text = kNatsYaml;
  text.replace(text.find("duplicate_window: 5m"), 20, "duplicate_window: 10s\n  subjects: [payments.>]");
  auto c = LoadConfigText(text, "d.yaml", ModeSpecs());
  ASSERT_TRUE(c.errors.empty()) << All(c);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].message.find("could be stored twice"), std::string::npos) << c.warnings[0].message;
}

}  // namespace
}  // namespace writ

namespace writ {
namespace {

TEST(ConfigErrors, EveryIndependentErrorOnceInLineOrder) {
  // No upstreams section, a bad async block, the same route twice: each
  // reported once, in line order.
  auto c = LoadConfigText(
      "routes:\n"
      "  - method: POST\n"
      "    path: /orders\n"
      "    upstream: main\n"
      "    mode: async\n"
      "    async: {max_attempts: zero}\n"
      "  - method: POST\n"
      "    path: /orders\n"
      "    upstream: main\n",
      "c.yaml", ModeSpecs());
  ASSERT_EQ(c.errors.size(), 3u) << All(c);
  EXPECT_EQ(c.errors[0].ToString().rfind("c.yaml:1:1: 'upstreams' is required", 0), 0u) << All(c);
  EXPECT_EQ(c.errors[1].ToString().rfind("c.yaml:6:27: 'max_attempts' must be an integer", 0), 0u) << All(c);
  EXPECT_EQ(c.errors[2].ToString(), "c.yaml:7:5: duplicate route POST /orders") << All(c);
  for (size_t i = 1; i < c.errors.size(); ++i) EXPECT_LE(c.errors[i - 1].line, c.errors[i].line) << "in line order";
}

TEST(ConfigErrors, ASyntaxErrorStillLetsTheRestBeChecked) {
  // The server block does not parse; the routes block is still checked.
  auto c = LoadConfigText(
      "server:\n"
      "  listen: [\n"
      "upstreams:\n"
      "  main: {url: 'http://h:1'}\n"
      "routes:\n"
      "  - method: GET\n"
      "    path: /x\n"
      "    upstream: nope\n",
      "s.yaml", ModeSpecs());
  std::string all = All(c);
  ASSERT_GE(c.errors.size(), 3u) << all;
  EXPECT_EQ(c.errors[0].line, 3) << "the syntax error, where the server block ends: " << all;
  EXPECT_NE(all.find("s.yaml:6:13: method must be POST"), std::string::npos) << all;
  EXPECT_NE(all.find("s.yaml:8:15: route 'GET /x' names unknown upstream 'nope'"), std::string::npos) << all;

  // A broken route among good ones: the others are checked too.
  auto r = LoadConfigText(
      "upstreams:\n"
      "  main: {url: 'http://h:1'}\n"
      "routes:\n"
      "  - method: POST\n"
      "    path: /a\n"
      "    upstream: main\n"
      "    idempotency: {lease: 1s\n"
      "  - method: POST\n"
      "    path: /b\n"
      "    upstream: nope\n",
      "r.yaml", ModeSpecs());
  all = All(r);
  ASSERT_EQ(r.errors.size(), 2u) << all;
  EXPECT_EQ(r.errors[0].line, 8) << all;
  EXPECT_NE(all.find("r.yaml:10:15: route 'POST /b' names unknown upstream 'nope'"), std::string::npos) << all;
}

TEST(ConfigErrors, SizesHaveACeilingAndUnknownModesListTheRegisteredOnes) {
  auto c = LoadConfigText(
      "server: {max_header_bytes: 2GiB}\n"
      "upstreams: {m: {url: 'http://h:1'}}\n"
      "routes: [{method: POST, path: /x, upstream: m, max_body: 100GB, mode: teleport}]\n",
      "z.yaml", ModeSpecs());
  std::string all = All(c);
  ASSERT_EQ(c.errors.size(), 3u) << all;
  EXPECT_NE(all.find("z.yaml:1:28: 'max_header_bytes': 2GiB is out of range (1 byte to 1MiB)"), std::string::npos)
      << all;
  EXPECT_NE(all.find("'max_body': 100GB is out of range (1 byte to 1GiB)"), std::string::npos) << all;
  std::string modes;
  for (const auto& m : ModeSpecs()) modes += (modes.empty() ? "" : ", ") + m.name;
  EXPECT_NE(all.find("mode 'teleport' is not available (this version supports: " + modes + ")"), std::string::npos)
      << all;
}

}  // namespace
}  // namespace writ
