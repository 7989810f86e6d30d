#include "patterns/idempotency/fingerprint.h"

#include <algorithm>

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

std::string CanonicalQuery(std::string_view query) {
  std::vector<std::string_view> params;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view p = query.substr(0, amp);
    if (!p.empty()) params.push_back(p);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  auto name = [](std::string_view p) { return p.substr(0, p.find('=')); };
  std::stable_sort(params.begin(), params.end(),
                   [&](std::string_view a, std::string_view b) { return name(a) < name(b); });
  std::string out;
  for (auto p : params) {
    if (!out.empty()) out += '&';
    out += p;
  }
  return out;
}

Result<Fingerprint> ComputeFingerprint(const std::string& method, const std::string& path,
                                       const std::string& query, const std::string& body, FingerprintMode mode,
                                       const std::vector<std::string>& ignore_fields) {
  Fingerprint f;
  f.method_ = method;
  f.path_ = path;
  f.query_ = mode == FingerprintMode::kJson ? CanonicalQuery(query) : query;
  if (mode == FingerprintMode::kJson && !body.empty()) {
    auto parsed = ParseJsonStrict(body);
    if (!parsed.ok()) return parsed.status();
    for (const auto& p : ignore_fields) ErasePointer(*parsed, p);
    f.body_canon_ = CanonicalJson(*parsed);
    f.body_ = std::make_shared<const boost::json::value>(std::move(*parsed));
  } else {
    f.body_canon_ = body;
  }
  // A request without a query hashes as it did before queries counted, so
  // records stored by earlier versions still match their retries.
  std::string target = f.query_.empty() ? path : path + '?' + f.query_;
  f.digest = Sha256Hex(method + '\n' + target + '\n' + f.body_canon_);
  return f;
}

const std::string& Fingerprint::detail() {
  if (!detail_.empty()) return detail_;
  boost::json::object detail;
  detail["method"] = Short(method_);
  detail["path"] = Short(path_);
  if (!query_.empty()) detail["query"] = Short(query_);
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
  // No query is a part of its own: absent on one side only also differs.
  const auto* aq = ao.if_contains("query");
  const auto* bq = bo.if_contains("query");
  if ((aq == nullptr) != (bq == nullptr) || (aq && *aq != *bq)) out.emplace_back("query");
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
