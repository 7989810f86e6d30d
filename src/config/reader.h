// The config reader: walks a YAML tree, converts values and collects every
// error with its file:line:column, so a config is checked in one run. Used
// by the config loader and by each write mode's parser for its own keys.
// Thread-safety: one Reader per load, on one thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.h"

namespace writ {

class Reader {
 public:
  Reader(std::string file, std::vector<ConfigError>& errors) : file_(std::move(file)), errors_(errors) {}

  const std::string& file() const { return file_; }
  size_t error_count() const { return errors_.size(); }
  void Error(const YAML::Node& at, const std::string& msg);
  // A warning at `at`: reported by check-config and serve, never fatal.
  void Warn(const YAML::Node& at, const std::string& msg);
  void ErrorAt(int line, int column, const std::string& msg) { errors_.push_back({file_, line, column, msg}); }
  // Reports keys of a map that are not in `known`. False if `n` is no map.
  bool CheckMap(const YAML::Node& n, const std::string& what, const std::set<std::string>& known);
  bool Scalar(const YAML::Node& n, const std::string& key, std::string& out);

  // Each reads parent[key] if present, reporting a malformed value.
  void Str(const YAML::Node& parent, const std::string& key, std::string& out);
  void Duration(const YAML::Node& parent, const std::string& key, Millis& out);
  // A size in bytes, at most `max` (a typo such as 10GiB for a body limit
  // would let one request exhaust memory).
  void Size(const YAML::Node& parent, const std::string& key, uint64_t& out, uint64_t max);
  void Int(const YAML::Node& parent, const std::string& key, int& out, int lo, int hi);
  void Bool(const YAML::Node& parent, const std::string& key, bool& out);
  void StrList(const YAML::Node& parent, const std::string& key, std::vector<std::string>& out);
  // A list such as [2xx, 4xx, '!409'].
  void Statuses(const YAML::Node& parent, const std::string& key, StatusSet& out);
  // A JSON Pointer ("" allowed only when `optional`), e.g. /accountId.
  void Pointer(const YAML::Node& parent, const std::string& key, std::string& out, const char* example);
  // A JSON Schema file, resolved against the config's folder; reports a file
  // that cannot be read.
  void SchemaFile(const YAML::Node& parent, const std::string& key, std::string& out);
  // Any file that must be readable (`what` names it in the error), resolved
  // against the config's folder.
  void File(const YAML::Node& parent, const std::string& key, std::string& out, const std::string& what);

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

 private:
  std::string file_;
  std::vector<ConfigError>& errors_;
};

// A secret named by reference, ${env:NAME} or ${file:PATH} (a trailing
// newline of the file dropped), into `out`; a literal value is an error, so
// a secret never sits in the config. False (and an error) if unusable.
bool ReadSecret(Reader& r, const YAML::Node& n, const std::string& key, std::string& out);

// The node to point an error at: parent[key] if present, else parent.
YAML::Node At(const YAML::Node& parent, const std::string& key);
// "http://host[:port][/path]" -> parts. False if it is not such a URL.
// With `tls`, "https://..." is accepted too (default port 443) and *tls
// says which it was.
bool ParseHttpUrl(const std::string& url, std::string& host, uint16_t& port, std::string& path,
                  bool* tls = nullptr);


}  // namespace writ
