#include "core/redact.h"

#include <boost/json.hpp>

namespace writ {

Redactor::Redactor(std::vector<std::string> pointers) {
  for (const auto& p : pointers) fields_.emplace_back(p);
}

void Redactor::Apply(boost::json::value& v) const {
  for (const auto& f : fields_) f.ForEach(v, [](boost::json::value& field) { field = kRedacted; });
}

std::string Redactor::Text(const std::string& body) const {
  if (empty() || body.empty()) return body;
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec) return kRedactedText;
  Apply(v);
  return boost::json::serialize(v);
}

bool ValidRedactPointer(const std::string& pointer) { return PointerPattern::Valid(pointer); }

}  // namespace writ
