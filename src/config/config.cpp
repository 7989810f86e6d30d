#include "config/config.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <boost/url/parse.hpp>
#include <yaml-cpp/yaml.h>

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
  s << ": " << message;
  return s.str();
}

namespace {

StatusSet DefaultFinalStatuses() {
  StatusSet s;
  s.include = {{200, 299}, {400, 499}};
  s.exclude = {408, 409, 429};
  return s;
}

// Walks the YAML tree, converting values and collecting every error.
class Reader {
 public:
  Reader(std::string file, std::vector<ConfigError>& errors) : file_(std::move(file)), errors_(errors) {}

  void Error(const YAML::Node& at, const std::string& msg) {
    ConfigError e{file_, 0, 0, msg};
    if (at.IsDefined() && at.Mark().line >= 0) {
      e.line = at.Mark().line + 1;
      e.column = at.Mark().column + 1;
    }
    errors_.push_back(std::move(e));
  }

  // Reports keys of a map that are not in `known`. False if `n` is no map.
  bool CheckMap(const YAML::Node& n, const std::string& what, std::set<std::string> known) {
    if (!n.IsMap()) {
      Error(n, what + " must be a mapping");
      return false;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string k = it->first.as<std::string>("");
      if (!known.count(k)) {
        std::string list;
        for (const auto& s : known) list += (list.empty() ? "" : ", ") + s;
        Error(it->first, "unknown key '" + k + "' in " + what + " (expected one of: " + list + ")");
      }
    }
    return true;
  }

  bool Scalar(const YAML::Node& n, const std::string& key, std::string& out) {
    if (!n.IsScalar()) {
      Error(n, "'" + key + "' must be a scalar");
      return false;
    }
    out = n.Scalar();
    return true;
  }

  void Str(const YAML::Node& parent, const std::string& key, std::string& out) {
    if (auto n = parent[key]) Scalar(n, key, out);
  }

  void Duration(const YAML::Node& parent, const std::string& key, Millis& out) {
    auto n = parent[key];
    std::string s;
    if (!n || !Scalar(n, key, s)) return;
    auto d = ParseDuration(s);
    if (!d) return Error(n, "'" + key + "': invalid duration '" + s + "' (use e.g. 250ms, 30s, 5m, 24h)");
    out = *d;
  }

  void Size(const YAML::Node& parent, const std::string& key, uint64_t& out) {
    auto n = parent[key];
    std::string s;
    if (!n || !Scalar(n, key, s)) return;
    auto v = ParseSize(s);
    if (!v) return Error(n, "'" + key + "': invalid size '" + s + "' (use e.g. 65536, 64KiB, 1MiB)");
    out = *v;
  }

