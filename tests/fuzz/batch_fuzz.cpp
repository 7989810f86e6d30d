// Fuzz target: batch splitting of buffered routes (NDJSON and JSON array).
// Whatever the bytes, it must not crash; positions count 0, 1, 2, ...; the
// item count respects max_items; every valid item's text parses back to its
// value; and a JSON array body is accepted exactly when it is an array.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/json.hpp>

#include "core/json.h"
#include "patterns/bulk/batch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int max_items = 1 + data[0] % 64;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (auto format : {writ::BatchFormat::kNdjson, writ::BatchFormat::kJsonArray}) {
    auto items = writ::SplitBatch(body, format, max_items);
    if (!items.ok()) {
      if (format == writ::BatchFormat::kNdjson && items.status().code() != writ::Code::kResourceExhausted) std::abort();
      continue;
    }
    if (items->size() > static_cast<size_t>(max_items)) std::abort();
    for (size_t i = 0; i < items->size(); ++i) {
      const auto& item = (*items)[i];
      if (item.position != static_cast<int64_t>(i)) std::abort();
      if (!item.error.empty()) {
        if (format == writ::BatchFormat::kJsonArray) std::abort();  // array elements are valid by construction
        continue;
      }
      auto again = writ::ParseJsonStrict(item.text);
      if (!again.ok() || writ::CanonicalJson(*again) != writ::CanonicalJson(item.value)) std::abort();
    }
    if (format == writ::BatchFormat::kJsonArray) {
      auto whole = writ::ParseJsonStrict(body);
      if (!whole.ok() || !whole->is_array()) std::abort();
    }
  }
  return 0;
}
