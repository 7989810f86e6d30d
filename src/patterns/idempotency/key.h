// Parsing the Idempotency-Key request header (IETF httpapi draft): an
// sf-string ("...") or a bare token, 1-255 printable ASCII characters.
#pragma once

#include <string>
#include <string_view>

#include "core/hash.h"  // KeyHashForLog
#include "core/status.h"

namespace writ {

inline constexpr size_t kMaxIdempotencyKeyLength = 255;

// Returns the key without quotes, or kInvalidArgument with a precise reason.
Result<std::string> ParseIdempotencyKey(std::string_view header_value);

// Key sent to the master on every attempt: derived from the scope, so that
// two tenants or routes using the same client key never collide, and from
// the record's generation, so that a client key reused after its record
// expired reaches the master as a new key (not the master's old record).
// The generation is stored with the record: retries and takeovers of one
// record send the same key. The first record of a key has generation ""
// (the key derived before generations existed), the next "1", and so on.
std::string DeriveUpstreamKey(const std::string& tenant, const std::string& route, const std::string& key,
                              const std::string& generation = "");

}  // namespace writ
