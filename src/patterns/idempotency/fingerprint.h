// Request fingerprints: what makes two requests under one idempotency key
// "the same": method, path, query string and body. `raw` hashes the body
// bytes and the query as sent; `json` hashes canonical JSON with configured
// fields left out, so key order and whitespace do not matter, and the query's
// parameters sorted by name (the order of repeated names is kept).
// The detail keeps one short digest per part (method, path, each JSON
// Pointer leaf) so a mismatch can be named without storing any value.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "config/config.h"
#include "core/status.h"

namespace writ {

class Fingerprint {
 public:
  std::string digest;  // hex SHA-256 over every part

  // JSON object of part -> short digest. Computed on first use: a replay
  // whose digest matches never needs it.
  const std::string& detail();

 private:
  friend Result<Fingerprint> ComputeFingerprint(const std::string&, const std::string&, const std::string&,
                                                const std::string&, FingerprintMode,
                                                const std::vector<std::string>&);
  std::string method_, path_, query_, body_canon_;
  std::shared_ptr<const boost::json::value> body_;  // parsed, ignored fields removed (json mode)
  std::string detail_;
};

// `query`: the request target after '?', empty when there is none.
// Fails with kInvalidArgument when mode is json and the body is not JSON.
Result<Fingerprint> ComputeFingerprint(const std::string& method, const std::string& path,
                                       const std::string& query, const std::string& body, FingerprintMode mode,
                                       const std::vector<std::string>& ignore_fields);

// "b=2&a=1&a=0" -> "a=1&a=0&b=2": parameters stably sorted by name, empty
// ones dropped; values are compared as sent (no percent-decoding).
std::string CanonicalQuery(std::string_view query);

// Names the parts that differ: "method", "path", "query", "body", or JSON Pointers.
std::vector<std::string> DescribeMismatch(const std::string& stored_detail, const std::string& new_detail);

}  // namespace writ
