// An endpoint of Writ's own API (health, metrics, the status and operator
// APIs under /v1/) and who may call it. The gateway's table of them is the
// one source for the roles a call needs, which listener serves it, which
// API handles it, and GET /v1/endpoints; an API answers nothing it has not
// declared here.
#pragma once

#include <string>

namespace writ {

struct ApiEndpoint {
  std::string method;   // "GET", "POST"
  std::string pattern;  // e.g. /v1/jobs/{id}/items: "{...}" is one non-empty path segment
  unsigned roles = 0;   // core/api_key.h Role bits, any of which is needed; 0: open to anyone
  bool admin = false;   // on the admin listener only, when there is one (server.admin_listen)
};

// Whether `path` (no query) fits `pattern`, segment by segment.
inline bool PathFits(const std::string& pattern, const std::string& path) {
  size_t i = 0, j = 0;
  while (i < pattern.size() && j < path.size()) {
    if (pattern[i] == '{') {
      size_t close = pattern.find('}', i);
      size_t slash = path.find('/', j);
      if (slash == j) return false;  // an empty segment
      i = close + 1;
      j = slash == std::string::npos ? path.size() : slash;
      continue;
    }
    if (pattern[i] != path[j]) return false;
    ++i;
    ++j;
  }
  return i == pattern.size() && j == path.size();
}

}  // namespace writ
