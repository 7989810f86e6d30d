#include "patterns/idempotency/request.h"

#include <boost/json.hpp>

#include "core/problem.h"
#include "core/tenant.h"
#include "patterns/idempotency/key.h"

namespace writ {

bool IsJsonContentType(std::string_view ct) {
  auto semi = ct.find(';');
  std::string_view media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (IEquals(media, "application/json")) return true;
  return media.size() > 5 && IEquals(media.substr(media.size() - 5), "+json");
}

std::string SubstituteParams(const std::string& tmpl, const PathParams& params) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{') {
      auto end = tmpl.find('}', i);
      auto it = params.find(tmpl.substr(i + 1, end - i - 1));
      if (it != params.end()) out += it->second;
      i = end;
    } else {
      out += tmpl[i];
    }
  }
  return out;
}

size_t SegmentsBelow(const std::string& path, const std::string& tmpl, const PathParams& params) {
  auto segments = [](const std::string& p) {
    size_t n = 0;
    for (size_t i = 0; i < p.size(); ++i)
      if (p[i] == '/' && i + 1 < p.size()) ++n;
    return n;
  };
  return segments(path) - segments(SubstituteParams(tmpl, params));
}

PreparedRequest PrepareKeyedRequest(const Request& r, const IdempotencyConfig& idem, const std::string& route) {
  PreparedRequest out;
  if (idem.fingerprint == FingerprintMode::kJson && !r.body.empty()) {
    auto ct = FindHeader(r.headers, "Content-Type");
    if (!ct || !IsJsonContentType(*ct)) {
      out.problem = Problem(415, "unsupported-media-type", "Unsupported media type",
                            "this route takes application/json bodies; got '" + std::string(ct.value_or("")) + "'");
      return out;
    }
  }
  size_t key_headers = CountHeader(r.headers, "Idempotency-Key");
  if (key_headers > 1) {
    out.problem = Problem(400, "idempotency-key-invalid", "Invalid Idempotency-Key",
                          "the Idempotency-Key header was sent more than once");
    return out;
  }
  if (key_headers == 0 && idem.required) {
    out.problem = Problem(400, "idempotency-key-missing", "Idempotency-Key required",
                          "this route requires an Idempotency-Key header, e.g. Idempotency-Key: \"8e03978e-40d5\"");
    return out;
  }
  auto q = r.target.find('?');
  std::string query = q == std::string::npos ? std::string() : r.target.substr(q + 1);
  auto fp = ComputeFingerprint(r.method, r.path, query, r.body, idem.fingerprint, idem.ignore_fields);
  if (!fp.ok()) {
    out.problem = Problem(400, "invalid-json", "Invalid JSON body", fp.status().message());
    return out;
  }
  KeyedRequest k;
  k.fp = std::move(*fp);
  k.id.tenant = WriteTenant(r);
  if (key_headers == 1) {
    auto key = ParseIdempotencyKey(*FindHeader(r.headers, "Idempotency-Key"));
    if (!key.ok()) {
      out.problem = Problem(400, "idempotency-key-invalid", "Invalid Idempotency-Key", key.status().message());
      return out;
    }
    k.has_key = true;
    k.id.route = route;
    k.id.key = std::move(*key);
  }
  out.keyed = std::move(k);
  return out;
}

Response KeyReusedProblem(const IdempotencyRecord& stored, Fingerprint& fp) {
  boost::json::array differs;
  for (auto& part : DescribeMismatch(stored.fingerprint_detail, fp.detail())) differs.emplace_back(part);
  return Problem(422, "idempotency-key-reused", "Idempotency-Key reused",
                 "this key was first used with a different request; use a new key for a new request",
                 {{"differs", std::move(differs)}});
}

StoredResponse KeptAnswer(const Response& upstream, const std::vector<std::string>& response_headers) {
  StoredResponse s;
  s.status = upstream.status;
  s.body = upstream.body;
  for (const auto& [k, v] : upstream.headers) {
    bool keep = IEquals(k, "Content-Type") || IEquals(k, "Location") || IEquals(k, "ETag") ||
                IEquals(k, "Last-Modified");
    for (const auto& name : response_headers) keep = keep || IEquals(k, name);
    if (keep) s.headers.emplace_back(k, v);
  }
  return s;
}

Response ReplayStored(const StoredResponse& s) {
  Response r;
  r.status = s.status;
  r.headers = s.headers;
  r.body = s.body;
  r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

Response AnswerAcknowledged(const IdempotencyRecord& rec, Fingerprint& fp, std::string& outcome) {
  if (rec.fingerprint != fp.digest) {
    outcome = "mismatch";
    return KeyReusedProblem(rec, fp);
  }
  if (rec.state != KeyState::kCompleted) {
    // Such records are created completed; anything else is not ours to replay.
    outcome = "in_flight";
    Response p = Problem(409, "idempotency-key-in-flight", "Request in progress",
                         "a request with this key is still being processed; retry after a moment with the same key");
    p.headers.emplace_back("Retry-After", "1");
    return p;
  }
  outcome = "replayed";
  return ReplayStored(rec.response);
}

}  // namespace writ
