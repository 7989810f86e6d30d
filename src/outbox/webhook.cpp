#include "outbox/webhook.h"

#include "core/crash_point.h"
#include "core/log.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cmath>

namespace writ {

std::string Base64Encode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Base64Decode(const std::string& text) {
  if (text.empty() || text.size() % 4 != 0) return "";
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return "";
  size_t pad = text.size() >= 2 && text[text.size() - 1] == '=' ? (text[text.size() - 2] == '=' ? 2 : 1) : 0;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string WebhookKey(const std::string& secret) {
  if (secret.rfind("whsec_", 0) == 0) {
    std::string key = Base64Decode(secret.substr(6));
    if (!key.empty()) return key;
  }
  return secret;
}

std::string SignWebhook(const std::string& secret, const std::string& id, int64_t ts, const std::string& body) {
  std::string key = WebhookKey(secret);
  std::string content = id + "." + std::to_string(ts) + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), mac, &len);
  return "v1," + Base64Encode(std::string(reinterpret_cast<char*>(mac), len));
}

WebhookRelay::WebhookRelay(std::map<std::string, WebhookTarget> targets, Store& store, Scheduler& scheduler,
                           Metrics& metrics, Rng& rng, Millis poll_interval)
    : targets_(std::move(targets)),
      store_(store),
      scheduler_(scheduler),
      metrics_(metrics),
      rng_(rng),
      poll_interval_(poll_interval),
      pending_(metrics.GetGauge("writ_webhook_due", "Status events due for webhook delivery (last poll, max 256)")) {}

void WebhookRelay::Start() {
  if (targets_.empty()) return;
  scheduler_.Post([this] { Tick(); });
}

void WebhookRelay::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
}

bool WebhookRelay::idle() const {
  std::lock_guard lock(mu_);
  return in_flight_ == 0;
}

void WebhookRelay::Tick() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
  }
  auto due = store_.queue().DueEvents(256);
  if (!due.ok()) {
    metrics_.GetCounter("writ_webhook_store_errors_total", "Relay store reads that failed").Inc();
    scheduler_.After(poll_interval_, [this] { Tick(); });
    return;
  }
  pending_.Set(static_cast<int64_t>(due->size()));
  if (due->empty()) {
    scheduler_.After(poll_interval_, [this] { Tick(); });
    return;
  }
  {
    std::lock_guard lock(mu_);
    in_flight_ = static_cast<int>(due->size());
  }
  for (const auto& e : *due) Deliver(e);
}

// One delivery finished (either way): when the batch is done, look again.
void WebhookRelay::Done() {
  bool last;
  {
    std::lock_guard lock(mu_);
    last = --in_flight_ == 0;
  }
  if (last) scheduler_.Post([this] { Tick(); });
}

void WebhookRelay::Deliver(const StatusEvent& e) {
  auto it = targets_.find(e.route);
  if (it == targets_.end()) {
    // The route lost its webhook in a config change: keep the event, look
    // again in an hour, and say why.
    store_.queue().MarkEvent(e.seq, false, store_.Now() + 3'600'000, "route has no notify url", [this](Result<bool>) { Done(); });
    return;
  }
  const NotifyConfig& n = *it->second.notify;
  int64_t ts = store_.Now() / 1000;
  UpstreamRequest req;
  req.method = "POST";
  req.target = n.path;
  // The receiver verifies what it is sent: the payload after redaction.
  req.body = RedactedEventPayload(e.payload, it->second.redact);
  req.headers = {{"Content-Type", "application/json"},
                 {"webhook-id", e.id},
                 {"webhook-timestamp", std::to_string(ts)},
                 {"webhook-signature", SignWebhook(n.secret, e.id, ts, req.body)}};
  std::string route = e.route;
  int64_t seq = e.seq;
  int attempts = e.attempts;
  std::string event_id = e.id, submission = e.submission_id;
  it->second.client->Send(std::move(req), [this, seq, attempts, route, event_id, submission](UpstreamResult r) {
    bool ok = r.error == UpstreamError::kNone && r.response.status >= 200 && r.response.status < 300;
    metrics_
        .GetCounter("writ_webhook_deliveries_total", "Webhook delivery attempts by result",
                    RouteLabel(route) + ",result=\"" + (ok ? "ok" : "failed") + "\"")
        .Inc();
    std::string error;
    Millis next_at = 0;
    if (!ok) {
      error = r.error == UpstreamError::kNone ? "receiver answered " + std::to_string(r.response.status) : r.message;
      double cap = std::min(300'000.0, 500.0 * std::pow(2.0, std::min(attempts, 20)));
      next_at = store_.Now() + static_cast<Millis>(cap / 2 + rng_.Uniform() * cap / 2);
      LogJson("warn", "webhook delivery failed",
              {{"event", event_id}, {"submission", submission}, {"route", route}, {"attempt", attempts + 1},
               {"reason", error}, {"nextAttemptInMs", next_at - store_.Now()}});
    }
    // The receiver has the event; a crash here makes the next relay deliver
    // it again under the same webhook-id (at least once, deduplicable).
    if (ok) WRIT_CRASH_POINT("after_delivery_before_mark");
    store_.queue().MarkEvent(seq, ok, next_at, error, [this](Result<bool>) { Done(); });
  });
}

}  // namespace writ
