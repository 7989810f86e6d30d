// Parsing the Idempotency-Key request header (IETF httpapi draft): an
// sf-string ("...") or a bare token, 1-255 printable ASCII characters.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace writ {

inline constexpr size_t kMaxIdempotencyKeyLength = 255;

// Returns the key without quotes, or kInvalidArgument with a precise reason.
Result<std::string> ParseIdempotencyKey(std::string_view header_value);

// Stable key sent to the master on every attempt: derived from the scope so
// that two tenants or routes using the same client key never collide.
std::string DeriveUpstreamKey(const std::string& tenant, const std::string& route, const std::string& key);

// Short hash of a key for logs (keys may carry meaning; logs get no raw key).
std::string KeyHashForLog(const std::string& tenant, const std::string& route, const std::string& key);

}  // namespace writ
