// Changes to a local document (a draft, an edge record): RFC 7396 merge
// patches, RFC 6902 JSON patches (with `test`), and the JSON Pointers a change touched. Applied to
// a copy: a patch that fails changes nothing. Documents are JSON text; the
// caller has checked them with ParseJsonStrict (depth and UTF-8 limits).
// nlohmann::json (Debian's nlohmann-json3-dev) does the patching, in
// json_patch.cpp only; object members keep their order.
#pragma once

#include <string>
#include <vector>

namespace writ {

struct PatchOutcome {
  bool ok = false;
  std::string doc;     // ok: the patched document, compact JSON
  int status = 0;      // !ok: 409 (test failed, path absent) or 422 (malformed patch)
  std::string type;    // !ok: problem type, e.g. "patch-test-failed"
  std::string detail;  // !ok: what failed
  int op_index = -1;   // !ok, JSON patch: the failing operation (0-based)
};

PatchOutcome ApplyMergePatch(const std::string& doc, const std::string& patch);
PatchOutcome ApplyJsonPatch(const std::string& doc, const std::string& patch);
// The pointers at which `after` differs from `before` (changed, added or
// removed members), as a JSON array text; at most `limit`, then "/…" for more.
std::string ChangedPointers(const std::string& before, const std::string& after, size_t limit = 100);

}  // namespace writ
