// mode: draft (CP-4): the route's own settings, from its `draft:`, `async:`
// (the queue of async submits) and `validate:` keys.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "patterns/validate/schema.h"
#include "queue/queue_config.h"

namespace writ {

struct DraftSettings : QueuedSettings {
  Millis retention = 30 * 86'400'000LL;           // idle drafts are erased this long after their last save
  Millis submitted_retention = 7 * 86'400'000LL;  // submitted drafts stay readable this long
  int keep_versions = 10;                         // versions kept per draft (the current one included)
  bool submit_async = false;                      // submit: async (202 + submission) or sync (the master's answer)
  std::string canonical_id = "/id";               // JSON Pointer into the master's answer to a submit
  int max_patch_operations = 1'000;
  std::string validate;                           // JSON Schema file
  std::shared_ptr<const JsonSchema> strict;        // submit: the schema as written (null without validate)
  std::shared_ptr<const JsonSchema> loose;         // saves: the schema without `required`
};

ModeSpec DraftSpec();

}  // namespace writ
