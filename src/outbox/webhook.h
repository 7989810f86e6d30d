// Status events to webhooks (transactional outbox relay). Events are written
// by the store in the same transaction as the state change they describe;
// the relay POSTs each one at least once, signed per the Standard Webhooks
// spec, and marks it sent only after a 2xx. Failures are retried with
// exponential backoff (capped at 5 minutes), forever: an event is never
// dropped, and writ_webhook_pending shows how many wait. A submission's events
// go in order: the store hands out only the oldest undelivered one of each.
//
// Headers sent: webhook-id (the event's stable id), webhook-timestamp (Unix
// seconds), webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">.
// Thread-safety: Start/Stop from the controlling thread; the rest runs on the
// scheduler. Stop, then wait for idle() before destroying.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "outbox/notify_config.h"
#include "core/clock.h"
#include "core/scheduler.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "upstream/client.h"

namespace writ {

// The key a secret stands for: the base64 part of "whsec_<base64>", decoded;
// any other secret is used as its raw bytes.
std::string WebhookKey(const std::string& secret);
// "v1,<base64(HMAC-SHA256(key, id + "." + timestamp + "." + body))>".
std::string SignWebhook(const std::string& secret, const std::string& id, int64_t timestamp_seconds,
                        const std::string& body);
std::string Base64Encode(const std::string& bytes);
std::string Base64Decode(const std::string& text);  // "" if malformed

struct WebhookTarget {
  const NotifyConfig* notify = nullptr;
  UpstreamClient* client = nullptr;
  const Redactor* redact = nullptr;  // the route's redacted fields, unless notify.redact is false
};

class WebhookRelay {
 public:
  // `targets` maps route names to their webhook; the relay borrows them.
  WebhookRelay(std::map<std::string, WebhookTarget> targets, Store& store, Scheduler& scheduler, Metrics& metrics,
               Rng& rng, Millis poll_interval = 200);
  void Start();
  void Stop();
  bool idle() const;

 private:
  void Tick();
  void Deliver(const StatusEvent& e);
  void Done();

  std::map<std::string, WebhookTarget> targets_;
  Store& store_;
  Scheduler& scheduler_;
  Metrics& metrics_;
  Rng& rng_;
  Millis poll_interval_;
  mutable std::mutex mu_;
  int in_flight_ = 0;
  bool stopping_ = false;
  Gauge& pending_;
};

}  // namespace writ
