#include "config/reader.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include <boost/url/parse.hpp>

#include "core/units.h"

namespace writ {

void Reader::Warn(const YAML::Node& at, const std::string& msg) {
  Error(at, msg);
  errors_.back().warning = true;
}

void Reader::Error(const YAML::Node& at, const std::string& msg) {
  ConfigError e{file_, 0, 0, msg};
  if (at.IsDefined() && at.Mark().line >= 0) {
    e.line = at.Mark().line + 1;
    e.column = at.Mark().column + 1;
  }
  errors_.push_back(std::move(e));
}

bool Reader::CheckMap(const YAML::Node& n, const std::string& what, const std::set<std::string>& known) {
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

bool Reader::Scalar(const YAML::Node& n, const std::string& key, std::string& out) {
  if (!n.IsScalar()) {
    Error(n, "'" + key + "' must be a scalar");
    return false;
  }
  out = n.Scalar();
  return true;
}

void Reader::Str(const YAML::Node& parent, const std::string& key, std::string& out) {
  if (auto n = parent[key]) Scalar(n, key, out);
}

void Reader::Duration(const YAML::Node& parent, const std::string& key, Millis& out) {
  auto n = parent[key];
  std::string s;
  if (!n || !Scalar(n, key, s)) return;
  auto d = ParseDuration(s);
  if (!d) return Error(n, "'" + key + "': invalid duration '" + s + "' (use e.g. 250ms, 30s, 5m, 24h)");
  out = *d;
}

void Reader::Size(const YAML::Node& parent, const std::string& key, uint64_t& out, uint64_t max) {
  auto n = parent[key];
  std::string s;
  if (!n || !Scalar(n, key, s)) return;
  auto v = ParseSize(s);
  if (!v) return Error(n, "'" + key + "': invalid size '" + s + "' (use e.g. 65536, 64KiB, 1MiB)");
  if (*v == 0 || *v > max)
    return Error(n, "'" + key + "': " + s + " is out of range (1 byte to " + FormatSize(max) + ")");
  out = *v;
}

void Reader::Int(const YAML::Node& parent, const std::string& key, int& out, int lo, int hi) {
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

void Reader::Bool(const YAML::Node& parent, const std::string& key, bool& out) {
  auto n = parent[key];
  std::string s;
  if (!n || !Scalar(n, key, s)) return;
  if (s == "true" || s == "yes") out = true;
  else if (s == "false" || s == "no") out = false;
  else Error(n, "'" + key + "' must be true or false");
}

void Reader::StrList(const YAML::Node& parent, const std::string& key, std::vector<std::string>& out) {
  auto n = parent[key];
  if (!n) return;
  if (!n.IsSequence()) return Error(n, "'" + key + "' must be a list");
  for (const auto& item : n) {
    std::string s;
    if (Scalar(item, key, s)) out.push_back(s);
  }
}

void Reader::Statuses(const YAML::Node& parent, const std::string& key, StatusSet& out) {
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

void Reader::Pointer(const YAML::Node& parent, const std::string& key, std::string& out, const char* example) {
  auto n = parent[key];
  std::string s;
  if (!n || !Scalar(n, key, s)) return;
  if (s.empty() || s[0] != '/')
    return Error(n, "'" + key + "' must be a JSON Pointer such as " + example);
  out = s;
}

void Reader::SchemaFile(const YAML::Node& parent, const std::string& key, std::string& out) {
  File(parent, key, out, "schema file");
}

void Reader::File(const YAML::Node& parent, const std::string& key, std::string& out, const std::string& what) {
  auto n = parent[key];
  std::string s;
  if (!n || !Scalar(n, key, s)) return;
  std::filesystem::path p(s);
  if (p.is_relative()) p = std::filesystem::path(file_).parent_path() / p;
  out = p.lexically_normal().string();
  std::ifstream in(out);
  if (!in) Error(n, "cannot read " + what + " '" + out + "'");
}

YAML::Node At(const YAML::Node& parent, const std::string& key) {
  auto n = parent[key];
  return n ? n : parent;
}

bool ParseHttpUrl(const std::string& url, std::string& host, uint16_t& port, std::string& path, bool* tls) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || parsed->host().empty()) return false;
  bool https = parsed->scheme() == "https";
  if (parsed->scheme() != "http" && !(https && tls)) return false;
  if (tls) *tls = https;
  host = std::string(parsed->host());
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  port = parsed->has_port() ? parsed->port_number() : https ? 443 : 80;
  path = std::string(parsed->encoded_path());
  return true;
}

bool ReadSecret(Reader& r, const YAML::Node& n, const std::string& key, std::string& out) {
  std::string ref;
  auto v = n[key];
  if (!v || !r.Scalar(v, key, ref)) return false;
  auto inner = [&](const char* prefix) -> std::optional<std::string> {
    std::string p = std::string("${") + prefix + ":";
    if (ref.rfind(p, 0) != 0 || ref.back() != '}' || ref.size() <= p.size() + 1) return std::nullopt;
    return ref.substr(p.size(), ref.size() - p.size() - 1);
  };
  if (auto name = inner("env")) {
    const char* value = std::getenv(name->c_str());
    if (!value || !*value) {
      r.Error(v, "environment variable " + *name + " (for '" + key + "') is not set");
      return false;
    }
    out = value;
    return true;
  }
  if (auto path = inner("file")) {
    std::ifstream f(*path, std::ios::binary);
    if (!f) {
      r.Error(v, "cannot read " + *path + " (for '" + key + "')");
      return false;
    }
    out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return true;
  }
  r.Error(v, "'" + key + "' must name where the secret is, ${env:NAME} or ${file:PATH}, not hold it");
  return false;
}

}  // namespace writ
