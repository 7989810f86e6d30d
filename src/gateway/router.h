// Router: matches a request's method and path against the configured route
// templates (/orders/{id}). Built once from config; immutable afterwards.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace writ {

struct RouteMatch {
  enum Kind { kFound, kNoPath, kWrongMethod } kind = kNoPath;
  size_t index = 0;                          // into the routes given to the router
  std::map<std::string, std::string> params;  // template parameters
  std::string allow;                          // for kWrongMethod: methods that would match
};

class Router {
 public:
  void Add(const std::string& method, const std::string& path_template);
  RouteMatch Match(const std::string& method, const std::string& path) const;

 private:
  struct Entry {
    std::string method;
    std::vector<std::string> segments;  // "{name}" marks a parameter
  };
  std::vector<Entry> entries_;
};

std::vector<std::string> SplitPath(const std::string& path);

}  // namespace writ
