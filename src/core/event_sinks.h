// Where a route's status events go, as bits (the events table's `deliver`
// column). 0: the events are kept for SSE and GET only. Each sink keeps its
// own delivery state per event: the webhook relay's and the NATS relay's.
#pragma once

namespace writ {

using EventSinks = int;
constexpr EventSinks kWebhookSink = 1;  // `sinks.webhook` (or `notify:`): Standard Webhooks POSTs
constexpr EventSinks kNatsSink = 2;     // `sinks.nats`: JetStream publishes

}  // namespace writ
