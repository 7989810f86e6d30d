#include "core/api_key.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace writ {
namespace {

constexpr size_t kIdBytes = 6, kSecretBytes = 32;

std::string Hex(const unsigned char* p, size_t n) {
  static const char* const kDigits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

bool LowerHex(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::optional<ApiKeyParts> NewApiKey() {
  unsigned char id[kIdBytes], secret[kSecretBytes];
  if (RAND_bytes(id, sizeof id) != 1 || RAND_bytes(secret, sizeof secret) != 1) return std::nullopt;
  ApiKeyParts k{Hex(id, sizeof id), Hex(secret, sizeof secret)};
  OPENSSL_cleanse(secret, sizeof secret);
  return k;
}

std::string FormatApiKey(const ApiKeyParts& k) { return "writ_" + k.id + "_" + k.secret; }

std::optional<ApiKeyParts> ParseApiKey(std::string_view token) {
  constexpr std::string_view kPrefix = "writ_";
  if (token.size() != kPrefix.size() + 2 * kIdBytes + 1 + 2 * kSecretBytes || token.substr(0, kPrefix.size()) != kPrefix)
    return std::nullopt;
  std::string_view id = token.substr(kPrefix.size(), 2 * kIdBytes);
  if (token[kPrefix.size() + id.size()] != '_') return std::nullopt;
  std::string_view secret = token.substr(kPrefix.size() + id.size() + 1);
  if (!LowerHex(id, 2 * kIdBytes) || !LowerHex(secret, 2 * kSecretBytes)) return std::nullopt;
  return ApiKeyParts{std::string(id), std::string(secret)};
}

std::string ApiKeyDigest(std::string_view pepper, std::string_view secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), pepper.data(), static_cast<int>(pepper.size()),
       reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), mac, &len);
  return Hex(mac, len);
}

bool DigestsEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<unsigned> ParseRoles(std::string_view list) {
  unsigned roles = 0;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view name = list.substr(pos, comma - pos);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name == "client") roles |= kRoleClient;
    else if (name == "reader") roles |= kRoleReader;
    else if (name == "operator") roles |= kRoleOperator;
    else return std::nullopt;
    pos = comma + 1;
  }
  if (roles == 0) return std::nullopt;
  return roles;
}

std::string RolesToString(unsigned roles) {
  std::string out;
  for (auto [bit, name] : {std::pair{kRoleClient, "client"}, {kRoleReader, "reader"}, {kRoleOperator, "operator"}})
    if (roles & bit) out += (out.empty() ? "" : ",") + std::string(name);
  return out;
}

}  // namespace writ
