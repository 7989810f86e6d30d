#include "core/problem.h"

#include <boost/json/serialize.hpp>

namespace writ {

std::string ProblemType(std::string_view slug) {
  return "https://writ.dev/problems/" + std::string(slug);
}

Response Problem(int status, std::string_view slug, std::string_view title,
                 std::string_view detail, boost::json::object extra) {
  boost::json::object o;
  o["type"] = ProblemType(slug);
  o["title"] = title;
  o["status"] = status;
  if (!detail.empty()) o["detail"] = detail;
  for (auto& kv : extra) o[kv.key()] = std::move(kv.value());
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/problem+json");
  r.body = boost::json::serialize(o);
  return r;
}

Response JsonResponse(int status, const boost::json::value& v) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = boost::json::serialize(v);
  return r;
}

}  // namespace writ
