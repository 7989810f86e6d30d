// mode: saga: the route's settings, from its `saga:`, `async:` (the queue of
// its requests) and `validate:` keys:
//   saga:
//     steps:
//       - name: flight
//         method: POST
//         path: /flights
//         body: {trip: "{{/input/tripId}}", from: "{{/input/from}}"}
//         compensate: {method: DELETE, path: "/flights/{{/steps/flight/body/id}}"}
//       - {name: payment, path: /payments, body: {amount: "{{/input/amount}}"}, pivot: true}
//     compensation_retry: 30s   # a spent compensation is sent again after this
//   notify: {url: ..., secret: ...}  # the saga's events (saga.started, ...) as webhooks
#pragma once

#include <memory>
#include <string>

#include "outbox/notify_config.h"
#include "patterns/saga/saga_machine.h"
#include "patterns/validate/schema.h"
#include "queue/queue_config.h"

namespace writ {

struct SagaSettings : QueuedSettings {
  SagaDef def;
  Millis again_delay = 30'000;  // a spent compensation (or a step past the pivot) waits this long
  std::string validate;         // JSON Schema file for the saga's input
  std::shared_ptr<const JsonSchema> schema;
};

ModeSpec SagaSpec();

}  // namespace writ
