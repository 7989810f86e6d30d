// Query parameters shared by the operator APIs (/v1/submissions, /v1/jobs):
// parsing the query string, limits and opaque numeric cursors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/http_types.h"
#include "core/status.h"

namespace writ {

std::map<std::string, std::string> ParseQuery(const std::string& target);
// "" -> fallback; otherwise an integer in [1, 1000] or nullopt.
std::optional<int> ParseLimit(const std::string& text, int fallback);
// "" -> fallback; otherwise a non-negative integer cursor or nullopt.
std::optional<int64_t> ParseCursor(const std::string& text, int64_t fallback);
Response StoreProblem(const Status& s);
Response BadParameter(const std::string& detail);

}  // namespace writ
