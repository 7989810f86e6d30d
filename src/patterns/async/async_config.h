// mode: async (CP-2): the route's own settings, from its `async:`,
// `notify:` and `validate:` keys.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "outbox/notify_config.h"
#include "patterns/validate/schema.h"
#include "queue/queue_config.h"

namespace writ {

struct AsyncSettings : QueuedSettings {
  std::string validate;  // JSON Schema file (draft 7), resolved against the config's folder
  std::shared_ptr<const JsonSchema> schema;  // compiled from `validate` at load; null without
};

ModeSpec AsyncSpec();

}  // namespace writ
