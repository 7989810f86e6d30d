// Writ's configuration: the YAML file loaded once at start-up into plain
// structs. Loading reports every error with file:line:column, not just the
// first. Thread-safety: a loaded Config is immutable and shared read-only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/redact.h"

namespace YAML {
class Node;
}

namespace writ {

struct ListenAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
};
// Parses "host:port" (port may be 0: pick a free one). False if malformed.
bool ParseListen(const std::string& text, ListenAddress& out);

// TLS on both listeners (server.tls): a certificate chain and its key, PEM
// files read at start and again on SIGHUP (new connections get the new
// certificate, open ones keep theirs). TLS 1.2 at least; 1.3 when the
// client offers it. With `client_ca`, callers present a certificate signed
// by that CA (mTLS), and auth.client_certs may map its names to a tenant.
struct TlsConfig {
  std::string cert;  // "": plain HTTP
  std::string key;
  std::string client_ca;
  bool client_cert_required = true;  // client_certs: required | optional
  bool enabled() const { return !cert.empty(); }
};

struct ServerConfig {
  ListenAddress listen;
  TlsConfig tls;
  // The operator listener (default 127.0.0.1:9901, the port of Envoy's
  // admin interface): /metrics and every change under /v1/ (retry, cancel,
  // replay, pause, resume) are served there only, and the public listener
  // answers them 404. `admin_listen: off`: none; those endpoints stay on the
  // public listener behind the operator role.
  std::optional<ListenAddress> admin_listen = ListenAddress{"127.0.0.1", 9901};
  int threads = 0;                  // 0: one per core
  Millis header_timeout = 10'000;   // whole header must arrive within this
  Millis idle_timeout = 60'000;     // keep-alive connection idle limit
  uint64_t max_header_bytes = 16 * 1024;
  int max_header_count = 100;
};

// Who may call Writ. Without `api_keys` every endpoint is open (local use,
// the demo).
struct AuthConfig {
  bool api_keys = false;
  // The server-side secret the keys' digests are made with: from
  // `${env:NAME}` or `${file:PATH}` (never printed).
  std::string pepper;
  // Besides `Authorization: Bearer KEY`, a header that may carry the key
  // (e.g. X-Api-Key); "" for none.
  std::string header;
  // How long a key read from the store is trusted before it is read again:
  // a revocation takes effect on every instance within this time.
  Millis cache_ttl = 5'000;
  // Client certificates (server.tls.client_ca) whose subject alternative
  // name (DNS or URI) stands for a principal, as a key would.
  struct ClientCert {
    std::string name;
    std::string tenant;
    unsigned roles = 0;
  };
  std::vector<ClientCert> client_certs;
  // Bearer JWTs from an identity provider (auth.jwt), verified with libjwt:
  // one algorithm, fixed; its key; `iss`, `aud`, `exp` and `nbf` checked
  // with `clock_skew`. The tenant and roles come from claims.
  struct Jwt {
    std::string algorithm;  // HS256, RS256 or ES256; "": no JWTs
    std::string key;        // HS256: the shared secret; RS256/ES256: the public key (PEM)
    std::string issuer, audience;
    std::string tenant_claim = "tenant", roles_claim = "roles";
    Millis clock_skew = 60'000;
    bool enabled() const { return !algorithm.empty(); }
  } jwt;
  bool enabled() const { return api_keys || !client_certs.empty() || jwt.enabled(); }
};

// Requests per second per tenant (OWASP API4): a token bucket of `burst`
// tokens refilled at `rate` per second; a call finding it empty is 429.
struct QuotaLimit {
  int rate = 0;   // requests per second; 0: no limit
  int burst = 0;  // bucket size; 0: equal to rate
  // Writes accepted and not finished (async submissions, buffered items)
  // at once; 0: no limit.
  int64_t max_pending = 0;
  // Live drafts (open or submitting) across the draft routes; 0: no limit.
  int64_t max_drafts = 0;
};
struct QuotaConfig {
  QuotaLimit limit;                            // every tenant not named below
  std::map<std::string, QuotaLimit> tenants;  // per tenant
  bool any() const {
    if (limit.rate > 0) return true;
    for (const auto& [t, l] : tenants)
      if (l.rate > 0) return true;
    return false;
  }
  bool any_pending() const {
    if (limit.max_pending > 0) return true;
    for (const auto& [t, l] : tenants)
      if (l.max_pending > 0) return true;
    return false;
  }
  const QuotaLimit& Of(const std::string& tenant) const {
    auto it = tenants.find(tenant);
    return it == tenants.end() ? limit : it->second;
  }
};

