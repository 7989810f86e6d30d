// Entity tags of local documents (drafts, edge records): a document's ETag
// is its version as a strong tag ("7"). If-Match (RFC 9110 13.1.1, strong comparison) and If-None-Match
// (13.1.2, weak comparison) are parsed strictly: a malformed header is a
// 400, never silently ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/http_types.h"
#include "core/status.h"

namespace writ {

struct IfMatch {
  bool present = false;
  bool any = false;               // If-Match: *
  std::vector<int64_t> versions;  // strong tags that are versions ("7"); others never match
  // The version a write may proceed from: `current` if the header allows
  // it (any, or listed), otherwise -1 (412).
  int64_t ExpectedVersion(int64_t current) const;
};

struct IfNoneMatch {
  bool present = false;
  bool any = false;
  std::vector<int64_t> versions;  // strong or weak tags that are versions
  bool Matches(int64_t current) const;
};

Result<IfMatch> ParseIfMatch(std::optional<std::string_view> header);
// A request's If-Match: ParseIfMatch of its one header; sent twice is an error.
Result<IfMatch> RequestIfMatch(const Headers& headers);
// The strong ETag of a document's version: "7".
std::string VersionEtag(int64_t version);
Result<IfNoneMatch> ParseIfNoneMatch(std::optional<std::string_view> header);

}  // namespace writ
