#include "core/json_pattern.h"

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

void Walk(boost::json::value& v, const std::vector<std::string>& path, size_t i,
          const std::function<void(boost::json::value&)>& fn) {
  if (i == path.size()) return fn(v);
  const std::string& seg = path[i];
  if (auto* o = v.if_object()) {
    if (seg == "*") {
      for (auto& [k, member] : *o) Walk(member, path, i + 1, fn);
    } else if (auto* member = o->if_contains(seg)) {
      Walk(*member, path, i + 1, fn);
    }
  } else if (auto* a = v.if_array()) {
    if (seg == "*") {
      for (auto& e : *a) Walk(e, path, i + 1, fn);
    } else if (!seg.empty() && seg.find_first_not_of("0123456789") == std::string::npos && seg.size() < 10) {
      size_t index = std::stoul(seg);
      if (index < a->size()) Walk((*a)[index], path, i + 1, fn);
    }
  }
}

}  // namespace

PointerPattern::PointerPattern(const std::string& pointer) : segments_(Segments(pointer)) {}

bool PointerPattern::Valid(const std::string& pointer) {
  if (pointer.size() < 2 || pointer[0] != '/') return false;
  for (size_t i = 0; i < pointer.size(); ++i)
    if (pointer[i] == '~' && (i + 1 == pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1'))) return false;
  return true;
}

void PointerPattern::ForEach(boost::json::value& v, const std::function<void(boost::json::value&)>& fn) const {
  Walk(v, segments_, 0, fn);
}

}  // namespace writ
