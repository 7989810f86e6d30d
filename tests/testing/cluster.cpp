#include "testing/cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "http/blocking_client.h"
#include "patterns/registry.h"

namespace writ::testing {

TempDir::TempDir() {
  std::string base = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  std::string tmpl = base + "/writ-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  path_ = ::mkdtemp(buf.data());
}

TempDir::~TempDir() {
  auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  bool failed = info && info->result() && info->result()->Failed();
  if (failed) {
    std::fprintf(stderr, "kept test directory for inspection: %s\n", path_.c_str());
  } else {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

uint16_t RestartablePort() {
  static std::mt19937 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto port = static_cast<uint16_t>(std::uniform_int_distribution<int>(20'000, 32'000)(rng));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    ::close(fd);
    if (free) return port;
  }
  ADD_FAILURE() << "no free loopback port in 20000-32000";
  return 0;
}

void MockMasterProcess::Start(const std::string& dir, const std::vector<std::string>& flags, uint16_t port) {
  std::vector<std::string> args = {WRIT_BINARY, "mock-master", "--listen", "127.0.0.1:" + std::to_string(port)};
  args.insert(args.end(), flags.begin(), flags.end());
  auto p = ChildProcess::Spawn(args, dir + "/mock-master.log");
  ASSERT_TRUE(p.ok()) << p.status().message();
  proc_ = std::move(*p);
  auto listening = proc_.WaitListening(15'000);
  ASSERT_TRUE(listening.ok()) << listening.status().message();
  port_ = *listening;
}

boost::json::object MockMasterProcess::Stats() const {
  auto r = Call(port_, "GET", "/_stats");
  auto v = ParseBody(r);
  return v.is_object() ? v.as_object() : boost::json::object{};
}

int64_t MockMasterProcess::Stat(const char* name) const {
  auto s = Stats();
  auto* v = s.if_contains(name);
  return v && v->is_number() ? v->to_number<int64_t>() : -1;
}

std::string WritProcess::ReadLog() const {
  std::string all;
  for (int i = 0; i < restarts_; ++i) {
    std::ifstream in(dir_ + "/writ-" + std::to_string(i) + ".log");
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return all;
}

void WritProcess::Start(const std::string& dir, uint16_t master_port, const std::vector<RouteOptions>& routes,
                        const std::string& upstream_extra, const std::vector<std::string>& env) {
  dir_ = dir;
  config_ = dir + "/writ.yaml";
  db_ = dir + "/data/writ.db";
  std::ostringstream y;
  y << "server:\n  listen: 127.0.0.1:0\n  threads: 2\n";
  // Tests run in parallel: the admin listener on a free port (admin_port()).
  if (server_extra_.find("admin_listen") == std::string::npos) y << "  admin_listen: 127.0.0.1:0\n";
  std::istringstream sv(server_extra_);
  for (std::string line; std::getline(sv, line);) y << "  " << line << "\n";
  y << top_extra_;
  if (!top_extra_.empty() && top_extra_.back() != '\n') y << "\n";
  y << "store:\n  url: " << (store_url_.empty() ? "sqlite:" + db_ : store_url_) << "\n";
  std::istringstream se(store_extra_);
  for (std::string line; std::getline(se, line);) y << "  " << line << "\n";
  y << "upstreams:\n  master:\n    url: " << upstream_origin_ << ":" << master_port << "\n";
  if (upstream_extra.find("connect_timeout") == std::string::npos) y << "    connect_timeout: 1s\n";
  if (upstream_extra.find("request_timeout") == std::string::npos) y << "    request_timeout: 2s\n";
  std::istringstream ue(upstream_extra);
  for (std::string line; std::getline(ue, line);) y << "    " << line << "\n";
  for (const auto& [name, port] : more_upstreams_) {  // the same settings as "master"
    y << "  " << name << ":\n    url: http://127.0.0.1:" << port << "\n";
    if (upstream_extra.find("connect_timeout") == std::string::npos) y << "    connect_timeout: 1s\n";
    if (upstream_extra.find("request_timeout") == std::string::npos) y << "    request_timeout: 2s\n";
    std::istringstream more(upstream_extra);
    for (std::string line; std::getline(more, line);) y << "    " << line << "\n";
  }
  y << "routes:\n";
  for (const auto& r : routes) {
    y << "  - path: " << r.path << "\n    mode: " << r.mode << "\n    upstream: master\n";
    if (!r.method.empty()) y << "    method: " << r.method << "\n";
    std::istringstream ex(r.extra);
    for (std::string line; std::getline(ex, line);) y << "    " << line << "\n";
    y << "    idempotency:\n";
    if (r.idempotency.find("lease:") == std::string::npos) y << "      lease: 5s\n";
    std::istringstream id(r.idempotency);
    for (std::string line; std::getline(id, line);) y << "      " << line << "\n";
  }
  std::ofstream(config_) << y.str();
  if (!store_url_.empty()) {  // PostgreSQL: the schema first, as an operator would
    std::string out;
    ASSERT_EQ(RunWrit({"migrate", "--config", config_}, &out), 0) << out;
  }
  Launch(env, true);
}

WritProcess::~WritProcess() {
  if (proc_.running()) Stop();
}

void WritProcess::Stop() {
  if (!proc_.running()) return;
  int rc = proc_.Stop();
  if (rc == 0) return;
  // The log may go with its temporary directory: its end (a sanitizer's
  // report, e.g. TSan's exit 66) goes into the failure message.
  std::ifstream in(proc_.log_path());
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (log.size() > 16'000) log = log.substr(log.size() - 16'000);
  EXPECT_EQ(rc, 0) << "writ serve did not exit cleanly; see " << proc_.log_path() << "; its log ends:\n" << log;
}

void WritProcess::Restart(const std::vector<std::string>& env) { Launch(env, true); }

void WritProcess::Launch(const std::vector<std::string>& env, bool wait) {
  std::string log = dir_ + "/writ-" + std::to_string(restarts_++) + ".log";
  auto p = ChildProcess::Spawn({WRIT_BINARY, "serve", "--config", config_}, log, env);
  ASSERT_TRUE(p.ok()) << p.status().message();
  proc_ = std::move(*p);
  if (!wait) return;
  auto listening = proc_.WaitListening(15'000);
  ASSERT_TRUE(listening.ok()) << listening.status().message();
  port_ = *listening;
}

Response Call(uint16_t port, const std::string& method, const std::string& target, const std::string& body,
              const Headers& headers, Millis timeout) {
  Request req;
  req.method = method;
  req.target = target;
  req.headers = headers;
  req.body = body;
  auto r = HttpCall("127.0.0.1", port, req, timeout);
  if (!r.ok()) {
    Response failed;
    failed.status = 0;  // no answer
    failed.body = r.status().message();
    return failed;
  }
  return *r;
}

Response PostJson(uint16_t port, const std::string& target, const std::string& key, const std::string& body) {
  Headers h = {{"Content-Type", "application/json"}};
  if (!key.empty()) h.emplace_back("Idempotency-Key", key);
  return Call(port, "POST", target, body, h);
}

RawResult RawRequest(uint16_t port, const std::string& bytes, Millis timeout) {
  RawResult out;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may refuse early (413, 431) and close
    sent += static_cast<size_t>(n);
  }
  timeval tv{static_cast<time_t>(timeout / 1000), static_cast<suseconds_t>((timeout % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) {
      out.closed = true;
      break;
    }
    if (n < 0) {
      out.closed = errno == ECONNRESET;
      break;
    }
    out.response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (out.response.rfind("HTTP/1.", 0) == 0 && out.response.size() >= 12)
    out.status = std::atoi(out.response.substr(9, 3).c_str());
  return out;
}

std::string Str(const boost::json::value& v, const char* k) {
  auto* x = v.is_object() ? v.as_object().if_contains(k) : nullptr;
  return x && x->is_string() ? std::string(x->get_string()) : "";
}

boost::json::value ParseBody(const Response& r) {
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  return ec ? boost::json::value() : v;
}

std::string ProblemType(const Response& r) {
  auto v = ParseBody(r);
  if (!v.is_object() || !v.as_object().contains("type")) return "";
  std::string t(v.as_object().at("type").as_string());
  auto slash = t.rfind('/');
  return slash == std::string::npos ? t : t.substr(slash + 1);
}

std::unique_ptr<Store> OpenStoreReadOnly(const std::string& db_path) {
  StoreOptions o;
  bool url = db_path.rfind("sqlite:", 0) == 0 || db_path.rfind("postgres", 0) == 0;
  o.url = url ? db_path : "sqlite:" + db_path;
  o.read_only = true;
  o.schema = AllSchemaSteps();  // every mode's tables, as `writ serve` migrates them
  auto s = OpenStore(o);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(*s) : nullptr;
}

KeyCounts CountKeys(const std::string& db_path) {
  auto s = OpenStoreReadOnly(db_path);
  if (!s) return {};
  auto c = s->keys().Counts();
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *c : KeyCounts{};
}

bool Eventually(const std::function<bool()>& pred, Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

bool RetryEachUntilAnswered(const std::vector<std::string>& keys, const std::string& target,
                            const std::function<uint16_t(int round)>& port,
                            const std::function<std::string(const std::string& key)>& body, int* unknown,
                            Millis timeout) {
  std::map<std::string, bool> answered;
  int round = 0;
  return Eventually(
      [&] {
        bool all = true;
        ++round;
        for (const auto& key : keys) {
          if (answered[key]) continue;
          auto r = PostJson(port(round), target, key, body(key));
          if (ProblemType(r) == "upstream-outcome-unknown") ++*unknown;
          answered[key] = r.status == 200 || r.status == 201;  // 201 from the master, 200 reconstructed
          all = all && answered[key];
        }
        if (!all) std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return all;
      },
      timeout);
}

int RunWrit(const std::vector<std::string>& args, std::string* output) {
  std::string cmd = WRIT_BINARY;
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    if (output) output->append(buf, n);
  int rc = ::pclose(f);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace writ::testing
