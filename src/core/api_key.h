// API keys: `writ_<id>_<secret>`, the id (12 hex digits) to look the key up,
// the secret (64 hex digits, 256 bits from the OS's RNG) proven by its
// HMAC-SHA256 under a server-side pepper. Only the id and the digest are
// stored; the secret is shown once, when the key is made.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace writ {

struct ApiKeyParts {
  std::string id;
  std::string secret;
};

// A new key from the OS's RNG; nullopt if the RNG fails.
std::optional<ApiKeyParts> NewApiKey();
std::string FormatApiKey(const ApiKeyParts& k);
// nullopt unless `token` is exactly writ_<12 hex>_<64 hex> (lower case).
std::optional<ApiKeyParts> ParseApiKey(std::string_view token);
// Lower-case hex HMAC-SHA256 of the secret under the pepper.
std::string ApiKeyDigest(std::string_view pepper, std::string_view secret);
// Equal digests, compared in constant time over their whole length (no
// early exit at the first difference); different lengths never match.
bool DigestsEqual(std::string_view a, std::string_view b);

// Roles a key grants, as a bit set.
enum Role : unsigned { kRoleClient = 1, kRoleReader = 2, kRoleOperator = 4 };
// "client,reader" -> bits; nullopt on an unknown or empty name.
std::optional<unsigned> ParseRoles(std::string_view list);
std::string RolesToString(unsigned roles);

}  // namespace writ
