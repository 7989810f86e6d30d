// Bearer JWTs from an identity provider (auth.jwt), verified with libjwt.
// A token is accepted only when all of these hold:
//  * it is at most 8 KiB, three base64url segments, signed with exactly the
//    configured algorithm (never "none", never another one with the same
//    key: HS256 signed with an RS256 public key is key confusion) and
//    verifies with the configured key;
//  * `exp` is present and not past, `nbf` (if present) not ahead, both
//    with `clock_skew`;
//  * `iss` is the configured issuer and `aud` (a string or an array) holds
//    the configured audience;
//  * the tenant claim is a non-empty string, and the roles claim a list of
//    client, reader, operator (a comma-separated string or an array).
// Thread-safety: Verify may be called from any thread.
#pragma once

#include <optional>
#include <string>

#include "config/config.h"
#include "core/clock.h"

namespace writ {

struct JwtPrincipal {
  std::string subject;  // `sub`, for logs ("" if absent)
  std::string tenant;
  unsigned roles = 0;
};

struct JwtOutcome {
  std::optional<JwtPrincipal> principal;
  std::string reason;  // why not, for the log (never the token)
};

// Whether a bearer credential is shaped like a JWT (three dot-separated
// segments), as opposed to an API key.
bool LooksLikeJwt(const std::string& token);

JwtOutcome VerifyJwt(const AuthConfig::Jwt& config, const std::string& token, Millis now);

}  // namespace writ
