#include "core/redact.h"

#include <boost/json.hpp>

namespace writ {
namespace {

std::vector<std::string> Segments(const std::string& pointer) {
  std::vector<std::string> out;
  size_t at = 1;
  for (;;) {
    size_t slash = pointer.find('/', at);
    std::string seg = pointer.substr(at, slash == std::string::npos ? std::string::npos : slash - at);
    std::string unescaped;
    for (size_t i = 0; i < seg.size(); ++i) {
      if (seg[i] == '~' && i + 1 < seg.size()) {
        unescaped += seg[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        unescaped += seg[i];
      }
    }
    out.push_back(std::move(unescaped));
    if (slash == std::string::npos) return out;
    at = slash + 1;
  }
}

void Redact(boost::json::value& v, const std::vector<std::string>& path, size_t i) {
  if (i == path.size()) {
    v = kRedacted;
    return;
  }
  const std::string& seg = path[i];
  if (auto* o = v.if_object()) {
    if (seg == "*") {
      for (auto& [k, member] : *o) Redact(member, path, i + 1);
    } else if (auto* member = o->if_contains(seg)) {
      Redact(*member, path, i + 1);
    }
  } else if (auto* a = v.if_array()) {
    if (seg == "*") {
      for (auto& e : *a) Redact(e, path, i + 1);
    } else if (!seg.empty() && seg.find_first_not_of("0123456789") == std::string::npos && seg.size() < 10) {
      size_t index = std::stoul(seg);
      if (index < a->size()) Redact((*a)[index], path, i + 1);
    }
  }
}

}  // namespace

Redactor::Redactor(std::vector<std::string> pointers) {
  for (const auto& p : pointers) fields_.push_back(Segments(p));
}

void Redactor::Apply(boost::json::value& v) const {
  for (const auto& f : fields_) Redact(v, f, 0);
}

std::string Redactor::Text(const std::string& body) const {
  if (empty() || body.empty()) return body;
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec) return kRedactedText;
  Apply(v);
  return boost::json::serialize(v);
}

bool ValidRedactPointer(const std::string& pointer) {
  if (pointer.size() < 2 || pointer[0] != '/') return false;
  for (size_t i = 0; i < pointer.size(); ++i)
    if (pointer[i] == '~' && (i + 1 == pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1'))) return false;
  return true;
}

}  // namespace writ
