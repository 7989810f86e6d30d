// The queue settings of a route whose writes are queued and sent to the
// master by workers (an `async:` block: async routes, buffered routes, the
// async submit of drafts): retries, leases, concurrency, ordering, retention.
#pragma once

#include <string>

#include "config/config.h"
#include "core/clock.h"
#include "core/event_sinks.h"
#include "outbox/domain_events.h"
#include "outbox/notify_config.h"

namespace YAML {
class Node;
}

namespace writ {

class Reader;

struct QueueConfig {
  int max_attempts = 10;             // then the command is dead
  Millis max_age = 24 * 3'600'000LL;  // no new attempt after this long since acceptance
  Millis backoff_base = 200;         // retry n waits rand(0, min(max, base * 2^(n-1)))
  Millis backoff_max = 60'000;
  int concurrency = 16;              // calls to the master in flight for this route
  std::string ordering_key;          // JSON Pointer; same value -> one at a time, in order
  std::string canonical_id = "/id";  // JSON Pointer into the master's success answer
  Millis lease = 30'000;             // a worker's hold on a command; > connect + request timeout
  Millis poll_interval = 200;        // idle workers look for due retries this often
  Millis retention = 7 * 86'400'000LL;  // finished submissions (and events) kept this long
};

// The settings of any route whose writes become queued commands; tools
// that act on a submission (retry, cancel) find its route's with
// dynamic_cast<const QueuedSettings*>(route.settings.get()).
struct QueuedSettings : ModeConfig {
  QueueConfig queue;
  // Where the route's status events go (`notify:` or `sinks:`); modes
  // without events leave both empty.
  NotifyConfig notify_config;  // empty url: no webhook
  NatsSinkConfig nats_sink;
  // Async routes: the route's domain events (`events:`), written to the
  // outbox table with the outcome they follow.
  std::vector<DomainEventDef> domain_events;
  EventSinks event_sinks() const {
    return (notify_config.enabled() ? kWebhookSink : 0) | (nats_sink.enabled ? kNatsSink : 0);
  }
};

// Reads an `async:` block into `q`; reports errors through `r`.
void ReadQueueConfig(Reader& r, const YAML::Node& n, QueueConfig& q);
// A worker must finish its master call (connect + request) before its lease
// can be taken over: reports a lease too short for `upstream` (may be null)
// at the route's `async:` key.
void CheckQueueLease(Reader& r, const YAML::Node& route, const QueueConfig& q, const UpstreamConfig* upstream);
// The idempotency record of a queued write must outlive its retries: a
// client retry after the record expired would queue the command again. A
// retention left at its default is raised to max_age + backoff_max + 1h; one
// given shorter is warned about, as is a declared master_key_retention (how
// long the master remembers keys) shorter than the retry horizon.
void CheckQueueRetention(Reader& r, const YAML::Node& route, IdempotencyConfig& idem, const QueueConfig& q);

}  // namespace writ
