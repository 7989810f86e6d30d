#include "gateway/router.h"

namespace writ {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

void Router::Add(const std::string& method, const std::string& path_template) {
  entries_.push_back({method, SplitPath(path_template)});
}

RouteMatch Router::Match(const std::string& method, const std::string& path) const {
  RouteMatch m;
  auto segs = SplitPath(path);
  for (size_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    if (e.segments.size() != segs.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t s = 0; s < segs.size() && ok; ++s) {
      const auto& t = e.segments[s];
      if (t.size() > 2 && t.front() == '{' && t.back() == '}') params[t.substr(1, t.size() - 2)] = segs[s];
      else ok = t == segs[s];
    }
    if (!ok) continue;
    if (e.method == method) {
      m.kind = RouteMatch::kFound;
      m.index = i;
      m.params = std::move(params);
      return m;
    }
    m.kind = RouteMatch::kWrongMethod;
    m.allow += (m.allow.empty() ? "" : ", ") + e.method;
  }
  return m;
}

}  // namespace writ
