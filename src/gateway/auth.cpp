#include "gateway/auth.h"

#include <boost/json.hpp>

#include "core/log.h"
#include "core/problem.h"
#include "core/tenant.h"
#include "gateway/jwt.h"

namespace writ {
namespace {

constexpr size_t kMaxCached = 10'000;
constexpr Millis kTouchEvery = 60'000;  // last-used time: one write per key and minute at most
// Compared against when the id is unknown, so that an unknown id costs the
// same digest and comparison as a known one.
const std::string kNoDigest(64, '0');

std::optional<std::string> Bearer(std::string_view v) {
  constexpr std::string_view kScheme = "bearer ";
  if (v.size() <= kScheme.size() || !IEquals(v.substr(0, kScheme.size()), kScheme)) return std::nullopt;
  v.remove_prefix(kScheme.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  if (v.empty() || v.find(' ') != std::string_view::npos) return std::nullopt;
  return std::string(v);
}

}  // namespace

Authenticator::Authenticator(const AuthConfig& config, ApiKeyStore& keys, Metrics& metrics)
    : config_(config),
      keys_(keys),
      ok_(metrics.GetCounter("writ_auth_total", "Authentication attempts by result", "result=\"ok\"")),
      missing_(metrics.GetCounter("writ_auth_total", "Authentication attempts by result", "result=\"missing\"")),
      invalid_(metrics.GetCounter("writ_auth_total", "Authentication attempts by result", "result=\"invalid\"")) {}

Authenticator::Outcome Authenticator::Refuse(const char* reason, const std::string& key_id, bool missing) {
  (missing ? missing_ : invalid_).Inc();
  Outcome out;
  if (missing) {
    out.problem = Problem(401, "credentials-required", "Credentials required",
                          "send an API key as Authorization: Bearer writ_...");
    out.problem.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"writ\"");
    return out;
  }
  boost::json::object f{{"reason", reason}};
  if (!key_id.empty()) f["keyId"] = key_id;
  LogJson("warn", "authentication refused", std::move(f));
  out.problem = Problem(401, "invalid-credentials", "Invalid credentials",
                        "the credential is not valid (an API key malformed, unknown, revoked or expired, or a token "
                        "that failed verification)");
  out.problem.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"writ\", error=\"invalid_token\"");
  return out;
}

Authenticator::Outcome Authenticator::Authenticate(const Request& req) {
  std::optional<std::string> token;
  if (auto h = FindHeader(req.headers, "Authorization")) {
    token = Bearer(*h);
    if (!token) return Refuse("not a Bearer credential", "", false);
  } else if (!config_.header.empty()) {
    if (auto v = FindHeader(req.headers, config_.header)) token = std::string(*v);
  }
  if (!token && !req.client_cert_names.empty()) return FromCertificate(req.client_cert_names);
  if (!token) return Refuse("", "", true);
  if (config_.jwt.enabled() && LooksLikeJwt(*token)) {
    auto v = VerifyJwt(config_.jwt, *token, keys_.Now());
    if (!v.principal) return Refuse(v.reason.c_str(), "jwt", false);
    ok_.Inc();
    Outcome out;
    out.principal = Principal{"jwt:" + v.principal->subject, v.principal->tenant, v.principal->roles};
    if (out.principal->tenant == kAllTenants) out.principal->roles &= ~kRoleClient;
    return out;
  }
  if (!config_.api_keys) return Refuse("API keys are not configured (auth.api_keys)", "", false);
  auto parts = ParseApiKey(*token);
  if (!parts) return Refuse("malformed key", "", false);

  Millis now = keys_.Now();
  std::optional<ApiKeyRecord> rec;
  bool touch = false, verified = false;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(parts->id);
    bool fresh = it != cache_.end() && now - it->second.fetched_at < config_.cache_ttl;
    if (fresh) rec = it->second.rec;
    if (!fresh) {
      // Read outside the lock would let two threads read at once; one read
      // per id and period is cheap enough to hold it.
      auto got = keys_.Get(parts->id);
      if (!got.ok()) {
        Outcome out;
        out.problem = Problem(503, "store-unavailable", "Store unavailable", "cannot check the API key now");
        out.problem.headers.emplace_back("Retry-After", "1");
        return out;
      }
      rec = *got;
      if (it == cache_.end()) {
        if (cache_.size() >= kMaxCached) cache_.clear();
        it = cache_.emplace(parts->id, Cached{}).first;
      }
      // A secret verified against the same digest stays verified.
      if (!rec || !it->second.rec || it->second.rec->digest != rec->digest) it->second.verified_secret.clear();
      it->second.rec = rec;
      it->second.fetched_at = now;
    }
    if (rec && rec->Usable(now) && now - it->second.touched_at >= kTouchEvery) {
      it->second.touched_at = now;
      touch = true;
    }
    verified = DigestsEqual(it->second.verified_secret, parts->secret);
  }
  bool match = verified || DigestsEqual(ApiKeyDigest(config_.pepper, parts->secret), rec ? rec->digest : kNoDigest);
  if (match && !verified && rec) {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(parts->id); it != cache_.end() && it->second.rec) it->second.verified_secret = parts->secret;
  }
  if (!rec) return Refuse("unknown key id", parts->id, false);
  if (!match) return Refuse("wrong secret", parts->id, false);
  if (rec->revoked_at) return Refuse("revoked", parts->id, false);
  if (!rec->Usable(now)) return Refuse("expired", parts->id, false);
  if (touch) keys_.Touch(parts->id, [](Result<bool>) {});
  ok_.Inc();
  Outcome out;
  out.principal = Principal{rec->id, rec->tenant, rec->roles};
  // A key of every tenant never writes (apikeys create refuses it; this
  // holds for a row written some other way too).
  if (rec->tenant == kAllTenants) out.principal->roles &= ~kRoleClient;
  return out;
}

// A verified client certificate (mTLS) without a key: the first of its
// names that auth.client_certs maps. Its key id in logs and 403s is
// "cert:NAME".
Authenticator::Outcome Authenticator::FromCertificate(const std::vector<std::string>& names) {
  for (const auto& name : names)
    for (const auto& c : config_.client_certs)
      if (c.name == name) {
        ok_.Inc();
        Outcome out;
        out.principal = Principal{"cert:" + name, c.tenant, c.roles};
        if (c.tenant == kAllTenants) out.principal->roles &= ~kRoleClient;
        return out;
      }
  return Refuse("client certificate not in auth.client_certs", "cert:" + names.front(), false);
}

Response Authenticator::MissingCredentials() { return Refuse("", "", true).problem; }

Response Authenticator::Forbidden(const Principal& p, unsigned required) {
  return Problem(403, "forbidden", "Forbidden",
                 "this needs one of the roles " + RolesToString(required) + "; the API key " + p.key_id + " has " +
                     RolesToString(p.roles));
}

}  // namespace writ
