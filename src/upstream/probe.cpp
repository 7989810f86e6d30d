#include "upstream/probe.h"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

#include "core/http_types.h"

namespace writ {
UpstreamRequest BuildProbeRequest(const ProbeConfig& probe, const std::string& base_path,
                                  const std::string& upstream_key) {
  UpstreamRequest u;
  u.method = probe.method;
  std::string path = probe.path;
  for (size_t at; (at = path.find("{key}")) != std::string::npos;) path.replace(at, 5, PercentEncode(upstream_key));
  u.target = base_path + path;
  u.headers.emplace_back("Accept", "application/json");
  return u;
}

ProbeVerdict ReadProbeAnswer(const ProbeConfig& probe, const UpstreamResult& r, StoredResponse* stored) {
  if (r.error != UpstreamError::kNone) return ProbeVerdict::kFailed;
  // A 404 of the lookup itself says nothing: the path may be wrong.
  if (r.response.status < 200 || r.response.status > 299) return ProbeVerdict::kFailed;
  boost::json::error_code ec;
  auto doc = boost::json::parse(r.response.body, ec);
  if (ec) return ProbeVerdict::kFailed;
  const boost::json::value* v = doc.find_pointer(probe.found, ec);
  if (!v || v->is_null()) {
    // The pointer's parent must exist (an empty list, say): otherwise the
    // answer is not the shape the probe expects, which proves nothing.
    std::string parent = probe.found.substr(0, probe.found.rfind('/'));
    if (!parent.empty() && !doc.find_pointer(parent, ec)) return ProbeVerdict::kFailed;
    return ProbeVerdict::kNotFound;
  }
  stored->status = probe.answer_status;
  stored->headers = {{"Content-Type", "application/json"}, {"Writ-Reconstructed", "probe"}};
  stored->body = boost::json::serialize(*v);
  return ProbeVerdict::kFound;
}

Millis NextProbeGap(const ProbeConfig& probe, ProbeVerdict verdict, Millis age) {
  Millis gap = std::clamp(age / 2, probe.interval, 10 * probe.interval);
  if (verdict == ProbeVerdict::kNotFound) gap = std::min(gap, std::max<Millis>(probe.settle - age, 100));
  return gap;
}

}  // namespace writ
