#include "patterns/idempotency/fingerprint.h"

#include <boost/json.hpp>

#include "core/hash.h"
#include "core/json.h"

namespace writ {
namespace {
// Per-leaf digests are kept for bodies up to this many leaves; beyond it the
// detail names only the whole body.
constexpr size_t kMaxDetailLeaves = 512;

std::string Short(std::string_view s) { return Sha256Hex(s).substr(0, 12); }
}  // namespace

Result<Fingerprint> ComputeFingerprint(const std::string& method, const std::string& path,
                                       const std::string& body, FingerprintMode mode,
                                       const std::vector<std::string>& ignore_fields) {
  Fingerprint f;
  f.method_ = method;
  f.path_ = path;
  if (mode == FingerprintMode::kJson && !body.empty()) {
    auto parsed = ParseJsonStrict(body);
    if (!parsed.ok()) return parsed.status();
    for (const auto& p : ignore_fields) ErasePointer(*parsed, p);
    f.body_canon_ = CanonicalJson(*parsed);
    f.body_ = std::make_shared<const boost::json::value>(std::move(*parsed));
  } else {
    f.body_canon_ = body;
  }
  f.digest = Sha256Hex(method + '\n' + path + '\n' + f.body_canon_);
  return f;
}

const std::string& Fingerprint::detail() {
  if (!detail_.empty()) return detail_;
  boost::json::object detail;
  detail["method"] = Short(method_);
  detail["path"] = Short(path_);
  if (body_) {
    auto leaves = FlattenJson(*body_);
    if (leaves.size() <= kMaxDetailLeaves) {
      boost::json::object fields;
      for (const auto& [ptr, text] : leaves) fields[ptr] = Short(text);
      detail["fields"] = std::move(fields);
    }
  }
  detail["body"] = Short(body_canon_);
  detail_ = boost::json::serialize(detail);
  return detail_;
}

std::vector<std::string> DescribeMismatch(const std::string& stored_detail, const std::string& new_detail) {
  std::vector<std::string> out;
  boost::system::error_code e1, e2;
  auto a = boost::json::parse(stored_detail, e1);
  auto b = boost::json::parse(new_detail, e2);
  if (e1 || e2 || !a.is_object() || !b.is_object()) return {"request"};
  const auto& ao = a.get_object();
  const auto& bo = b.get_object();
  for (const char* part : {"method", "path"}) {
    if (ao.if_contains(part) == nullptr || bo.if_contains(part) == nullptr || ao.at(part) != bo.at(part))
      out.emplace_back(part);
  }
  const auto* af = ao.if_contains("fields");
  const auto* bf = bo.if_contains("fields");
  if (af && bf && af->is_object() && bf->is_object()) {
    for (const auto& kv : af->get_object()) {
      const auto* other = bf->get_object().if_contains(kv.key());
      if (!other || *other != kv.value()) out.emplace_back(kv.key());
    }
    for (const auto& kv : bf->get_object())
      if (!af->get_object().contains(kv.key())) out.emplace_back(kv.key());
  } else if (ao.if_contains("body") == nullptr || bo.if_contains("body") == nullptr ||
             ao.at("body") != bo.at("body")) {
    out.emplace_back("body");
  }
  if (out.empty()) out.emplace_back("body");
  return out;
}

}  // namespace writ
