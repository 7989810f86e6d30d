// Batch uploads of a buffered route: NDJSON (one JSON value per line, blank
// lines ignored) or one JSON array. Splitting checks the framing and the
// item count; each item's own validity (JSON, key, schema) is judged per
// item, so one bad line does not hide the others.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "core/status.h"

namespace writ {

enum class BatchFormat { kNdjson, kJsonArray };

// From the Content-Type: application/x-ndjson (or application/jsonl) and
// application/json. nullopt for anything else.
std::optional<BatchFormat> BatchFormatFor(std::string_view content_type);

struct BatchItem {
  int64_t position = 0;  // 0-based, counting items (not blank lines)
  std::string text;      // the item as JSON text
  boost::json::value value;
  std::string error;  // non-empty: the item is not valid JSON (value is null)
};

// Fails (with a message for a 400) when the body is not a batch at all: a
// JSON array body that does not parse or is not an array, or more than
// `max_items` items (code kResourceExhausted).
Result<std::vector<BatchItem>> SplitBatch(std::string_view body, BatchFormat format, int max_items);

}  // namespace writ
