#include "patterns/document/etag.h"

#include <algorithm>
#include <charconv>
#include <string>

namespace writ {
namespace {

constexpr size_t kMaxTags = 64;

struct Tag {
  bool weak = false;
  std::optional<int64_t> version;  // the opaque part when it is a version
};

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text
Status ParseList(std::string_view s, bool& any, std::vector<Tag>& tags) {
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  s = trim(s);
  if (s == "*") {
    any = true;
    return Status::Ok();
  }
  if (s.empty()) return Status(Code::kInvalidArgument, "empty header: send an entity tag such as \"3\", or *");
  while (!s.empty()) {
    Tag t;
    if (s.substr(0, 2) == "W/") {
      t.weak = true;
      s.remove_prefix(2);
    }
    if (s.empty() || s.front() != '"')
      return Status(Code::kInvalidArgument, "an entity tag is a quoted string such as \"3\" (or *)");
    size_t end = s.find('"', 1);
    if (end == std::string_view::npos) return Status(Code::kInvalidArgument, "an entity tag's closing quote is missing");
    std::string_view opaque = s.substr(1, end - 1);
    for (unsigned char c : opaque)
      if (c < 0x21 || c == 0x7f) return Status(Code::kInvalidArgument, "an entity tag holds a control character or space");
    int64_t v = 0;
    auto [p, ec] = std::from_chars(opaque.data(), opaque.data() + opaque.size(), v);
    if (ec == std::errc() && p == opaque.data() + opaque.size() && !opaque.empty() && v > 0 && opaque[0] != '0')
      t.version = v;
    tags.push_back(t);
    if (tags.size() > kMaxTags) return Status(Code::kInvalidArgument, "at most 64 entity tags");
    s = trim(s.substr(end + 1));
    if (s.empty()) break;
    if (s.front() != ',') return Status(Code::kInvalidArgument, "entity tags are separated by commas");
    s = trim(s.substr(1));
    if (s.empty()) return Status(Code::kInvalidArgument, "a comma is not followed by an entity tag");
  }
  return Status::Ok();
}

}  // namespace

int64_t IfMatch::ExpectedVersion(int64_t current) const {
  if (any) return current;
  return std::find(versions.begin(), versions.end(), current) != versions.end() ? current : -1;
}

bool IfNoneMatch::Matches(int64_t current) const {
  return present && (any || std::find(versions.begin(), versions.end(), current) != versions.end());
}

Result<IfMatch> ParseIfMatch(std::optional<std::string_view> header) {
  IfMatch m;
  if (!header) return m;
  m.present = true;
  std::vector<Tag> tags;
  if (auto s = ParseList(*header, m.any, tags); !s.ok()) return Status(s.code(), "If-Match: " + s.message());
  for (const auto& t : tags)
    if (!t.weak && t.version) m.versions.push_back(*t.version);  // strong comparison
  return m;
}

Result<IfNoneMatch> ParseIfNoneMatch(std::optional<std::string_view> header) {
  IfNoneMatch m;
  if (!header) return m;
  m.present = true;
  std::vector<Tag> tags;
  if (auto s = ParseList(*header, m.any, tags); !s.ok()) return Status(s.code(), "If-None-Match: " + s.message());
  for (const auto& t : tags)
    if (t.version) m.versions.push_back(*t.version);  // weak comparison
  return m;
}

Result<IfMatch> RequestIfMatch(const Headers& headers) {
  auto m = ParseIfMatch(FindHeader(headers, "If-Match"));
  if (m.ok() && CountHeader(headers, "If-Match") > 1)
    return Status(Code::kInvalidArgument, "send one If-Match header");
  return m;
}

std::string VersionEtag(int64_t version) { return "\"" + std::to_string(version) + "\""; }

}  // namespace writ
