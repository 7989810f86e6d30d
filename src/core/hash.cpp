#include "core/hash.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <openssl/evp.h>
#include <openssl/crypto.h>
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
  // Fetched once (an implicit fetch on every call is costly in OpenSSL 3),
  // and one context per thread: EVP_Digest allocates and frees a context and
  // its provider state on every call, twice the cost of the digest of a short
  // string.
  static EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct Ctx {
    EVP_MD_CTX* p = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(p); }
  };
  thread_local Ctx ctx;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestInit_ex2(ctx.p, sha256, nullptr);
  EVP_DigestUpdate(ctx.p, data.data(), data.size());
  EVP_DigestFinal_ex(ctx.p, md, &len);
  return Hex(md, len);
}

namespace {
// Random bytes from OpenSSL's CSPRNG, drawn 4 KiB at a time per thread: one
// RAND_bytes call costs about a microsecond whatever its size, and an async
// accept needs four identifiers (a submission and its events). Bytes handed
// out are wiped from the pool; Writ forks only to exec at once (cli/process),
// so no child ever draws from a copy of a parent's pool.
void RandomBytes(unsigned char* out, size_t n) {
  struct Pool {
    unsigned char bytes[4096];
    size_t used = sizeof bytes;
  };
  thread_local Pool pool;
  if (pool.used + n > sizeof pool.bytes) {
    if (RAND_bytes(pool.bytes, sizeof pool.bytes) != 1) std::abort();  // no entropy: nothing safe to hand out
    pool.used = 0;
  }
  std::memcpy(out, pool.bytes + pool.used, n);
  OPENSSL_cleanse(pool.bytes + pool.used, n);
  pool.used += n;
}
}  // namespace

std::string KeyHashForLog(const std::string& tenant, const std::string& route, const std::string& key) {
  return Sha256Hex(tenant + '\0' + route + '\0' + key).substr(0, 16);
}

std::string RandomId() {
  unsigned char b[16];
  RandomBytes(b, sizeof b);
  return Hex(b, sizeof b);
}

std::string TimeOrderedId(const std::string& prefix, int64_t now_ms, int random_hex) {
  char ts[16];
  std::snprintf(ts, sizeof ts, "%012llx", static_cast<unsigned long long>(now_ms) & 0xffffffffffffULL);
  std::string random;
  while (static_cast<int>(random.size()) < random_hex) random += RandomId();
  return prefix + ts + random.substr(0, random_hex);
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