  void Int(const YAML::Node& parent, const std::string& key, int& out, int lo, int hi) {
    auto n = parent[key];
    std::string s;
    if (!n || !Scalar(n, key, s)) return;
    try {
      size_t used = 0;
      long v = std::stol(s, &used);
      if (used != s.size() || v < lo || v > hi) throw std::out_of_range(s);
      out = static_cast<int>(v);
    } catch (const std::exception&) {
      Error(n, "'" + key + "' must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
  }

  void Bool(const YAML::Node& parent, const std::string& key, bool& out) {
    auto n = parent[key];
    std::string s;
    if (!n || !Scalar(n, key, s)) return;
    if (s == "true" || s == "yes") out = true;
    else if (s == "false" || s == "no") out = false;
    else Error(n, "'" + key + "' must be true or false");
  }

  template <typename E>
  void Enum(const YAML::Node& parent, const std::string& key, E& out,
            std::initializer_list<std::pair<const char*, E>> choices) {
    auto n = parent[key];
    std::string s;
    if (!n || !Scalar(n, key, s)) return;
    std::string list;
    for (auto& [name, value] : choices) {
      if (s == name) {
        out = value;
        return;
      }
      list += (list.empty() ? "" : ", ") + std::string(name);
    }
    Error(n, "'" + key + "': '" + s + "' is not one of: " + list);
  }

  void StrList(const YAML::Node& parent, const std::string& key, std::vector<std::string>& out) {
    auto n = parent[key];
    if (!n) return;
    if (!n.IsSequence()) return Error(n, "'" + key + "' must be a list");
    for (const auto& item : n) {
      std::string s;
      if (Scalar(item, key, s)) out.push_back(s);
    }
  }

  void Statuses(const YAML::Node& parent, const std::string& key, StatusSet& out) {
    auto n = parent[key];
    if (!n) return;
    if (!n.IsSequence()) return Error(n, "'" + key + "' must be a list such as [2xx, 4xx, '!409']");
    StatusSet set;
    for (const auto& item : n) {
      std::string s;
      if (!Scalar(item, key, s)) continue;
      bool neg = !s.empty() && s[0] == '!';
      std::string t = neg ? s.substr(1) : s;
      int lo = 0, hi = 0;
      if (t.size() == 3 && t[0] >= '1' && t[0] <= '5' && t.substr(1) == "xx") {
        lo = (t[0] - '0') * 100;
        hi = lo + 99;
      } else if (t.size() == 7 && t[3] == '-' && t.find_first_not_of("0123456789-") == std::string::npos) {
        lo = std::stoi(t.substr(0, 3));
        hi = std::stoi(t.substr(4));
      } else if (t.size() == 3 && t.find_first_not_of("0123456789") == std::string::npos) {
        lo = hi = std::stoi(t);
      }
      if (lo < 100 || hi > 599 || lo > hi) {
        Error(item, "'" + s + "' is not a status, a class like 2xx, a range like 400-407, or '!NNN'");
        continue;
      }
      if (neg) {
        for (int c = lo; c <= hi; ++c) set.exclude.push_back(c);
      } else {
        set.include.emplace_back(lo, hi);
      }
    }
    out = set;
  }

 private:
  std::string file_;
  std::vector<ConfigError>& errors_;
};

void ReadServer(Reader& r, const YAML::Node& n, ServerConfig& s) {
  if (!r.CheckMap(n, "server", {"listen", "threads", "header_timeout", "idle_timeout",
                                "max_header_bytes", "max_header_count"}))
    return;
  std::string listen;
  if (auto l = n["listen"]; l && r.Scalar(l, "listen", listen) && !ParseListen(listen, s.listen))
    r.Error(l, "'listen' must be host:port, got '" + listen + "'");
  r.Int(n, "threads", s.threads, 0, 256);
  r.Duration(n, "header_timeout", s.header_timeout);
  r.Duration(n, "idle_timeout", s.idle_timeout);
  r.Size(n, "max_header_bytes", s.max_header_bytes);
  r.Int(n, "max_header_count", s.max_header_count, 1, 10'000);
}

void ReadStore(Reader& r, const YAML::Node& n, StoreConfig& s) {
  if (n.IsScalar()) {
    s.url = n.Scalar();
  } else if (r.CheckMap(n, "store", {"url", "max_batch", "gc_interval", "gc_batch"})) {
    r.Str(n, "url", s.url);
    r.Int(n, "max_batch", s.max_batch, 1, 100'000);
    r.Duration(n, "gc_interval", s.gc_interval);
    r.Int(n, "gc_batch", s.gc_batch, 1, 1'000'000);
  }
  const YAML::Node& at = n.IsScalar() ? n : n["url"];
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

bool ParseHttpUrl(const std::string& url, std::string& host, uint16_t& port, std::string& path) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || parsed->scheme() != "http" || parsed->host().empty()) return false;
  host = std::string(parsed->host());
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  port = parsed->has_port() ? parsed->port_number() : 80;
  path = std::string(parsed->encoded_path());
  return true;
}

void ReadUpstream(Reader& r, const std::string& name, const YAML::Node& n, UpstreamConfig& u) {
  u.name = name;
  if (!r.CheckMap(n, "upstream '" + name + "'", {"url", "connect_timeout", "request_timeout", "pool_size"}))
    return;
  std::string url;
  auto un = n["url"];
  if (!un) {
    r.Error(n, "upstream '" + name + "' needs a url (http://host:port[/base])");
  } else if (r.Scalar(un, "url", url)) {
    if (!ParseHttpUrl(url, u.host, u.port, u.base_path)) {
      r.Error(un, "upstream url must be http://host[:port][/base], got '" + url + "'");
    } else {
      while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
    }
  }
  r.Duration(n, "connect_timeout", u.connect_timeout);
  r.Duration(n, "request_timeout", u.request_timeout);
  r.Int(n, "pool_size", u.pool_size, 1, 10'000);
}

void ReadIdempotency(Reader& r, const YAML::Node& n, IdempotencyConfig& c) {
  if (!r.CheckMap(n, "idempotency",
                  {"required", "retention", "fingerprint", "ignore_fields", "final_statuses",
                   "upstream_header", "on_unknown", "concurrent", "wait_timeout", "lease"}))
    return;
  r.Bool(n, "required", c.required);
  r.Duration(n, "retention", c.retention);
  r.Enum(n, "fingerprint", c.fingerprint, {{"json", FingerprintMode::kJson}, {"raw", FingerprintMode::kRaw}});
  r.StrList(n, "ignore_fields", c.ignore_fields);
  for (size_t i = 0; i < c.ignore_fields.size(); ++i)
    if (c.ignore_fields[i].empty() || c.ignore_fields[i][0] != '/')
      r.Error(n["ignore_fields"][i], "ignore_fields entries are JSON Pointers such as /requestedAt");
  r.Statuses(n, "final_statuses", c.final_statuses);
  r.Str(n, "upstream_header", c.upstream_header);
  r.Enum(n, "on_unknown", c.on_unknown, {{"retry", OnUnknown::kRetry}, {"park", OnUnknown::kPark}});
  r.Enum(n, "concurrent", c.concurrent, {{"reject", Concurrent::kReject}, {"wait", Concurrent::kWait}});
  r.Duration(n, "wait_timeout", c.wait_timeout);
  r.Duration(n, "lease", c.lease);
}

void ReadAsync(Reader& r, const YAML::Node& n, AsyncConfig& a) {
  if (!r.CheckMap(n, "async", {"max_attempts", "max_age", "backoff_base", "backoff_max", "concurrency",
                               "ordering_key", "canonical_id", "lease", "poll_interval", "retention"}))
    return;
  r.Int(n, "max_attempts", a.max_attempts, 1, 1'000);
  r.Duration(n, "max_age", a.max_age);
  r.Duration(n, "backoff_base", a.backoff_base);
  r.Duration(n, "backoff_max", a.backoff_max);
  r.Int(n, "concurrency", a.concurrency, 1, 4'096);
  r.Str(n, "ordering_key", a.ordering_key);
  r.Str(n, "canonical_id", a.canonical_id);
  r.Duration(n, "lease", a.lease);
  r.Duration(n, "poll_interval", a.poll_interval);
  r.Duration(n, "retention", a.retention);
  for (const char* k : {"ordering_key", "canonical_id"}) {
    const std::string& v = std::string(k) == "ordering_key" ? a.ordering_key : a.canonical_id;
    if (n[k] && !v.empty() && v[0] != '/')
      r.Error(n[k], std::string("'") + k + "' must be a JSON Pointer such as /accountId");
  }
  if (a.backoff_base <= 0) r.Error(n["backoff_base"], "'backoff_base' must be positive");
  if (a.backoff_max < a.backoff_base) r.Error(n["backoff_max"] ? n["backoff_max"] : n, "'backoff_max' must be >= backoff_base");
  if (a.poll_interval <= 0) r.Error(n["poll_interval"], "'poll_interval' must be positive");
}

// "500/s", "30000/m" or a plain number of items per second.
bool ParseRate(const std::string& text, double& out) {
  std::string num = text;
  double per = 1;
  if (auto slash = text.find('/'); slash != std::string::npos) {
    num = text.substr(0, slash);
    std::string unit = text.substr(slash + 1);
    if (unit == "s") per = 1;
    else if (unit == "m") per = 60;
    else if (unit == "h") per = 3600;
    else return false;
  }
  if (num.empty() || num.find_first_not_of("0123456789.") != std::string::npos) return false;
  try {
    out = std::stod(num) / per;
  } catch (...) {
    return false;
  }
  return out >= 0;
}

void ReadBuffered(Reader& r, const YAML::Node& n, BufferedConfig& b) {
  if (!r.CheckMap(n, "buffered", {"item_key", "max_items", "max_pending_items", "batch_size", "bulk_path", "rate",
                                  "burst", "reject", "dedup_window", "results", "item_status"}))
    return;
  r.Str(n, "item_key", b.item_key);
  r.Int(n, "max_items", b.max_items, 1, 1'000'000);
  r.Int(n, "max_pending_items", b.max_pending_items, 1, 100'000'000);
  r.Int(n, "batch_size", b.batch_size, 1, 10'000);
  r.Str(n, "bulk_path", b.bulk_path);
  std::string rate;
  if (auto rn = n["rate"]; rn && r.Scalar(rn, "rate", rate) && !ParseRate(rate, b.rate))
    r.Error(rn, "rate must be items per second such as 500/s (or /m, /h), got '" + rate + "'");
  r.Int(n, "burst", b.burst, 0, 1'000'000);
  std::string reject = "item";
  r.Str(n, "reject", reject);
  if (reject != "item" && reject != "batch") r.Error(n["reject"], "reject must be item or batch");
  b.reject_batch = reject == "batch";
  r.Duration(n, "dedup_window", b.dedup_window);
  r.Str(n, "results", b.results);
  r.Str(n, "item_status", b.item_status);
  for (const char* k : {"item_key", "results", "item_status"}) {
    std::string v = n[k] ? n[k].as<std::string>("") : "";
    if (n[k] && (v.empty() || v[0] != '/')) r.Error(n[k], std::string("'") + k + "' must be a JSON Pointer such as /sku");
  }
  if (n["bulk_path"] && (b.bulk_path.empty() || b.bulk_path[0] != '/'))
    r.Error(n["bulk_path"], "bulk_path must start with '/'");
  if (b.burst == 0) b.burst = b.batch_size;
}

void ReadNotify(Reader& r, const YAML::Node& n, NotifyConfig& c) {
  if (!r.CheckMap(n, "notify", {"url", "secret", "timeout"})) return;
  r.Str(n, "url", c.url);
  r.Str(n, "secret", c.secret);
  r.Duration(n, "timeout", c.timeout);
  if (!n["url"]) return r.Error(n, "notify needs a url (http://host:port/path)");
  if (!ParseHttpUrl(c.url, c.host, c.port, c.path))
    r.Error(n["url"], "notify url must be http://host[:port]/path, got '" + c.url + "'");
  if (c.path.empty()) c.path = "/";
  if (!n["secret"] || c.secret.size() < 8)
    r.Error(n["secret"] ? n["secret"] : n,
            "notify needs a secret of at least 8 characters (Standard Webhooks: whsec_<base64>)");
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

void ReadRoute(Reader& r, const YAML::Node& n, RouteConfig& rt) {
  if (!r.CheckMap(n, "route", {"name", "method", "path", "mode", "upstream", "upstream_path",
                               "max_body", "idempotency", "forward_headers", "response_headers", "validate",
                               "async", "notify", "buffered"}))
    return;
  r.Str(n, "method", rt.method);
  r.Str(n, "path", rt.path);
  r.Str(n, "mode", rt.mode);
  r.Str(n, "upstream", rt.upstream);
  r.Str(n, "upstream_path", rt.upstream_path);
  r.Str(n, "name", rt.name);
  r.Size(n, "max_body", rt.max_body_bytes);
  r.StrList(n, "forward_headers", rt.forward_headers);
  r.StrList(n, "response_headers", rt.response_headers);
  if (auto i = n["idempotency"]) ReadIdempotency(r, i, rt.idempotency);
  r.Str(n, "validate", rt.validate);
  if (auto a = n["async"]) ReadAsync(r, a, rt.async);
  if (auto a = n["notify"]) ReadNotify(r, a, rt.notify);
  if (auto b = n["buffered"]) ReadBuffered(r, b, rt.buffered);
  if (rt.mode == "buffered") {
    // A batch upload is NDJSON or a JSON array: its fingerprint is its bytes.
    // Producer-Id/Producer-Seq can dedupe instead, so a key is optional
    // unless the route says otherwise.
    rt.idempotency.fingerprint = FingerprintMode::kRaw;
    if (!(n["idempotency"] && n["idempotency"]["required"])) rt.idempotency.required = false;
    if (rt.buffered.burst < 1) rt.buffered.burst = rt.buffered.batch_size;
  }

  static const std::set<std::string> kMethods = {"POST", "PUT", "PATCH", "DELETE"};
  if (!n["method"]) r.Error(n, "route needs a method");
  else if (!kMethods.count(rt.method)) r.Error(n["method"], "method must be POST, PUT, PATCH or DELETE");
  if (!n["path"]) r.Error(n, "route needs a path");
  else if (!ValidTemplate(rt.path)) r.Error(n["path"], "path must start with '/' and use {name} params");
  if (rt.mode != "sync" && rt.mode != "async" && rt.mode != "buffered")
    r.Error(n["mode"], "mode '" + rt.mode + "' is not available (this version supports: sync, async, buffered)");
  if (rt.mode != "async" && n["notify"]) r.Error(n["notify"], "'notify' applies to mode: async routes only");
  if (rt.mode == "sync" && n["async"]) r.Error(n["async"], "'async' applies to mode: async and buffered routes only");
  if (rt.mode != "buffered" && n["buffered"])
    r.Error(n["buffered"], "'buffered' applies to mode: buffered routes only");
  if (rt.mode == "buffered" && rt.method != "POST" && n["method"])
    r.Error(n["method"], "buffered routes take batch uploads with POST");
  if (!n["upstream"]) r.Error(n, "route needs an upstream");
  if (rt.upstream_path.empty()) rt.upstream_path = rt.path;
  else if (!ValidTemplate(rt.upstream_path)) r.Error(n["upstream_path"], "upstream_path must start with '/'");
  if (rt.name.empty()) rt.name = rt.method + " " + rt.path;

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
      r.Error(n["upstream_path"] ? n["upstream_path"] : n,
              "upstream_path uses {" + p + "}, which path '" + rt.path + "' does not define");
  // Headers Writ itself sets or that frame the message cannot be forwarded.
  static const std::set<std::string> kReserved = {"host", "content-length", "transfer-encoding", "connection",
                                                  "upgrade", "te", "trailer", "keep-alive", "idempotency-key",
                                                  "content-type", "x-request-id"};
  for (size_t i = 0; i < rt.forward_headers.size(); ++i) {
    std::string lower;
    for (char c : rt.forward_headers[i]) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (kReserved.count(lower))
      r.Error(n["forward_headers"][i], "'" + rt.forward_headers[i] +
                                           "' cannot be listed in forward_headers: writ sets it itself or it frames "
                                           "the message");
  }
}

}  // namespace

LoadedConfig LoadConfigText(const std::string& text, const std::string& file_name) {
  LoadedConfig out;
  out.config.file = file_name;
  Reader r(file_name, out.errors);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    out.errors.push_back({file_name, e.mark.line + 1, e.mark.column + 1, e.msg});
    return out;
  }
  Config& c = out.config;
  if (!r.CheckMap(root, "the top level", {"server", "store", "upstreams", "routes"})) return out;
  if (auto s = root["server"]) ReadServer(r, s, c.server);
  if (auto s = root["store"]) ReadStore(r, s, c.store);

  auto ups = root["upstreams"];
  if (!ups) {
    r.Error(root, "'upstreams' is required: name at least one master, e.g. main: {url: http://127.0.0.1:9090}");
  } else if (!ups.IsMap() || ups.size() == 0) {
    r.Error(ups, "'upstreams' must map names to upstreams, e.g. main: {url: http://127.0.0.1:9090}");
  }
  if (ups && ups.IsMap()) {
    for (auto it = ups.begin(); it != ups.end(); ++it) {
      UpstreamConfig u;
      ReadUpstream(r, it->first.as<std::string>(""), it->second, u);
      c.upstreams.push_back(u);
    }
  }

  auto routes = root["routes"];
  if (!routes || !routes.IsSequence() || routes.size() == 0) {
    r.Error(routes ? routes : root, "'routes' must be a non-empty list of routes");
  } else {
    std::set<std::string> seen_names, seen_paths;
    for (const auto& rn : routes) {
      RouteConfig rt;
      rt.idempotency.final_statuses = DefaultFinalStatuses();
      ReadRoute(r, rn, rt);
      if (!rt.upstream.empty() && ups && !c.FindUpstream(rt.upstream))
        r.Error(rn["upstream"], "route '" + rt.name + "' names unknown upstream '" + rt.upstream + "'");
      // A holder must finish (connect + request) before its lease can be taken over.
      if (const auto* u = c.FindUpstream(rt.upstream);
          u && rt.idempotency.lease <= u->connect_timeout + u->request_timeout)
        r.Error(rn["idempotency"] ? rn["idempotency"] : rn,
                "idempotency lease (" + FormatDuration(rt.idempotency.lease) +
                    ") must exceed the upstream connect_timeout + request_timeout (" +
                    FormatDuration(u->connect_timeout + u->request_timeout) + ")");
      if (const auto* u = c.FindUpstream(rt.upstream);
          u && rt.mode != "sync" && rt.async.lease <= u->connect_timeout + u->request_timeout)
        r.Error(rn["async"] ? rn["async"] : rn,
                "async lease (" + FormatDuration(rt.async.lease) +
                    ") must exceed the upstream connect_timeout + request_timeout (" +
                    FormatDuration(u->connect_timeout + u->request_timeout) + ")");
      if (!rt.validate.empty()) {
        std::filesystem::path p(rt.validate);
        if (p.is_relative()) p = std::filesystem::path(file_name).parent_path() / p;
        rt.validate = p.lexically_normal().string();
        std::ifstream in(rt.validate);
        if (!in) r.Error(rn["validate"], "cannot read schema file '" + rt.validate + "'");
      }
      if (!seen_names.insert(rt.name).second) r.Error(rn, "duplicate route name '" + rt.name + "'");
      if (!seen_paths.insert(rt.method + " " + rt.path).second)
        r.Error(rn, "duplicate route " + rt.method + " " + rt.path);
      c.routes.push_back(rt);
    }
  }
  return out;
}

LoadedConfig LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    LoadedConfig out;
    out.errors.push_back({path, 0, 0, "cannot read file"});
    return out;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadConfigText(ss.str(), path);
}

}  // namespace writ
