// SHA-256 helpers (OpenSSL) used for fingerprints, derived keys and log hashes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace writ {

// Lower-case hex SHA-256 of the input.
std::string Sha256Hex(std::string_view data);
// Short hash of an idempotency key for logs (keys may carry meaning; logs
// get no raw key).
std::string KeyHashForLog(const std::string& tenant, const std::string& route, const std::string& key);
// Random 128-bit identifier as 32 hex characters.
std::string RandomId();
// Identifier that sorts by creation time: prefix, 12 hex digits of `now_ms`,
// then `random_hex` random hex digits. Stored ids that grow with time are appended at
// the right edge of their index instead of dirtying a random page per insert.
std::string TimeOrderedId(const std::string& prefix, int64_t now_ms, int random_hex = 12);
// Request identifier: 16 hex characters, a random per-process prefix and a
// counter. Unique within a process's life and cheap (no RNG per request).
std::string NextRequestId();

}  // namespace writ
