// Writ's configuration: the YAML file loaded once at start-up into plain
// structs. Loading reports every error with file:line:column, not just the
// first. Thread-safety: a loaded Config is immutable and shared read-only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"

namespace writ {

struct ListenAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
};
// Parses "host:port" (port may be 0: pick a free one). False if malformed.
bool ParseListen(const std::string& text, ListenAddress& out);

struct ServerConfig {
  ListenAddress listen;
  int threads = 0;                  // 0: one per core
  Millis header_timeout = 10'000;   // whole header must arrive within this
  Millis idle_timeout = 60'000;     // keep-alive connection idle limit
  uint64_t max_header_bytes = 16 * 1024;
  int max_header_count = 100;
};

struct UpstreamConfig {
  std::string name;
  std::string host;
  uint16_t port = 80;
  std::string base_path;  // prefix for every upstream path, no trailing '/'
  Millis connect_timeout = 2'000;
  Millis request_timeout = 10'000;
  int pool_size = 64;  // idle keep-alive connections kept per upstream
};

enum class FingerprintMode { kRaw, kJson };
enum class OnUnknown { kRetry, kPark };
enum class Concurrent { kReject, kWait };

// Which upstream statuses are stored as the final answer of a key.
struct StatusSet {
  std::vector<std::pair<int, int>> include;  // inclusive ranges
  std::vector<int> exclude;
  bool Contains(int status) const;
};

struct IdempotencyConfig {
  bool required = true;
  Millis retention = 24 * 3'600'000LL;
  FingerprintMode fingerprint = FingerprintMode::kJson;
  std::vector<std::string> ignore_fields;  // JSON Pointers left out of the fingerprint
  StatusSet final_statuses;                // default: 2xx and 4xx except 408, 409, 429
  std::string upstream_header = "Idempotency-Key";
  OnUnknown on_unknown = OnUnknown::kRetry;
  Concurrent concurrent = Concurrent::kReject;
  Millis wait_timeout = 10'000;  // bound for concurrent: wait
  Millis lease = 30'000;         // in-flight lock lifetime; must exceed connect + request timeouts
};

// Where status events of an async route are POSTed (Standard Webhooks).
struct NotifyConfig {
  std::string url;  // as written, http://host[:port]/path
  std::string host;
  uint16_t port = 80;
  std::string path = "/";
  std::string secret;  // "whsec_<base64>" (or any other string, used as raw bytes)
  Millis timeout = 5'000;
  bool enabled() const { return !url.empty(); }
};

// mode: async (CP-2): the command is queued durably, answered 202, and sent
// to the master by workers with retries.
struct AsyncConfig {
  int max_attempts = 10;             // then the command is dead
  Millis max_age = 24 * 3'600'000LL;  // no new attempt after this long since acceptance
  Millis backoff_base = 200;         // retry n waits rand(0, min(max, base * 2^(n-1)))
  Millis backoff_max = 60'000;
  int concurrency = 16;              // calls to the master in flight for this route
  std::string ordering_key;          // JSON Pointer; same value -> one at a time, in order
  std::string canonical_id = "/id";  // JSON Pointer into the master's success answer
  Millis lease = 30'000;             // a worker's hold on a command; > connect + request timeout
  Millis poll_interval = 200;        // idle workers look for due retries this often
  Millis retention = 7 * 86'400'000LL;  // finished submissions (and events) kept this long
};

// mode: buffered (CP-3): a batch upload becomes a job; its items are queued
// and drained to the master in rate-limited batches. Retries, lease,
// concurrency and retention come from the route's `async` block.
struct BufferedConfig {
  std::string item_key;            // JSON Pointer naming each item's key; "": its position
  int max_items = 10'000;          // per uploaded batch
  int max_pending_items = 100'000;  // the route's buffer: queued + in flight
  int batch_size = 100;            // items per master request (bulk_path) or per claim
  std::string bulk_path;           // "": one request per item to upstream_path
  double rate = 0;                 // items per second to the master; 0: unlimited
  int burst = 0;                   // token bucket size; 0: batch_size
  bool reject_batch = false;       // reject: batch -> one invalid item refuses the batch (422)
  Millis dedup_window = 24 * 3'600'000LL;  // a succeeded item's key is remembered this long
  // Where a bulk answer holds per-item results (JSON Pointers); each
  // result's canonical id is found with async.canonical_id.
  std::string results = "/results";
  std::string item_status = "/status";
};

struct RouteConfig {
  std::string name;  // defaults to "METHOD path"
  std::string method;
  std::string path;  // template, e.g. /orders/{id}
  std::string mode = "sync";
  std::string upstream;
  std::string upstream_path;  // template; defaults to path
  uint64_t max_body_bytes = 1024 * 1024;
  IdempotencyConfig idempotency;
  std::vector<std::string> forward_headers;   // request headers passed to the master
  std::vector<std::string> response_headers;  // master headers returned and stored
  std::string validate;  // JSON Schema file (draft 7), resolved against the config's folder
  AsyncConfig async;     // mode: async and buffered
  BufferedConfig buffered;  // mode: buffered only
  NotifyConfig notify;   // mode: async only; empty url = no webhook
};

struct StoreConfig {
  std::string url = "sqlite:./writ-data/writ.db";
  std::string sqlite_path() const;  // path part of a sqlite: URL
  int max_batch = 512;              // operations per group commit
  Millis gc_interval = 60'000;
  int gc_batch = 1'000;  // records deleted per GC transaction
};

struct Config {
  std::string file;
  ServerConfig server;
  StoreConfig store;
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteConfig> routes;

  const UpstreamConfig* FindUpstream(const std::string& name) const;
};

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  std::string message;
  std::string ToString() const;
};

struct LoadedConfig {
  Config config;
  std::vector<ConfigError> errors;  // empty when the config is usable
};

LoadedConfig LoadConfigFile(const std::string& path);
LoadedConfig LoadConfigText(const std::string& text, const std::string& file_name);

}  // namespace writ
