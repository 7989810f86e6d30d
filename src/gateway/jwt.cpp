#include "gateway/jwt.h"

#include <jwt.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>

#include <boost/json.hpp>

#include "core/api_key.h"

namespace writ {
namespace {

constexpr size_t kMaxTokenBytes = 8 * 1024;

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

bool Base64Url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

jwt_alg_t Algorithm(const std::string& name) {
  return name == "HS256" ? JWT_ALG_HS256 : name == "RS256" ? JWT_ALG_RS256 : name == "ES256" ? JWT_ALG_ES256
                                                                                             : JWT_ALG_INVAL;
}

// A claim as JSON (libjwt hands out strings, numbers and arrays this way).
std::optional<boost::json::value> Claim(jwt_t* j, const char* name) {
  char* text = jwt_get_grants_json(j, name);
  if (!text) return std::nullopt;
  std::unique_ptr<char, decltype(&std::free)> owned(text, &std::free);
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

JwtOutcome Refuse(std::string reason) { return {std::nullopt, std::move(reason)}; }

}  // namespace

bool LooksLikeJwt(const std::string& token) { return std::count(token.begin(), token.end(), '.') == 2; }

JwtOutcome VerifyJwt(const AuthConfig::Jwt& c, const std::string& token, Millis now) {
  if (token.size() > kMaxTokenBytes) return Refuse("token larger than 8 KiB");
  size_t dots = 0;
  for (char ch : token) {
    if (ch == '.') ++dots;
    else if (!Base64Url(ch)) return Refuse("not a JWT (characters outside base64url)");
  }
  if (dots != 2) return Refuse("not a JWT (three segments)");
  jwt_t* raw = nullptr;
  int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(c.key.data()),
                      static_cast<int>(c.key.size()));
  JwtPtr j(raw);
  if (rc != 0 || !j) return Refuse("signature not valid or token malformed");
  // The signature held for the algorithm the token names; only the
  // configured one is trusted (alg "none", or HS256 keyed with an RS256
  // public key, verify "successfully" under their own rules).
  if (jwt_get_alg(j.get()) != Algorithm(c.algorithm))
    return Refuse(std::string("algorithm ") + jwt_alg_str(jwt_get_alg(j.get())) + " not allowed");

  const Millis skew = c.clock_skew;
  auto seconds = [&](const char* name) -> std::optional<long long> {
    auto v = Claim(j.get(), name);
    if (!v || !v->is_number()) return std::nullopt;
    double d = v->to_number<double>();
    return static_cast<long long>(std::clamp(d, 0.0, 1e11));  // seconds; past year 5000 is "never"
  };
  auto exp = seconds("exp");
  if (!exp) return Refuse("no exp claim");
  if (now > *exp * 1000 + skew) return Refuse("expired");
  if (auto nbf = seconds("nbf"); nbf && now + skew < *nbf * 1000) return Refuse("not valid yet (nbf)");
  const char* iss = jwt_get_grant(j.get(), "iss");
  if (!iss || c.issuer != iss) return Refuse("issuer not accepted");
  bool audience = false;
  if (auto aud = Claim(j.get(), "aud")) {
    if (aud->is_string()) audience = aud->get_string() == c.audience;
    if (aud->is_array())
      for (const auto& a : aud->get_array()) audience = audience || (a.is_string() && a.get_string() == c.audience);
  }
  if (!audience) return Refuse("audience not accepted");

  JwtPrincipal p;
  const char* tenant = jwt_get_grant(j.get(), c.tenant_claim.c_str());
  if (!tenant || !*tenant) return Refuse("no " + c.tenant_claim + " claim");
  p.tenant = tenant;
  auto roles = Claim(j.get(), c.roles_claim.c_str());
  std::string list;
  if (roles && roles->is_string()) list = roles->get_string();
  if (roles && roles->is_array())
    for (const auto& r : roles->get_array()) {
      if (!r.is_string()) return Refuse("the " + c.roles_claim + " claim holds a non-string");
      list += (list.empty() ? "" : ",") + std::string(r.get_string());
    }
  auto bits = ParseRoles(list);
  if (!bits) return Refuse("the " + c.roles_claim + " claim names no known role");
  p.roles = *bits;
  if (const char* sub = jwt_get_grant(j.get(), "sub")) p.subject = sub;
  return {std::move(p), ""};
}

}  // namespace writ
