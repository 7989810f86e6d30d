#include "config/config.h"

#include "core/api_key.h"
#include "core/units.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "config/reader.h"
#include "core/units.h"

namespace writ {

bool ParseListen(const std::string& text, ListenAddress& out) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return false;
  long p = std::stol(port);
  if (p > 65535) return false;
  out.host = host;
  out.port = static_cast<uint16_t>(p);
  return true;
}

bool StatusSet::Contains(int status) const {
  for (int e : exclude)
    if (e == status) return false;
  for (auto [lo, hi] : include)
    if (status >= lo && status <= hi) return true;
  return false;
}

std::string StoreConfig::sqlite_path() const {
  return url.rfind("sqlite:", 0) == 0 ? url.substr(7) : std::string();
}

const UpstreamConfig* Config::FindUpstream(const std::string& name) const {
  for (const auto& u : upstreams)
    if (u.name == name) return &u;
  return nullptr;
}

std::string ConfigError::ToString() const {
  std::ostringstream s;
  s << file;
  if (line > 0) s << ':' << line << ':' << column;
  s << ": " << (warning ? "warning: " : "") << message;
  return s.str();
}

namespace {

// Sizes no sane deployment exceeds; a larger value is a typo.
constexpr uint64_t kMaxBodyCeiling = 1ull << 30;        // 1 GiB per request body
constexpr uint64_t kMaxHeaderBytesCeiling = 1ull << 20;  // 1 MiB of request head

StatusSet DefaultFinalStatuses() {
  StatusSet s;
  s.include = {{200, 299}, {400, 499}};
  s.exclude = {408, 409, 429};
  return s;
}

void ReadServer(Reader& r, const YAML::Node& n, ServerConfig& s) {
  if (!r.CheckMap(n, "server", {"listen", "admin_listen", "tls", "threads", "header_timeout", "idle_timeout",
                                "max_header_bytes", "max_header_count"}))
    return;
  if (auto t = n["tls"]; t && r.CheckMap(t, "tls", {"cert", "key", "client_ca", "client_certs"})) {
    if (!t["cert"] || !t["key"]) r.Error(t, "tls needs both cert and key (PEM files)");
    r.File(t, "cert", s.tls.cert, "certificate file");
    r.File(t, "key", s.tls.key, "key file");
    r.File(t, "client_ca", s.tls.client_ca, "client CA file");
    std::string mode;
    if (auto c = t["client_certs"]; c && r.Scalar(c, "client_certs", mode)) {
      if (mode != "required" && mode != "optional")
        r.Error(c, "'client_certs' must be required or optional, got '" + mode + "'");
      else if (!t["client_ca"]) r.Error(c, "'client_certs' needs a client_ca to verify them with");
      s.tls.client_cert_required = mode != "optional";
    }
  }
  std::string listen;
  if (auto l = n["listen"]; l && r.Scalar(l, "listen", listen) && !ParseListen(listen, s.listen))
    r.Error(l, "'listen' must be host:port, got '" + listen + "'");
  std::string admin;
  if (auto l = n["admin_listen"]; l && r.Scalar(l, "admin_listen", admin)) {
    ListenAddress a;
    if (admin == "off") s.admin_listen.reset();
    else if (!ParseListen(admin, a))
      r.Error(l, "'admin_listen' must be host:port (e.g. 127.0.0.1:9901) or off, got '" + admin + "'");
    else s.admin_listen = a;
  }
  if (const auto& a = s.admin_listen; a && a->port != 0 && a->port == s.listen.port &&
                                      (a->host == s.listen.host || s.listen.host == "0.0.0.0"))
    r.Error(n["admin_listen"] ? n["admin_listen"] : n["listen"],
            "'admin_listen' (" + a->host + ":" + std::to_string(a->port) +
                ") must differ from 'listen': operator endpoints move off the public listener; "
                "set admin_listen to another port, or off");
  r.Int(n, "threads", s.threads, 0, 256);
  r.Duration(n, "header_timeout", s.header_timeout);
  r.Duration(n, "idle_timeout", s.idle_timeout);
  r.Size(n, "max_header_bytes", s.max_header_bytes, kMaxHeaderBytesCeiling);
  r.Int(n, "max_header_count", s.max_header_count, 1, 10'000);
}

void ReadJwt(Reader& r, const YAML::Node& j, AuthConfig::Jwt& c) {
  if (!r.CheckMap(j, "jwt", {"algorithm", "secret", "public_key", "issuer", "audience", "tenant_claim",
                             "roles_claim", "clock_skew"}))
    return;
  r.Str(j, "algorithm", c.algorithm);
  if (c.algorithm != "HS256" && c.algorithm != "RS256" && c.algorithm != "ES256") {
    r.Error(At(j, "algorithm"), "jwt needs an algorithm: HS256, RS256 or ES256 (one; tokens signed otherwise are refused)");
    c.algorithm.clear();
    return;
  }
  if (c.algorithm == "HS256") {
    if (j["public_key"]) r.Error(j["public_key"], "HS256 verifies with a shared secret: use secret, not public_key");
    if (!j["secret"]) r.Error(j, "HS256 needs a secret: ${env:NAME} or ${file:PATH}");
    else if (ReadSecret(r, j, "secret", c.key) && c.key.size() < 32)
      r.Error(j["secret"], "an HS256 secret must be at least 32 bytes (RFC 7518 3.2: at least the hash's size)");
  } else {
    if (j["secret"]) r.Error(j["secret"], c.algorithm + " verifies with a public key: use public_key (a PEM file)");
    std::string path;
    r.File(j, "public_key", path, "public key file");
    if (!j["public_key"]) r.Error(j, c.algorithm + " needs public_key: the PEM file of the identity provider's key");
    std::ifstream f(path);
    c.key.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (f && c.key.find("-----BEGIN PUBLIC KEY-----") == std::string::npos)
      r.Error(j["public_key"], "public_key must be a PEM public key (-----BEGIN PUBLIC KEY-----)");
  }
  r.Str(j, "issuer", c.issuer);
  r.Str(j, "audience", c.audience);
  if (c.issuer.empty() || c.audience.empty())
    r.Error(j, "jwt needs issuer and audience: tokens of another issuer or for another audience are refused");
  r.Str(j, "tenant_claim", c.tenant_claim);
  r.Str(j, "roles_claim", c.roles_claim);
  r.Duration(j, "clock_skew", c.clock_skew);
  if (c.clock_skew > 300'000) r.Error(j["clock_skew"], "clock_skew must be at most 5m");
}

void ReadAuth(Reader& r, const YAML::Node& n, AuthConfig& a) {
  if (!r.CheckMap(n, "auth", {"api_keys", "client_certs", "jwt"})) return;
  if (auto j = n["jwt"]) ReadJwt(r, j, a.jwt);
  if (auto c = n["client_certs"]) {
    if (!c.IsSequence()) {
      r.Error(c, "auth.client_certs is a list, e.g. - {name: orders.acme.internal, tenant: acme, roles: client}");
    } else {
      for (const auto& e : c) {
        if (!r.CheckMap(e, "a client_certs entry", {"name", "tenant", "roles"})) continue;
        AuthConfig::ClientCert cc;
        std::string roles;
        r.Str(e, "name", cc.name);
        r.Str(e, "tenant", cc.tenant);
        r.Str(e, "roles", roles);
        if (cc.name.empty() || cc.tenant.empty() || roles.empty()) {
          r.Error(e, "a client_certs entry needs name (a DNS or URI name of the certificate), tenant and roles");
          continue;
        }
        auto bits = ParseRoles(roles);
        if (!bits) r.Error(e["roles"], "roles must be a comma-separated list of client, reader, operator");
        else cc.roles = *bits;
        if (cc.tenant == "*" && (cc.roles & kRoleClient))
          r.Error(e["roles"], "a certificate of every tenant ('*') cannot be a client: name one tenant");
        a.client_certs.push_back(cc);
      }
    }
  }
  auto k = n["api_keys"];
  if (!k || !r.CheckMap(k, "api_keys", {"pepper", "header", "cache_ttl"})) return;
  a.api_keys = true;
  if (!k["pepper"]) r.Error(k, "api_keys needs a pepper: pepper: ${env:WRIT_AUTH_PEPPER} or ${file:PATH}");
  else if (ReadSecret(r, k, "pepper", a.pepper) && a.pepper.size() < 16)
    r.Error(k["pepper"], "the pepper must be at least 16 bytes (e.g. 32 random bytes, hex-encoded)");
  r.Str(k, "header", a.header);
  r.Duration(k, "cache_ttl", a.cache_ttl);
  if (k["cache_ttl"] && a.cache_ttl > 300'000) r.Error(k["cache_ttl"], "cache_ttl must be at most 5m");
}

void ReadQuotaLimit(Reader& r, const YAML::Node& n, const std::string& what, QuotaLimit& q) {
  r.Int(n, "rate", q.rate, 0, 1'000'000);
  r.Int(n, "burst", q.burst, 1, 10'000'000);
  if (auto m = n["max_pending"]) {
    int v = 0;
    r.Int(n, "max_pending", v, 1, 100'000'000);
    q.max_pending = v;
  }
  if (auto m = n["max_drafts"]) {
    int v = 0;
    r.Int(n, "max_drafts", v, 1, 100'000'000);
    q.max_drafts = v;
  }
  if (n["burst"] && q.burst < q.rate)
    r.Error(n["burst"], what + ": burst must be at least rate (a burst below it would cap the rate)");
}

void ReadQuotas(Reader& r, const YAML::Node& n, QuotaConfig& q) {
  if (!r.CheckMap(n, "quotas", {"rate", "burst", "max_pending", "max_drafts", "tenants"})) return;
  ReadQuotaLimit(r, n, "quotas", q.limit);
  auto t = n["tenants"];
  if (!t) return;
  if (!t.IsMap()) {
    r.Error(t, "quotas.tenants maps tenant names to {rate, burst}, e.g. acme: {rate: 100, burst: 200}");
    return;
  }
  for (auto it = t.begin(); it != t.end(); ++it) {
    std::string name = it->first.as<std::string>("");
    if (r.CheckMap(it->second, "quotas.tenants." + name, {"rate", "burst", "max_pending", "max_drafts"}))
      ReadQuotaLimit(r, it->second, "quotas.tenants." + name, q.tenants[name]);
  }
}

void ReadStore(Reader& r, const YAML::Node& n, StoreConfig& s) {
  if (n.IsScalar()) {
    s.url = n.Scalar();
  } else if (r.CheckMap(n, "store", {"url", "max_batch", "gc_interval", "gc_batch"})) {
    r.Str(n, "url", s.url);
    r.Int(n, "max_batch", s.max_batch, 1, 100'000);
    r.Duration(n, "gc_interval", s.gc_interval);
    r.Int(n, "gc_batch", s.gc_batch, 1, 1'000'000);
  } else {
    return;
  }
  const YAML::Node& at = n.IsScalar() ? n : At(n, "url");
  bool sqlite = s.url.rfind("sqlite:", 0) == 0 && s.url.size() > 7;
  bool postgres = s.url.rfind("postgres://", 0) == 0 || s.url.rfind("postgresql://", 0) == 0;
  if (!sqlite && !postgres)
    r.Error(at, "store url must be sqlite:PATH or postgres://user@host:port/db, got '" + s.url + "'");
  // A password belongs in PGPASSWORD or a 0600 PGPASSFILE, not in a config file.
  if (postgres) {
    auto at_sign = s.url.find('@'), colon = s.url.find(':', s.url.find("//") + 2);
    if (at_sign != std::string::npos && colon != std::string::npos && colon < at_sign)
      r.Error(at, "put the PostgreSQL password in PGPASSWORD or a 0600 PGPASSFILE, not in the store url");
  }
}

void ReadNats(Reader& r, const YAML::Node& n, NatsConfig& c) {
  if (!r.CheckMap(n, "nats", {"url", "stream", "subjects", "create_stream", "duplicate_window", "timeout",
                              "max_backoff", "batch"}))
    return;
  r.Str(n, "url", c.url);
  r.Str(n, "stream", c.stream);
  if (n["subjects"]) c.subjects.clear();  // given: replaces the default
  r.StrList(n, "subjects", c.subjects);
  r.Bool(n, "create_stream", c.create_stream);
  r.Duration(n, "duplicate_window", c.duplicate_window);
  r.Duration(n, "timeout", c.timeout);
  r.Duration(n, "max_backoff", c.max_backoff);
  r.Int(n, "batch", c.batch, 1, 10'000);
  if (!n["url"]) return r.Error(n, "nats needs a url, e.g. nats://127.0.0.1:4222");
  for (size_t from = 0; from <= c.url.size();) {
    size_t comma = std::min(c.url.find(',', from), c.url.size());
    std::string part = c.url.substr(from, comma - from);
    from = comma + 1;
    if (part.rfind("nats://", 0) == 0 && part.size() > 7) continue;
    return r.Error(n["url"], "nats url must be nats://host:port (comma-separated for a cluster), got '" + c.url + "'");
  }
  bool stream_ok = !c.stream.empty();
  for (char ch : c.stream)
    if (ch == '.' || ch == '*' || ch == '>' || ch == ' ' || ch == '/' || ch == '\\') stream_ok = false;
  if (!stream_ok) r.Error(At(n, "stream"), "nats stream must be a name without '.', '*', '>', '/' or spaces, got '" + c.stream + "'");
  if (c.subjects.empty()) r.Error(At(n, "subjects"), "nats subjects must name at least one subject, e.g. writ.events.>");
  if (c.duplicate_window < 1'000) r.Error(At(n, "duplicate_window"), "nats duplicate_window must be at least 1s");
  if (c.timeout < 100) r.Error(At(n, "timeout"), "nats timeout must be at least 100ms");
  // A publish whose acknowledgement was lost is sent again within timeout +
  // max_backoff; later than the stream's duplicate window, JetStream would
  // keep it twice.
  if (c.timeout + c.max_backoff >= c.duplicate_window)
    r.Warn(At(n, "duplicate_window"),
           "nats duplicate_window (" + FormatDuration(c.duplicate_window) + ") is not longer than timeout + max_backoff (" +
               FormatDuration(c.timeout + c.max_backoff) +
               "): a publish retried after its acknowledgement was lost could be stored twice");
}

void ReadUpstream(Reader& r, const std::string& name, const YAML::Node& n, UpstreamConfig& u) {
  u.name = name;
  if (!r.CheckMap(n, "upstream '" + name + "'",
                  {"url", "ca_file", "connect_timeout", "request_timeout", "pool_size"}))
    return;
  std::string url;
  auto un = n["url"];
  if (!un) {
    r.Error(n, "upstream '" + name + "' needs a url (http://host:port[/base])");
  } else if (r.Scalar(un, "url", url)) {
    if (!ParseHttpUrl(url, u.host, u.port, u.base_path, &u.tls)) {
      r.Error(un, "upstream url must be http[s]://host[:port][/base], got '" + url + "'");
    } else {
      while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
    }
  }
  r.File(n, "ca_file", u.ca_file, "CA file");
  if (n["ca_file"] && !u.tls) r.Error(n["ca_file"], "ca_file is for https:// upstreams");
  r.Duration(n, "connect_timeout", u.connect_timeout);
  r.Duration(n, "request_timeout", u.request_timeout);
  r.Int(n, "pool_size", u.pool_size, 1, 10'000);
}

void ReadProbe(Reader& r, const YAML::Node& n, ProbeConfig& p) {
  if (!r.CheckMap(n, "probe", {"method", "path", "found", "answer_status", "settle", "interval", "rate"})) return;
  r.Enum(n, "method", p.method, {{"GET", std::string("GET")}, {"POST", std::string("POST")}});
  if (!n["path"]) r.Error(n, "a probe needs a path with {key}, e.g. /orders?clientRef={key}");
  r.Str(n, "path", p.path);
  if (n["path"] && (p.path.empty() || p.path[0] != '/' || p.path.find("{key}") == std::string::npos))
    r.Error(n["path"], "probe path must start with / and hold {key} (the key Writ sent to the master), e.g. "
                       "/orders?clientRef={key}");
  r.Pointer(n, "found", p.found, "/items/0");
  r.Int(n, "answer_status", p.answer_status, 200, 299);
  r.Duration(n, "settle", p.settle);
  r.Duration(n, "interval", p.interval);
  if (n["interval"] && p.interval < 100) r.Error(n["interval"], "probe interval must be at least 100ms");
  r.Int(n, "rate", p.rate, 1, 10'000);
}

void ReadIdempotency(Reader& r, const YAML::Node& n, IdempotencyConfig& c) {
  if (!r.CheckMap(n, "idempotency",
                  {"required", "retention", "fingerprint", "ignore_fields", "final_statuses", "unknown_statuses",
                   "upstream_header", "on_unknown", "concurrent", "wait_timeout", "lease", "master_key_retention",
                   "probe"}))
    return;
  r.Bool(n, "required", c.required);
  r.Duration(n, "retention", c.retention);
  c.retention_set = static_cast<bool>(n["retention"]);
  r.Duration(n, "master_key_retention", c.master_key_retention);
  r.Enum(n, "fingerprint", c.fingerprint, {{"json", FingerprintMode::kJson}, {"raw", FingerprintMode::kRaw}});
  r.StrList(n, "ignore_fields", c.ignore_fields);
  for (size_t i = 0; i < c.ignore_fields.size(); ++i)
    if (c.ignore_fields[i].empty() || c.ignore_fields[i][0] != '/')
      r.Error(n["ignore_fields"][i], "ignore_fields entries are JSON Pointers such as /requestedAt");
  r.Statuses(n, "final_statuses", c.final_statuses);
  if (n["unknown_statuses"]) {
    r.Statuses(n, "unknown_statuses", c.unknown_statuses);
    c.unknown_statuses_set = true;
  }
  r.Str(n, "upstream_header", c.upstream_header);
  r.Enum(n, "on_unknown", c.on_unknown, {{"retry", OnUnknown::kRetry}, {"park", OnUnknown::kPark}});
  r.Enum(n, "concurrent", c.concurrent, {{"reject", Concurrent::kReject}, {"wait", Concurrent::kWait}});
  r.Duration(n, "wait_timeout", c.wait_timeout);
  r.Duration(n, "lease", c.lease);
  if (auto p = n["probe"]) {
    ReadProbe(r, p, c.probe);
    if (c.on_unknown != OnUnknown::kPark)
      r.Error(p, "a probe resolves unknown outcomes, which only on_unknown: park routes keep; set on_unknown: park");
  }
  if (!c.unknown_statuses_set && c.on_unknown == OnUnknown::kPark) c.unknown_statuses.include = {{500, 500}, {502, 502}, {504, 504}};
  for (int s = 100; s <= 599; ++s)
    if (c.unknown_statuses.Contains(s) && c.final_statuses.Contains(s)) {
      r.Error(n["unknown_statuses"] ? n["unknown_statuses"] : n, "status " + std::to_string(s) +
                                                                  " is in both final_statuses and unknown_statuses");
      break;
    }
}

bool ValidTemplate(const std::string& t) {
  if (t.empty() || t[0] != '/') return false;
  int depth = 0;
  for (char c : t) {
    if (c == '{') ++depth;
    else if (c == '}') --depth;
    if (depth < 0 || depth > 1) return false;
  }
  return depth == 0;
}

std::string JoinModes(const std::vector<std::string>& names, const char* last_sep) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? last_sep : ", ";
    out += names[i];
  }
  return out;
}

const std::set<std::string> kCommonRouteKeys = {"name", "method", "path", "mode", "upstream", "upstream_path",
                                                "max_body", "idempotency", "forward_headers", "response_headers",
                                                "redact"};

class ConfigLoader {
 public:
  ConfigLoader(Reader& r, Config& c, const std::vector<ModeSpec>& modes) : r_(r), c_(c), modes_(modes) {
    route_keys_ = kCommonRouteKeys;
    for (const auto& m : modes)
      for (const auto& k : m.keys) {
        route_keys_.insert(k);
        key_owners_[k].push_back(m.name);
      }
  }

  void Top(const YAML::Node& root) {
    if (!r_.CheckMap(root, "the top level", {"server", "auth", "quotas", "store", "nats", "upstreams", "routes"})) return;
    if (auto s = root["server"]) ReadServer(r_, s, c_.server);
    if (auto s = root["auth"]) ReadAuth(r_, s, c_.auth);
    if (auto s = root["quotas"]) ReadQuotas(r_, s, c_.quotas);
    if (auto s = root["store"]) ReadStore(r_, s, c_.store);
    if (auto s = root["nats"]) ReadNats(r_, s, c_.nats);
    Upstreams(root, root["upstreams"]);
    Routes(root, root["routes"]);
  }

  void Upstreams(const YAML::Node& root, const YAML::Node& ups) {
    have_upstreams_ = ups && ups.IsMap() && ups.size() > 0;
    if (!ups) {
      r_.Error(root, "'upstreams' is required: name at least one master, e.g. main: {url: http://127.0.0.1:9090}");
      return;
    }
    if (!have_upstreams_) {
      r_.Error(ups, "'upstreams' must map names to upstreams, e.g. main: {url: http://127.0.0.1:9090}");
      return;
    }
    for (auto it = ups.begin(); it != ups.end(); ++it) {
      UpstreamConfig u;
      ReadUpstream(r_, it->first.as<std::string>(""), it->second, u);
      c_.upstreams.push_back(u);
    }
  }

  void Routes(const YAML::Node& root, const YAML::Node& routes) {
    if (!routes || !routes.IsSequence() || routes.size() == 0) {
      r_.Error(routes ? routes : root, "'routes' must be a non-empty list of routes");
      return;
    }
    for (const auto& rn : routes) Route(rn);
    for (const auto& rt : c_.routes)
      for (const auto& m : modes_)
        if (m.name == rt.mode && m.check && rt.settings) m.check(r_, rt, c_.routes);
  }

  // One route; `rn` may come from a document parsed on its own (recovery
  // after a syntax error elsewhere), so nothing here looks at siblings.
  void Route(const YAML::Node& n) {
    RouteConfig rt;
    rt.idempotency.final_statuses = DefaultFinalStatuses();
    if (!r_.CheckMap(n, "route", route_keys_)) return;
    r_.Str(n, "method", rt.method);
    r_.Str(n, "path", rt.path);
    r_.Str(n, "mode", rt.mode);
    r_.Str(n, "upstream", rt.upstream);
    r_.Str(n, "upstream_path", rt.upstream_path);
    r_.Str(n, "name", rt.name);
    r_.Size(n, "max_body", rt.max_body_bytes, kMaxBodyCeiling);
    r_.StrList(n, "forward_headers", rt.forward_headers);
    r_.StrList(n, "redact", rt.redact);
    for (size_t i = 0; i < rt.redact.size(); ++i)
      if (!ValidRedactPointer(rt.redact[i]))
        r_.Error(n["redact"][i], "redact lists JSON Pointers such as /card/number or /items/*/ssn, got '" +
                                     rt.redact[i] + "'");
    rt.redactor = Redactor(rt.redact);
    r_.StrList(n, "response_headers", rt.response_headers);
    if (auto i = n["idempotency"]) ReadIdempotency(r_, i, rt.idempotency);

    const ModeSpec* mode = nullptr;
    for (const auto& m : modes_)
      if (rt.mode.empty() ? m.is_default : m.name == rt.mode) mode = &m;
    if (mode) rt.mode = mode->name;
    if (!mode) {
      std::vector<std::string> names;
      for (const auto& m : modes_) names.push_back(m.name);
      r_.Error(At(n, "mode"),
               "mode '" + rt.mode + "' is not available (this version supports: " + JoinModes(names, ", ") + ")");
    }
    if (mode && rt.idempotency.probe.enabled() && !mode->probes) {
      std::vector<std::string> names;
      for (const auto& m : modes_)
        if (m.probes) names.push_back(m.name);
      r_.Error(n["idempotency"]["probe"],
               "mode " + rt.mode + " does not probe; a probe runs on " + JoinModes(names, " and ") + " routes");
    }
    // A mode's keys on a route of another mode.
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string k = it->first.as<std::string>("");
      auto owners = key_owners_.find(k);
      if (!mode || owners == key_owners_.end()) continue;
      const auto& names = owners->second;
      if (std::find(names.begin(), names.end(), rt.mode) == names.end())
        r_.Error(it->second, "'" + k + "' applies to mode: " + JoinModes(names, " and ") + " routes only");
    }

    static const std::set<std::string> kMethods = {"POST", "PUT", "PATCH", "DELETE"};
    if (mode && mode->collection) {
      if (n["method"])
        r_.Error(n["method"], "a mode: " + rt.mode + " route serves several methods under its path; drop 'method'");
      rt.method.clear();
    } else if (!n["method"]) {
      r_.Error(n, "route needs a method");
    } else if (!kMethods.count(rt.method)) {
      r_.Error(n["method"], "method must be POST, PUT, PATCH or DELETE");
    }
    if (!n["path"]) r_.Error(n, "route needs a path");
    else if (!ValidTemplate(rt.path)) r_.Error(n["path"], "path must start with '/' and use {name} params");
    else if (rt.path.rfind("/v1/", 0) == 0 || rt.path == "/v1" || rt.path == "/healthz" || rt.path == "/readyz" ||
             rt.path == "/metrics" || rt.path.rfind("/.well-known/", 0) == 0)
      r_.Error(n["path"], "path '" + rt.path + "' is Writ's own (/v1/, /healthz, /readyz, /metrics, /.well-known/)");
    if (!n["upstream"]) r_.Error(n, "route needs an upstream");
    if (rt.upstream_path.empty()) rt.upstream_path = rt.path;
    else if (!ValidTemplate(rt.upstream_path)) r_.Error(n["upstream_path"], "upstream_path must start with '/'");
    if (rt.name.empty()) rt.name = rt.method.empty() ? rt.path : rt.method + " " + rt.path;
    CheckParamsAndHeaders(n, rt);

    const UpstreamConfig* up = c_.FindUpstream(rt.upstream);
    if (!rt.upstream.empty() && have_upstreams_ && !up)
      r_.Error(n["upstream"], "route '" + rt.name + "' names unknown upstream '" + rt.upstream + "'");
    // A holder must finish (connect + request) before its lease can be taken over.
    if (up && rt.idempotency.lease <= up->connect_timeout + up->request_timeout)
      r_.Error(At(n, "idempotency"), "idempotency lease (" + FormatDuration(rt.idempotency.lease) +
                                         ") must exceed the upstream connect_timeout + request_timeout (" +
                                         FormatDuration(up->connect_timeout + up->request_timeout) + ")");
    if (mode) {
      ModeContext ctx{r_, n, rt, up, &c_.upstreams, &c_.nats};
      rt.settings = mode->parse(ctx);
    }

    // A route that defaults its name to METHOD path and repeats another's
    // method and path is one mistake: say it once.
    bool dup_name = !seen_names_.insert(rt.name).second;
    bool dup_path = !rt.path.empty() && !seen_paths_.insert(rt.method + " " + rt.path).second;
    if (dup_path) r_.Error(n, "duplicate route " + (rt.method.empty() ? "" : rt.method + " ") + rt.path);
    else if (dup_name) r_.Error(n, "duplicate route name '" + rt.name + "'");
    c_.routes.push_back(std::move(rt));
  }

 private:
  void CheckParamsAndHeaders(const YAML::Node& n, const RouteConfig& rt) {
    // Every {param} the master's path uses must come from the route's path.
    auto params = [](const std::string& t) {
      std::set<std::string> out;
      for (size_t i = t.find('{'); i != std::string::npos; i = t.find('{', i + 1))
        out.insert(t.substr(i + 1, t.find('}', i) - i - 1));
      return out;
    };
    auto have = params(rt.path);
    for (const auto& p : params(rt.upstream_path))
      if (!have.count(p))
        r_.Error(At(n, "upstream_path"),
                 "upstream_path uses {" + p + "}, which path '" + rt.path + "' does not define");
    // Headers Writ itself sets or that frame the message cannot be forwarded.
    static const std::set<std::string> kReserved = {"host", "content-length", "transfer-encoding", "connection",
                                                    "upgrade", "te", "trailer", "keep-alive", "idempotency-key",
                                                    "content-type", "x-request-id"};
    for (size_t i = 0; i < rt.forward_headers.size(); ++i) {
      std::string lower;
      for (char c : rt.forward_headers[i]) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (kReserved.count(lower))
        r_.Error(n["forward_headers"][i], "'" + rt.forward_headers[i] +
                                              "' cannot be listed in forward_headers: writ sets it itself or it "
                                              "frames the message");
    }
  }

  Reader& r_;
  Config& c_;
  const std::vector<ModeSpec>& modes_;
  std::set<std::string> route_keys_;
  std::map<std::string, std::vector<std::string>> key_owners_;  // mode key -> modes reading it
  bool have_upstreams_ = false;
  std::set<std::string> seen_names_, seen_paths_;
};

// Part of a config file re-parsed on its own after a syntax error.
struct Block {
  int first_line = 0;  // 0-based
  std::string text;
};

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::string cur;
  for (char ch : text) {
    if (ch == '\n') {
      lines.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) lines.push_back(cur);
  return lines;
}

bool Blank(const std::string& l) {
  auto p = l.find_first_not_of(" \t");
  return p == std::string::npos || l[p] == '#';
}

// Blocks that start where `starts(line)` holds, each padded with blank
// lines in front so that positions in it are positions in the file.
std::vector<Block> SplitBlocks(const std::vector<std::string>& lines, size_t from, size_t to,
                               const std::function<bool(const std::string&)>& starts) {
  std::vector<Block> out;
  for (size_t i = from; i < to; ++i) {
    if (Blank(lines[i])) continue;
    if (out.empty() || starts(lines[i])) out.push_back({static_cast<int>(i), std::string(i, '\n')});
    out.back().text += lines[i] + "\n";
  }
  return out;
}

// After a syntax error: check what parses of the rest. Top-level sections
// are parsed one by one; in a `routes:` section that does not parse, each
// list item is. Errors of the parts that parse are reported as usual; the
// part with the syntax error is reported by it alone.
// The routes of a `routes:` section (at `head`) that does not parse as a
// whole, one by one. True if one of them had the syntax error and said so.
bool RecoverRoutes(const std::vector<std::string>& lines, size_t head, Reader& r, ConfigLoader& loader) {
  size_t end = head + 1;
  while (end < lines.size() && (Blank(lines[end]) || lines[end][0] == ' ' || lines[end][0] == '-')) ++end;
  size_t first = head + 1;
  while (first < end && Blank(lines[first])) ++first;
  if (first >= end) return false;
  size_t indent = lines[first].find_first_not_of(' ');
  auto items = SplitBlocks(lines, first, end, [indent](const std::string& l) {
    return l.size() > indent && l.find_first_not_of(' ') == indent && l[indent] == '-';
  });
  bool reported = false;
  for (const auto& item : items) {
    try {
      YAML::Node seq = YAML::Load(item.text);
      if (seq.IsSequence())
        for (const auto& rn : seq) loader.Route(rn);
    } catch (const YAML::Exception& e) {
      r.ErrorAt(e.mark.line + 1, e.mark.column + 1, e.msg);
      reported = true;
    }
  }
  return reported;
}

// Returns whether a part alone had a syntax error (it then says where,
// more precisely than the whole file's parse).
bool Recover(const std::string& text, Reader& r, ConfigLoader& loader, Config& c) {
  bool found = false;
  auto lines = SplitLines(text);
  auto top = SplitBlocks(lines, 0, lines.size(), [](const std::string& l) { return l[0] != ' ' && l[0] != '-'; });
  // Routes last: they are checked against the upstreams.
  std::stable_partition(top.begin(), top.end(),
                        [&](const Block& b) { return lines[b.first_line].rfind("routes:", 0) != 0; });
  for (const auto& b : top) {
    YAML::Node doc;
    try {
      doc = YAML::Load(b.text);
    } catch (const YAML::Exception& e) {
      found = true;
      // The routes section is split further, one route each; the route with
      // the syntax error reports it.
      if (lines[b.first_line].rfind("routes:", 0) != 0 || !RecoverRoutes(lines, b.first_line, r, loader))
        r.ErrorAt(e.mark.line + 1, e.mark.column + 1, e.msg);
      continue;
    }
    if (!doc.IsMap()) continue;
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      std::string k = it->first.as<std::string>("");
      if (k == "server") ReadServer(r, it->second, c.server);
      else if (k == "auth") ReadAuth(r, it->second, c.auth);
      else if (k == "quotas") ReadQuotas(r, it->second, c.quotas);
      else if (k == "store") ReadStore(r, it->second, c.store);
      else if (k == "nats") ReadNats(r, it->second, c.nats);
      else if (k == "upstreams") loader.Upstreams(doc, it->second);
      else if (k == "routes") loader.Routes(doc, it->second);
      else r.Error(it->first, "unknown key '" + k + "' in the top level (expected one of: auth, nats, quotas, routes, server, store, upstreams)");
    }
  }
  return found;
}

}  // namespace

LoadedConfig LoadConfigText(const std::string& text, const std::string& file_name, const std::vector<ModeSpec>& modes) {
  LoadedConfig out;
  out.config.file = file_name;
  Reader r(file_name, out.errors);
  ConfigLoader loader(r, out.config, modes);
  try {
    YAML::Node root = YAML::Load(text);
    loader.Top(root);
  } catch (const YAML::ParserException& e) {
    std::vector<ConfigError> recovered;
    Reader rr(file_name, recovered);
    ConfigLoader again(rr, out.config, modes);
    if (!Recover(text, rr, again, out.config))
      out.errors.push_back({file_name, e.mark.line + 1, e.mark.column + 1, e.msg});
    out.errors.insert(out.errors.end(), recovered.begin(), recovered.end());
  } catch (const YAML::Exception& e) {  // e.g. a bad conversion deep in a node
    out.errors.push_back({file_name, e.mark.line + 1, e.mark.column + 1, e.msg});
  }
  // Warnings apart; each list in line order, each entry once.
  auto w = std::stable_partition(out.errors.begin(), out.errors.end(), [](const ConfigError& e) { return !e.warning; });
  out.warnings.assign(w, out.errors.end());
  out.errors.erase(w, out.errors.end());
  std::stable_sort(out.warnings.begin(), out.warnings.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  out.warnings.erase(std::unique(out.warnings.begin(), out.warnings.end(),
                                 [](const ConfigError& a, const ConfigError& b) {
                                   return a.line == b.line && a.message == b.message;
                                 }),
                     out.warnings.end());
  std::stable_sort(out.errors.begin(), out.errors.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  out.errors.erase(std::unique(out.errors.begin(), out.errors.end(),
                               [](const ConfigError& a, const ConfigError& b) {
                                 return a.line == b.line && a.column == b.column && a.message == b.message;
                               }),
                   out.errors.end());
  return out;
}

LoadedConfig LoadConfigFile(const std::string& path, const std::vector<ModeSpec>& modes) {
  std::ifstream in(path);
  if (!in) {
    LoadedConfig out;
    out.errors.push_back({path, 0, 0, "cannot read file"});
    return out;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadConfigText(ss.str(), path, modes);
}

}  // namespace writ
