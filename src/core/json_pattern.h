// A JSON Pointer (RFC 6901) whose "*" segments stand for every member of an
// object or element of an array: /card/number, /lines/*/productId. Used by
// redaction (core/redact.h) and by edge routes' references.
// Thread-safety: immutable after construction.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <boost/json/fwd.hpp>

namespace writ {

class PointerPattern {
 public:
  // `pointer` must be Valid().
  explicit PointerPattern(const std::string& pointer);
  // "/a/b", "/items/*/ssn": at least one segment, "~" only as ~0 or ~1.
  static bool Valid(const std::string& pointer);
  // Calls `fn` on every value the pattern reaches in `v` (none: no call).
  void ForEach(boost::json::value& v, const std::function<void(boost::json::value&)>& fn) const;

 private:
  std::vector<std::string> segments_;  // unescaped
};

}  // namespace writ
