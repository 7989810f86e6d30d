// TLS (server.tls, https:// upstreams): certificates made for each test
// with the openssl tool, callers played by curl, so that what is checked is
// what a client's TLS stack sees: the handshake, verification against the
// right and the wrong CA, TLS 1.2 as the floor, client certificates (mTLS)
// naming a tenant, a SIGHUP reload under load, and https to the master.
#include <gtest/gtest.h>

#include <csignal>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "testing/cluster.h"

namespace writ::testing {
namespace {

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a shell command; its exit code, and stdout (stderr too with `merge`).
int Shell(const std::string& cmd, std::string* out = nullptr, bool merge = false) {
  FILE* f = ::popen((cmd + (merge ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (!f) return -1;
  std::string text;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  int rc = ::pclose(f);
  if (out) *out = text;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// A CA and the certificates it signs, as PEM files in `dir`.
class Pki {
 public:
  explicit Pki(std::string dir) : dir_(std::move(dir)) {}
  std::string Ca(const std::string& name) {
    Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=" + name +
        " -keyout " + Path(name + ".key") + " -out " + Path(name + ".pem"));
    return Path(name + ".pem");
  }
  // A certificate with these subject alternative names (e.g.
  // "DNS:localhost,IP:127.0.0.1"), signed by `ca`; its key is NAME.key.
  std::string Leaf(const std::string& ca, const std::string& name, const std::string& sans) {
    std::ofstream(Path(name + ".ext")) << "subjectAltName=" << sans << "\n";
    Run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" + name + " -keyout " +
        Path(name + ".key") + " -out " + Path(name + ".csr"));
    Run("openssl x509 -req -days 2 -in " + Path(name + ".csr") + " -CA " + Path(ca + ".pem") + " -CAkey " +
        Path(ca + ".key") + " -CAcreateserial -extfile " + Path(name + ".ext") + " -out " + Path(name + ".pem"));
    return Path(name + ".pem");
  }
  std::string Path(const std::string& file) const { return dir_ + "/" + file; }

 private:
  void Run(const std::string& cmd) {
    std::string out;
    ASSERT_EQ(Shell(cmd, &out, true), 0) << cmd << "\n" << out;
  }
  std::string dir_;
};

struct CurlResult {
  int exit = -1;     // curl's exit code: 0 ok, 35 handshake failed, 60 peer not verified
  std::string out;   // -w output (status codes) and body
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = pki_.Ca("ca");
    other_ca_ = pki_.Ca("other");
    pki_.Leaf("ca", "server", "DNS:localhost,IP:127.0.0.1");
  }

  // curl against https://localhost:PORT with `args` (e.g. --cacert F),
  // printing the status code of each transfer on its own line.
  CurlResult Curl(uint16_t port, const std::string& target, const std::vector<std::string>& args) {
    std::string cmd = "curl -s -o /dev/null -w '%{http_code}\\n'";
    for (const auto& a : args) cmd += " " + Quote(a);
    cmd += " " + Quote("https://localhost:" + std::to_string(port) + target);
    CurlResult r;
    r.exit = Shell(cmd, &r.out);
    return r;
  }

  std::string TlsServer(const std::string& more = "") {
    return "tls:\n  cert: " + pki_.Path("server.pem") + "\n  key: " + pki_.Path("server.key") + "\n" + more;
  }

  TempDir dir_;
  Pki pki_{dir_.path()};
  std::string ca_, other_ca_;
  MockMasterProcess master_;
  WritProcess writ_;
};

TEST_F(TlsTest, BothListenersServeTlsThatClientsVerify) {
  master_.Start(dir_.path());
  writ_.set_server_extra(TlsServer());
  writ_.Start(dir_.path(), master_.port());

  auto ok = Curl(writ_.port(), "/healthz", {"--cacert", ca_, "-v"});
  EXPECT_EQ(ok.exit, 0);
  EXPECT_EQ(ok.out, "200\n");
  std::string verbose;
  Shell("curl -sv -o /dev/null --cacert " + ca_ + " https://localhost:" + std::to_string(writ_.port()) + "/healthz",
        &verbose, true);
  EXPECT_NE(verbose.find("TLSv1.3"), std::string::npos) << "TLS 1.3 is preferred when the client offers it\n"
                                                       << verbose;
  auto admin = Curl(writ_.admin_port(), "/metrics", {"--cacert", ca_});
  EXPECT_EQ(admin.out, "200\n") << "the admin listener is TLS too";
  auto post = Curl(writ_.port(), "/orders",
                   {"--cacert", ca_, "-H", "Content-Type: application/json", "-H", "Idempotency-Key: t1", "-d",
                    R"({"a":1})"});
  EXPECT_EQ(post.out, "201\n");
  EXPECT_EQ(master_.Stats()["applied"].as_int64(), 1);

  // A client that trusts another CA refuses the server; one that offers TLS
  // 1.1 at most gets no handshake; plain HTTP gets no answer.
  EXPECT_EQ(Curl(writ_.port(), "/healthz", {"--cacert", other_ca_}).exit, 60);
  EXPECT_EQ(Curl(writ_.port(), "/healthz", {"--cacert", ca_, "--tlsv1.0", "--tls-max", "1.1"}).exit, 35);
  EXPECT_EQ(Call(writ_.port(), "GET", "/healthz", "", {}, 2'000).status, 0);
  EXPECT_EQ(Curl(writ_.port(), "/healthz", {"--cacert", ca_, "--tlsv1.2", "--tls-max", "1.2"}).out, "200\n");
}

TEST_F(TlsTest, ClientCertificatesAreVerifiedAndNameTheTenant) {
  pki_.Leaf("ca", "orders", "DNS:orders.acme.internal");
  pki_.Leaf("ca", "stranger", "DNS:stranger.internal");
  pki_.Leaf("other", "forged", "DNS:orders.acme.internal");
  master_.Start(dir_.path());
  writ_.set_server_extra(TlsServer("  client_ca: " + ca_ + "\n"));
  writ_.set_top_extra("auth:\n  client_certs:\n"
                      "    - {name: orders.acme.internal, tenant: acme, roles: client}\n");
  writ_.Start(dir_.path(), master_.port());
  auto as = [&](const std::string& who, const std::string& method, const std::string& target) {
    std::vector<std::string> args{"--cacert", ca_, "-X", method, "-H", "Content-Type: application/json",
                                  "-H", "Idempotency-Key: c1"};
    if (method == "POST") args.insert(args.end(), {"-d", R"({"a":1})"});
    if (!who.empty()) args.insert(args.end(), {"--cert", pki_.Path(who + ".pem"), "--key", pki_.Path(who + ".key")});
    return Curl(writ_.port(), target, args);
  };
  // client_certs: required (the default with a client_ca): no certificate,
  // or one of another CA with the same name, and there is no connection.
  EXPECT_NE(as("", "GET", "/healthz").exit, 0);
  EXPECT_NE(as("forged", "POST", "/orders").exit, 0);
  EXPECT_EQ(as("orders", "POST", "/orders").out, "201\n");
  EXPECT_EQ(as("orders", "POST", "/orders").out, "201\n") << "the replay of the same key";
  EXPECT_EQ(as("stranger", "POST", "/orders").out, "401\n") << "a name auth.client_certs does not map";
  EXPECT_EQ(master_.Stats()["applied"].as_int64(), 1);
  // The write is the tenant's: its key is stored under acme.
  std::string out;
  ASSERT_EQ(RunWrit({"keys", "list", "--config", writ_.config_path()}, &out), 0) << out;
  EXPECT_NE(out.find("acme"), std::string::npos) << out;
  std::string log = writ_.ReadLog();
  EXPECT_NE(log.find("\"keyId\":\"cert:stranger.internal\""), std::string::npos) << log;
}

// SIGHUP while a client sends request after request on one connection and
// others open new ones: none fails, the open connection is kept, and new
// connections get the new certificate. A reload with a broken file keeps
// the certificate in use.
TEST_F(TlsTest, SighupReloadsTheCertificateWithoutFailingARequest) {
  master_.Start(dir_.path());
  writ_.set_server_extra(TlsServer());
  writ_.Start(dir_.path(), master_.port());
  std::string both = pki_.Path("both.pem");
  Shell("cat " + ca_ + " " + other_ca_ + " > " + both);

  // One connection, 60 requests at 40 per second (1.5 s), and meanwhile new
  // connections one after another.
  CurlResult kept;
  std::thread slow([&] {
    std::string cmd = "curl -s -w '%{http_code} %{num_connects}\\n' --rate 40/s --cacert " + both;
    for (int i = 0; i < 60; ++i) cmd += " -o /dev/null https://localhost:" + std::to_string(writ_.port()) + "/healthz";
    kept.exit = Shell(cmd, &kept.out);
  });
  std::atomic<bool> stop{false};
  std::vector<CurlResult> fresh;
  std::thread churn([&] {
    while (!stop) fresh.push_back(Curl(writ_.port(), "/healthz", {"--cacert", both}));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  pki_.Leaf("other", "server", "DNS:localhost,IP:127.0.0.1");  // the same files, a new certificate
  writ_.Signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  churn.join();
  slow.join();

  EXPECT_EQ(kept.exit, 0);
  int requests = 0, connects = 0;
  std::istringstream lines(kept.out);
  for (std::string code; lines >> code;) {
    int n = 0;
    lines >> n;
    EXPECT_EQ(code, "200");
    ++requests;
    connects += n;
  }
  EXPECT_EQ(requests, 60);
  EXPECT_EQ(connects, 1) << "the open connection was kept across the reload";
  EXPECT_GT(fresh.size(), 5u);
  for (const auto& r : fresh) EXPECT_EQ(r.out, "200\n") << "exit " << r.exit;
  EXPECT_NE(writ_.ReadLog().find("TLS certificates reloaded"), std::string::npos);
  EXPECT_EQ(Curl(writ_.port(), "/healthz", {"--cacert", other_ca_}).out, "200\n") << "the new certificate";
  EXPECT_EQ(Curl(writ_.port(), "/healthz", {"--cacert", ca_}).exit, 60) << "the old one is gone";

  std::ofstream(pki_.Path("server.key")) << "not a key\n";
  writ_.Signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_NE(writ_.ReadLog().find("TLS reload failed"), std::string::npos);
  EXPECT_EQ(Curl(writ_.port(), "/healthz", {"--cacert", other_ca_}).out, "200\n") << "still the last good one";
}

// An https:// upstream is verified: against its ca_file, and by name.
TEST_F(TlsTest, HttpsUpstreamsAreVerifiedByCaAndName) {
  pki_.Leaf("ca", "elsewhere", "DNS:elsewhere.example");
  master_.Start(dir_.path(), {"--tls-cert", pki_.Path("server.pem"), "--tls-key", pki_.Path("server.key")});
  MockMasterProcess misnamed;
  std::filesystem::create_directories(dir_.path() + "/m");
  misnamed.Start(dir_.path() + "/m", {"--tls-cert", pki_.Path("elsewhere.pem"), "--tls-key", pki_.Path("elsewhere.key")});

  auto start = [&](WritProcess& w, const std::string& sub, uint16_t port, const std::string& extra) {
    std::filesystem::create_directories(dir_.path() + "/" + sub);
    w.set_upstream_origin("https://localhost");
    w.Start(dir_.path() + "/" + sub, port, {{}}, extra);
  };
  WritProcess trusted, system_cas, wrong_name;
  start(trusted, "a", master_.port(), "ca_file: " + ca_);
  start(system_cas, "b", master_.port(), "");
  start(wrong_name, "c", misnamed.port(), "ca_file: " + ca_);

  EXPECT_EQ(PostJson(trusted.port(), "/orders", "u1", R"({"a":1})").status, 201);
  auto untrusted = PostJson(system_cas.port(), "/orders", "u2", R"({"a":2})");
  EXPECT_EQ(untrusted.status, 503);
  EXPECT_NE(untrusted.body.find("certificate not trusted"), std::string::npos) << untrusted.body;
  auto misnamed_answer = PostJson(wrong_name.port(), "/orders", "u3", R"({"a":3})");
  EXPECT_EQ(misnamed_answer.status, 503);
  EXPECT_NE(misnamed_answer.body.find("hostname mismatch"), std::string::npos) << misnamed_answer.body;
  // The test reads the masters' counts without verifying them (-k).
  auto applied = [&](uint16_t port) {
    std::string out;
    Shell("curl -sk https://127.0.0.1:" + std::to_string(port) + "/_stats", &out);
    auto v = boost::json::parse(out);
    return v.as_object()["applied"].as_int64();
  };
  EXPECT_EQ(applied(master_.port()), 1);
  EXPECT_EQ(applied(misnamed.port()), 0) << "nothing is sent to a master that is not verified";
}

}  // namespace
}  // namespace writ::testing