struct UpstreamConfig {
  std::string name;
  std::string host;
  uint16_t port = 80;
  std::string base_path;  // prefix for every upstream path, no trailing '/'
  // https:// upstreams: the server's certificate is verified against
  // `ca_file` (PEM), or the system's CAs without one, and must name `host`.
  bool tls = false;
  std::string ca_file;
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

// How to ask the master whether a write whose outcome is unknown was
// applied: a read whose answer holds the record the write created, looked up
// by the key Writ sent (e.g. GET /orders?clientRef={key}).
struct ProbeConfig {
  std::string method = "GET";
  std::string path;                // upstream path template with {key}; empty: no probe
  std::string found = "/items/0";  // JSON Pointer into a 2xx answer: present = applied, and the stored answer
  int answer_status = 200;         // status of the answer reconstructed from a probe
  Millis settle = 10'000;          // "not found" means "not applied" only this long after the attempt
  Millis interval = 5'000;         // least time between probes of one key (grows as the key ages)
  int rate = 10;                   // probes per second per route, at most
  bool enabled() const { return !path.empty(); }
};

struct IdempotencyConfig {
  bool required = true;
  Millis retention = 24 * 3'600'000LL;
  FingerprintMode fingerprint = FingerprintMode::kJson;
  std::vector<std::string> ignore_fields;  // JSON Pointers left out of the fingerprint
  StatusSet final_statuses;                // default: 2xx and 4xx except 408, 409, 429
  // Answers after which the master may have applied the request (a proxy's
  // 504, a 500 after the master's commit): handled as a lost answer, never
  // as "nothing applied". Default: 500, 502, 504 on on_unknown: park routes,
  // none on retry routes (a key-honouring master makes a re-send safe).
  StatusSet unknown_statuses;
  bool unknown_statuses_set = false;
  std::string upstream_header = "Idempotency-Key";
  OnUnknown on_unknown = OnUnknown::kRetry;
  Concurrent concurrent = Concurrent::kReject;
  Millis wait_timeout = 10'000;  // bound for concurrent: wait
  Millis lease = 30'000;         // in-flight lock lifetime; must exceed connect + request timeouts
  bool retention_set = false;    // `retention` given in the file (else queued routes may raise it)
  // How long the master remembers keys, if declared (e.g. 24h for Stripe);
  // 0: not declared. Checked against the route's retry horizon.
  Millis master_key_retention = 0;
  ProbeConfig probe;  // on_unknown: park routes only
};

// A write mode's own settings (its blocks of a route), parsed by the mode's
// ModeSpec; the mode's code reads them with RouteConfig::settings_as<T>().
class ModeConfig {
 public:
  virtual ~ModeConfig() = default;
};

// What every route has, whatever its mode.
struct RouteConfig {
  std::string name;  // defaults to "METHOD path" (a collection route: its path)
  std::string method;  // "" for a collection route (the mode serves several methods)
  std::string path;  // template, e.g. /orders/{id}
  std::string mode;  // a registered mode; a route without `mode:` gets the default one
  std::string upstream;
  std::string upstream_path;  // template; defaults to path
  uint64_t max_body_bytes = 1024 * 1024;
  IdempotencyConfig idempotency;
  std::vector<std::string> forward_headers;   // request headers passed to the master
  std::vector<std::string> response_headers;  // master headers returned and stored
  // Fields shown as "[redacted]" in the status API, events, webhooks,
  // lastError and the CLI (core/redact.h); the master still gets them.
  std::vector<std::string> redact;
  Redactor redactor;
  // The mode's own settings; never null once loaded.
  std::shared_ptr<const ModeConfig> settings;

