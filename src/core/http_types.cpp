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

}  // namespace writ
