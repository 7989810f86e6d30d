// Request fingerprints: what makes two requests under one idempotency key
// "the same". `raw` hashes the body bytes; `json` hashes canonical JSON with
// configured fields left out, so key order and whitespace do not matter.
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
                                                FingerprintMode, const std::vector<std::string>&);
  std::string method_, path_, body_canon_;
  std::shared_ptr<const boost::json::value> body_;  // parsed, ignored fields removed (json mode)
  std::string detail_;
};

// Fails with kInvalidArgument when mode is json and the body is not JSON.
Result<Fingerprint> ComputeFingerprint(const std::string& method, const std::string& path,
                                       const std::string& body, FingerprintMode mode,
                                       const std::vector<std::string>& ignore_fields);

// Names the parts that differ: "method", "path", "body", or JSON Pointers.
std::vector<std::string> DescribeMismatch(const std::string& stored_detail, const std::string& new_detail);

}  // namespace writ