  template <typename T>
  const T& settings_as() const {
    return static_cast<const T&>(*settings);
  }
};

struct StoreConfig {
  std::string url = "sqlite:./writ-data/writ.db";
  std::string sqlite_path() const;  // path part of a sqlite: URL
  int max_batch = 512;              // operations per group commit
  Millis gc_interval = 60'000;
  int gc_batch = 1'000;  // records deleted per GC transaction
};

// The NATS server the `sinks.nats` of routes publish to (a `nats:` block):
// JetStream, one stream for every route's events.
struct NatsConfig {
  std::string url;                     // nats://host:port, comma-separated for a cluster; "": no NATS
  std::string stream = "WRIT_EVENTS";  // checked at start; created if missing and create_stream
  std::vector<std::string> subjects = {"writ.events.>"};  // the stream's subjects when Writ creates it
  bool create_stream = true;
  Millis duplicate_window = 120'000;  // JetStream drops a second message with the same Nats-Msg-Id within it
  Millis timeout = 5'000;             // a publish not acknowledged by then is tried again
  Millis max_backoff = 30'000;        // longest wait between tries while NATS fails
  int batch = 512;                    // events read per page; up to 8 x batch in flight, 12 x held
  bool enabled() const { return !url.empty(); }
};

struct Config {
  std::string file;
  ServerConfig server;
  AuthConfig auth;
  QuotaConfig quotas;
  StoreConfig store;
  NatsConfig nats;
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteConfig> routes;

  const UpstreamConfig* FindUpstream(const std::string& name) const;
};

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  std::string message;
  bool warning = false;  // the config is usable, but probably not what was meant
  std::string ToString() const;
};

struct LoadedConfig {
  Config config;
  std::vector<ConfigError> errors;    // empty when the config is usable
  std::vector<ConfigError> warnings;  // in line order; never make the config unusable
};

class Reader;

// What the loader needs of a write mode (the pattern registry lists one per
// mode): its name, the route keys it reads, and its parser.
struct ModeContext {
  Reader& reader;
  const YAML::Node& node;                   // the route's mapping
  RouteConfig& route;                       // its common settings, already read
  const UpstreamConfig* upstream = nullptr;  // the route's upstream, if it names a known one
  // Every upstream of the config (read before the routes), for modes whose
  // parts name other upstreams (a saga's steps).
  const std::vector<UpstreamConfig>* upstreams = nullptr;
  const NatsConfig* nats = nullptr;  // the top-level `nats:` (read before the routes)
  // The upstream named `name`, or null.
  const UpstreamConfig* FindUpstream(const std::string& name) const {
    if (upstreams)
      for (const auto& u : *upstreams)
        if (u.name == name) return &u;
    return nullptr;
  }
};
struct ModeSpec {
  std::string name;                // mode: NAME
  std::vector<std::string> keys;   // route keys only this mode (or modes sharing them) read
  // A collection route has no method: the mode serves several methods
  // under its path (drafts). Otherwise the route is one method on one path.
  bool collection = false;
  // The mode of a route that names none (exactly one mode says so).
  bool is_default = false;
  // The mode runs idempotency.probe (settles unknown outcomes by asking the
  // master); elsewhere a probe is a config error.
  bool probes = false;
  // Reads the mode's keys (may adjust common settings, e.g. a key that is
  // optional by default); reports errors through ctx.reader. Never null.
  std::function<std::shared_ptr<const ModeConfig>(ModeContext& ctx)> parse;
  // Optional: checks that look at the other routes (an edge route's
  // references name edge routes), run once every route is read.
  std::function<void(Reader& reader, const RouteConfig& route, const std::vector<RouteConfig>& routes)> check;
};

// Loads a config; `modes` are the write modes a route may name (the pattern
// registry's). Every independent error is reported, in line order, once.
LoadedConfig LoadConfigFile(const std::string& path, const std::vector<ModeSpec>& modes);
LoadedConfig LoadConfigText(const std::string& text, const std::string& file_name,
                            const std::vector<ModeSpec>& modes);

}  // namespace writ
