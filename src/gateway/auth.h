// Who is calling, and may they: API keys (core/api_key.h) looked up in the
// store by id, their secret's digest compared in constant time, each key
// granting a tenant and roles; and the role each endpoint needs.
//
// Keys read from the store are trusted for `auth.api_keys.cache_ttl`
// (default 5 s): a revoked or expired key stops working on every instance
// within that time. Unknown ids are remembered as unknown for as long, so a
// caller trying random keys costs the store one read per id and period.
// A secret whose digest matched is kept in memory beside its record and
// later calls are compared with it (constant time) instead of computing the
// HMAC again.
// Thread-safety: Authenticate may be called from any thread.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "config/config.h"
#include "core/api_key.h"
#include "core/http_types.h"
#include "metrics/metrics.h"
#include "store/api_key_store.h"

namespace writ {

struct Principal {
  std::string key_id;
  std::string tenant;
  unsigned roles = 0;
};

class Authenticator {
 public:
  Authenticator(const AuthConfig& config, ApiKeyStore& keys, Metrics& metrics);

  // The caller's principal, or the 401 problem to answer (with
  // WWW-Authenticate). Store failures answer 503.
  struct Outcome {
    std::optional<Principal> principal;
    Response problem;
  };
  Outcome Authenticate(const Request& req);
  // 403 naming the roles the endpoint needs and those the key has.
  static Response Forbidden(const Principal& p, unsigned required);
  // The 401 for a call without any credential (counted as missing).
  Response MissingCredentials();

 private:
  struct Cached {
    std::optional<ApiKeyRecord> rec;
    Millis fetched_at = 0;
    Millis touched_at = 0;
    // The secret whose digest matched, kept in memory while the record is:
    // the next call with it is compared to it (in constant time) instead of
    // computing the HMAC again.
    std::string verified_secret;
  };
  Outcome FromCertificate(const std::vector<std::string>& names);
  Outcome Refuse(const char* reason, const std::string& key_id, bool missing);

  const AuthConfig& config_;
  ApiKeyStore& keys_;
  Counter& ok_;
  Counter& missing_;
  Counter& invalid_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace writ
