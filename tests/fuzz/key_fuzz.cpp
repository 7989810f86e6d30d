// Fuzz target: the Idempotency-Key header parser. Whatever the bytes, it
// must not crash, and an accepted key is 1-255 printable ASCII characters.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "patterns/idempotency/key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto key = writ::ParseIdempotencyKey(in);
  if (!key.ok()) return 0;
  if (key->empty() || key->size() > writ::kMaxIdempotencyKeyLength) std::abort();
  for (unsigned char c : *key)
    if (c < 0x20 || c > 0x7e) std::abort();
  // Accepted keys derive stable upstream keys.
  if (writ::DeriveUpstreamKey("t", "r", *key) != writ::DeriveUpstreamKey("t", "r", *key)) std::abort();
  return 0;
}
