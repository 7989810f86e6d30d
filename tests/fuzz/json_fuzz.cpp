// Fuzz target: strict JSON parsing and the canonical form behind request
// fingerprints. Canonical text must parse again to the same canonical text,
// and the fingerprint of a body must equal that of its canonical form.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <boost/json.hpp>

#include "core/json.h"
#include "patterns/idempotency/fingerprint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  auto doc = writ::ParseJsonStrict(in);
  if (!doc.ok()) return 0;
  std::string canon = writ::CanonicalJson(*doc);
  auto again = writ::ParseJsonStrict(canon);
  if (!again.ok() || writ::CanonicalJson(*again) != canon) std::abort();
  (void)writ::FlattenJson(*doc);
  auto a = writ::ComputeFingerprint("POST", "/x", "", in, writ::FingerprintMode::kJson, {"/a", "/b/0"});
  auto b = writ::ComputeFingerprint("POST", "/x", "", canon, writ::FingerprintMode::kJson, {"/a", "/b/0"});
  if (!a.ok() || !b.ok() || a->digest != b->digest) std::abort();
  return 0;
}
