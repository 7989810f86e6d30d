#include "patterns/idempotency/key.h"

#include "core/hash.h"

namespace writ {
namespace {
constexpr const char* kListOfKeys =
    "the header holds a list of keys (a comma outside quotes separates list members); send exactly one key, "
    "quoted (\"a,b\") if it must contain a comma";
}  // namespace

Result<std::string> ParseIdempotencyKey(std::string_view v) {
  // Optional whitespace around the field value is not part of it (RFC 9110).
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  std::string key;
  if (!v.empty() && v.front() == '"') {
    if (v.size() < 2 || v.back() != '"')
      return Status(Code::kInvalidArgument, "quoted key is not terminated");
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      char c = v[i];
      if (c == '\\') {
        if (i + 2 >= v.size() || (v[i + 1] != '"' && v[i + 1] != '\\'))
          return Status(Code::kInvalidArgument, "invalid escape in quoted key");
        key += v[++i];
      } else if (c == '"') {
        std::string_view rest = v.substr(i + 1);
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
        if (!rest.empty() && rest.front() == ',') return Status(Code::kInvalidArgument, kListOfKeys);
        return Status(Code::kInvalidArgument, "unescaped quote inside key");
      } else {
        key += c;
      }
    }
  } else {
    // A bare token has no comma: "k1, k2" is a list of two keys (a proxy
    // joins repeated header lines with commas). Inside quotes a comma is
    // part of the sf-string.
    if (v.find(',') != std::string_view::npos) return Status(Code::kInvalidArgument, kListOfKeys);
    key = std::string(v);
  }
  if (key.empty()) return Status(Code::kInvalidArgument, "key is empty");
  if (key.size() > kMaxIdempotencyKeyLength)
    return Status(Code::kInvalidArgument, "key is longer than 255 characters");
  for (unsigned char c : key) {
    if (c < 0x20 || c > 0x7e)
      return Status(Code::kInvalidArgument, "key must be printable ASCII (0x20-0x7E)");
  }
  return key;
}

std::string DeriveUpstreamKey(const std::string& tenant, const std::string& route, const std::string& key,
                              const std::string& generation) {
  std::string material = "writ/v1";
  for (const auto* part : {&tenant, &route, &key}) {
    material += '\0';
    material += *part;
  }
  // Records stored before generations existed keep the key they were sent with.
  if (!generation.empty()) {
    material += '\0';
    material += generation;
  }
  return "writ-" + Sha256Hex(material).substr(0, 40);
}

}  // namespace writ
