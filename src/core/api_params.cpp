#include "core/api_params.h"

#include <boost/url/parse.hpp>

#include "core/problem.h"

namespace writ {

std::map<std::string, std::string> ParseQuery(const std::string& target) {
  std::map<std::string, std::string> out;
  if (target.find('?') == std::string::npos) return out;
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return out;
  for (auto p : parsed->params()) out[std::string(p.key)] = std::string(p.value);
  return out;
}

std::optional<int> ParseLimit(const std::string& l, int fallback) {
  if (l.empty()) return fallback;
  if (l.size() > 4 || l.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  int v = std::stoi(l);
  if (v < 1 || v > 1000) return std::nullopt;
  return v;
}

std::optional<int64_t> ParseCursor(const std::string& c, int64_t fallback) {
  if (c.empty()) return fallback;
  if (c.size() > 18 || c.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(c);
}

Response StoreProblem(const Status& s) { return Problem(503, "store-unavailable", "Store unavailable", s.message()); }

Response BadParameter(const std::string& detail) {
  return Problem(400, "invalid-parameter", "Invalid parameter", detail);
}

}  // namespace writ
