#include "core/hash.h"

#include <atomic>
#include <cstdint>
#include <cstdio>

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace writ {
namespace {
std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}
}  // namespace

std::string Sha256Hex(std::string_view data) {
  // Fetched once: an implicit fetch on every call is costly in OpenSSL 3.
  static EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, sha256, nullptr);
  return Hex(md, len);
}

std::string RandomId() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  return Hex(b, sizeof b);
}

std::string TimeOrderedId(const std::string& prefix, int64_t now_ms) {
  char ts[16];
  std::snprintf(ts, sizeof ts, "%012llx", static_cast<unsigned long long>(now_ms) & 0xffffffffffffULL);
  return prefix + ts + RandomId().substr(0, 12);
}

std::string NextRequestId() {
  static const std::string prefix = RandomId().substr(0, 8);
  static std::atomic<uint32_t> counter{0};
  uint32_t n = counter.fetch_add(1, std::memory_order_relaxed);
  unsigned char b[4] = {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
                        static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  return prefix + Hex(b, 4);
}

}  // namespace writ
