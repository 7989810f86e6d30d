// Field redaction for what Writ shows about a write (routes[].redact): the
// status API's views of submissions and job items, their events and
// webhooks, lastError, and the CLI. The master still gets every field;
// what Writ stores stays whole (it replays answers from it).
//
// Each field is a JSON Pointer (RFC 6901) into the request or the answer,
// e.g. /card/number; a "*" segment stands for every member of an object or
// element of an array (/items/*/ssn). A redacted value becomes the string
// "[redacted]"; an absent field is no error. A body that is not JSON
// cannot be searched, so it is shown as "[redacted: not JSON]" whole.
// Thread-safety: immutable after construction.
#pragma once

#include <string>
#include <vector>

#include <boost/json/fwd.hpp>

#include "core/json_pattern.h"

namespace writ {

inline constexpr const char* kRedacted = "[redacted]";
inline constexpr const char* kRedactedText = "[redacted: not JSON]";

class Redactor {
 public:
  Redactor() = default;
  // `pointers` must be valid (ValidRedactPointer); the config checks them.
  explicit Redactor(std::vector<std::string> pointers);
  bool empty() const { return fields_.empty(); }
  // A body as text: JSON with the fields replaced, or kRedactedText.
  std::string Text(const std::string& body) const;
  // The fields replaced within a parsed body.
  void Apply(boost::json::value& v) const;

 private:
  std::vector<PointerPattern> fields_;
};

// "/a/b", "/items/*/ssn": a JSON Pointer with at least one segment.
bool ValidRedactPointer(const std::string& pointer);

}  // namespace writ
