// JSON helpers on Boost.JSON: strict parsing with a depth limit, canonical
// serialization (object keys sorted, no whitespace) and flattening to
// JSON Pointer leaves, used for request fingerprints.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "core/status.h"

namespace writ {

inline constexpr int kMaxJsonDepth = 64;

// Parses exactly one JSON value; rejects trailing bytes, invalid UTF-8 and
// nesting deeper than kMaxJsonDepth.
Result<boost::json::value> ParseJsonStrict(std::string_view text);

// Canonical text: object members sorted by key, numbers as Boost prints them.
std::string CanonicalJson(const boost::json::value& v);

// Escapes one reference token for a JSON Pointer (RFC 6901).
std::string EscapePointerToken(std::string_view token);

// Removes the value at `pointer` if present. Returns true if removed.
bool ErasePointer(boost::json::value& root, std::string_view pointer);

// Every leaf (scalar, empty object, empty array) as pointer -> canonical text.
std::map<std::string, std::string> FlattenJson(const boost::json::value& v);

}  // namespace writ
