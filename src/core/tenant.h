// Which tenant a request acts under, and which tenants' records it may see.
// The tenant is the caller's API key's (set by the gateway in
// Request::tenant), never anything the request itself says.
#pragma once

#include <string>

#include "core/http_types.h"

namespace writ {

// A key of tenant "*" reads and operates on every tenant's records (an
// operator or reader of the whole gateway); it cannot be a client, since a
// write must belong to one tenant.
inline constexpr const char* kAllTenants = "*";

// The tenant a write is stored under: the caller's, or kDefaultTenant
// without authentication.
inline std::string WriteTenant(const Request& r) { return r.tenant.empty() ? kDefaultTenant : r.tenant; }

// The tenant a read or an operator action is limited to: "" for every tenant
// (no authentication, or a key of tenant "*").
inline std::string ReadScope(const Request& r) { return r.tenant == kAllTenants ? std::string() : r.tenant; }

// Whether a record of `tenant` is visible to a caller limited to `scope`.
// A record outside it answers 404, as if it did not exist.
inline bool InScope(const std::string& scope, const std::string& tenant) { return scope.empty() || scope == tenant; }

}  // namespace writ
