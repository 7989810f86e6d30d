#include "core/http_types.h"

#include <cctype>

namespace writ {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::optional<std::string_view> FindHeader(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h)
    if (IEquals(k, name)) return std::string_view(v);
  return std::nullopt;
}

size_t CountHeader(const Headers& h, std::string_view name) {
  size_t n = 0;
  for (const auto& kv : h) n += IEquals(kv.first, name);
  return n;
}

void SetHeader(Headers& h, std::string name, std::string value) {
  for (auto& kv : h) {
    if (IEquals(kv.first, name)) {
      kv.second = std::move(value);
      return;
    }
  }
  h.emplace_back(std::move(name), std::move(value));
}

std::string PercentEncode(const std::string& s) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace writ
