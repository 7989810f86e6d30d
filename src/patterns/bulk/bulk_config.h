// mode: buffered (CP-3): the route's own settings, from its `buffered:`,
// `async:` (retries, lease, concurrency, retention) and `validate:` keys.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "patterns/validate/schema.h"
#include "queue/queue_config.h"

namespace writ {

// A batch upload becomes a job; its items are queued and drained to the
// master in rate-limited batches.
struct BufferedConfig {
  std::string item_key;            // JSON Pointer naming each item's key; "": its position
  bool item_key_position = false;  // `item_key: position`: the position, said on purpose
  int max_items = 10'000;          // per uploaded batch
  int max_pending_items = 100'000;  // the route's buffer: queued + in flight
  int batch_size = 100;            // items per master request (bulk_path) or per claim
  std::string bulk_path;           // "": one request per item to upstream_path
  double rate = 0;                 // items per second to the master; 0: unlimited
  int burst = 0;                   // token bucket size; 0: batch_size
  bool reject_batch = false;       // reject: batch -> one invalid item refuses the batch (422)
  Millis dedup_window = 24 * 3'600'000LL;  // a succeeded item's key is remembered this long
  // Where a bulk answer holds per-item results (JSON Pointers); each
  // result's canonical id is found with async.canonical_id.
  std::string results = "/results";
  std::string item_status = "/status";
};

struct BufferedSettings : QueuedSettings {
  BufferedConfig buffered;
  std::string validate;                      // JSON Schema file each item must satisfy
  std::shared_ptr<const JsonSchema> schema;  // compiled from `validate` at load; null without
};

ModeSpec BufferedSpec();
// "500/s", "30000/m" or a plain number of items per second.
bool ParseRate(const std::string& text, double& out);

}  // namespace writ
