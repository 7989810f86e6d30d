// Test helpers: real `writ mock-master` and `writ serve` processes on
// loopback, each in its own temporary directory, plus a blocking client.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "cli/process.h"
#include "core/http_types.h"
#include "store/store.h"

namespace writ::testing {

// A fresh directory under $TMPDIR, removed at destruction unless the test failed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A loopback port that is free now, below the kernel's ephemeral range
// (32768-60999), so no process binding port 0 is handed it: for a master a
// test stops and starts again on the same port (a port-0 one could be
// taken by a test running beside it while it is down).
uint16_t RestartablePort();

class MockMasterProcess {
 public:
  // `flags` are extra mock-master flags, e.g. {"--honor-idempotency-key"}.
  void Start(const std::string& dir, const std::vector<std::string>& flags = {}, uint16_t port = 0);
  void Stop() { proc_.Stop(); }
  uint16_t port() const { return port_; }
  boost::json::object Stats() const;
  int64_t Stat(const char* name) const;

 private:
  ChildProcess proc_;
  uint16_t port_ = 0;
};

struct RouteOptions {
  std::string method = "POST";  // "" for a collection route (mode: draft)
  std::string path = "/orders";
  std::string mode = "sync";
  std::string idempotency = "";  // extra YAML lines under idempotency:, indented by the helper
  std::string extra = "";        // extra YAML lines under the route
};

class WritProcess {
 public:
  // Writes a config pointing at `master_port` and starts `writ serve`.
  // `routes` default to one sync POST /orders route with a required key.
  void Start(const std::string& dir, uint16_t master_port, const std::vector<RouteOptions>& routes = {{}},
             const std::string& upstream_extra = "", const std::vector<std::string>& env = {});
  // Extra YAML lines for the store section (e.g. "gc_interval: 100ms"); call before Start.
  void set_store_extra(std::string yaml) { store_extra_ = std::move(yaml); }
  // A store other than the default SQLite file (e.g. a postgres:// URL);
  // Start then runs `writ migrate` first. Call before Start.
  void set_store_url(std::string url) { store_url_ = std::move(url); }
  // Extra top-level YAML (e.g. an auth: section); call before Start.
  void set_top_extra(std::string yaml) { top_extra_ = std::move(yaml); }
  // Extra YAML lines for the server section (e.g. "header_timeout: 300ms"); call before Start.
  void set_server_extra(std::string yaml) { server_extra_ = std::move(yaml); }
  // The upstream's scheme and host, e.g. "https://localhost" (default
  // "http://127.0.0.1"); the master's port is added. Call before Start.
  void set_upstream_origin(std::string origin) { upstream_origin_ = std::move(origin); }
  // More upstreams beside "master", as {name, port} (http://127.0.0.1:port,
  // with Start's upstream_extra as master's). Call before Start.
  void add_upstream(std::string name, uint16_t port) { more_upstreams_.emplace_back(std::move(name), port); }
  void Signal(int sig) { proc_.Signal(sig); }
  // Starts again with the same config and store (after a crash or Stop).
  void Restart(const std::vector<std::string>& env = {});
  // Starts again without waiting for it to listen: for a crash point that
  // background work (a refresh) may reach before the listener is up.
  void RestartToCrash(const std::vector<std::string>& env) { Launch(env, false); }
  ~WritProcess();
  // SIGTERM; a clean exit (0) is expected: sanitizer reports make it fail.
  void Stop();
  int WaitExit() { return proc_.Wait(); }
  void Kill() {
    proc_.Signal(9);
    proc_.Wait();
  }
  uint16_t port() const { return port_; }
  // The admin listener's port (/metrics, POST /v1/...): a free one unless
  // set_server_extra names admin_listen; 0 with admin_listen: off.
  uint16_t admin_port() const { return proc_.admin_port(); }
  // Everything the writ processes of this test printed (their JSON logs), in start order.
  std::string ReadLog() const;
  const std::string& config_path() const { return config_; }
  const std::string& db_path() const { return db_; }
  // The store's URL (sqlite:PATH unless set_store_url was called).
  std::string store_url() const { return store_url_.empty() ? "sqlite:" + db_ : store_url_; }

 private:
  void Launch(const std::vector<std::string>& env, bool wait);
  ChildProcess proc_;
  std::string dir_, config_, db_, store_extra_, server_extra_, store_url_, top_extra_;
  std::string upstream_origin_ = "http://127.0.0.1";
  std::vector<std::pair<std::string, uint16_t>> more_upstreams_;
  uint16_t port_ = 0;
  int restarts_ = 0;
};

// Blocking request to 127.0.0.1:port. Headers as {name, value}.
Response Call(uint16_t port, const std::string& method, const std::string& target, const std::string& body = "",
              const Headers& headers = {}, Millis timeout = 10'000);
// POST a JSON body with an Idempotency-Key (omitted when key is empty).
Response PostJson(uint16_t port, const std::string& target, const std::string& key, const std::string& body);

// Sends raw bytes on a new connection and reads until the server closes or
// `timeout` passes. status is the first response's status (0: none).
struct RawResult {
  int status = 0;
  std::string response;  // everything received
  bool closed = false;   // the server closed the connection
};
RawResult RawRequest(uint16_t port, const std::string& bytes, Millis timeout = 3'000);

boost::json::value ParseBody(const Response& r);
// The string at key `k` of a JSON object ("" when absent, not a string, or
// `v` is no object).
std::string Str(const boost::json::value& v, const char* k);
std::string ProblemType(const Response& r);

// Opens the store read-only to look at what a server has committed: a
// SQLite file's path, or a store URL (sqlite:PATH, postgres://...).
std::unique_ptr<Store> OpenStoreReadOnly(const std::string& db_path);
KeyCounts CountKeys(const std::string& db_path);

// Polls `pred` until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& pred, Millis timeout = 10'000);

// Clients that keep retrying: POSTs `body(key)` for each of `keys` to
// `target` (on the port `port(round)` names), again every 200 ms for those
// not yet answered 201 (the master) or 200 (a reconstructed answer), until
// all are or `timeout` passes. Returns whether all were; `unknown` counts
// answers saying the outcome is unknown.
bool RetryEachUntilAnswered(const std::vector<std::string>& keys, const std::string& target,
                            const std::function<uint16_t(int round)>& port,
                            const std::function<std::string(const std::string& key)>& body, int* unknown,
                            Millis timeout = 30'000);

// Runs the writ binary with args to completion; returns exit code and output.
int RunWrit(const std::vector<std::string>& args, std::string* output);

}  // namespace writ::testing
