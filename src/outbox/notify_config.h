// Where the status events of a queued route are POSTed (a `notify:` block;
// Standard Webhooks signatures with `secret`).
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/event_sinks.h"

namespace YAML {
class Node;
}

namespace writ {

class Reader;

struct NotifyConfig {
  std::string url;  // as written, http[s]://host[:port]/path
  std::string host;
  uint16_t port = 80;
  std::string path = "/";
  bool tls = false;     // https://: verified against ca_file or the system's CAs
  std::string ca_file;
  // Payloads carry the route's redacted fields as "[redacted]"; false: a
  // receiver trusted with them gets the whole answer.
  bool redact = true;
  std::string secret;  // "whsec_<base64>" (or any other string, used as raw bytes)
  Millis timeout = 5'000;
  bool enabled() const { return !url.empty(); }
};

// Reads a `notify:` block into `c`; reports errors through `r`.
void ReadNotifyConfig(Reader& r, const YAML::Node& n, NotifyConfig& c);

// A route's events published to NATS JetStream (`sinks: {nats: ...}`), on
// the server of the config's `nats:` block.
struct NatsSinkConfig {
  bool enabled = false;
  // The subject of each event; {route} is the route's name as a subject
  // token (e.g. POST_orders), {type} the event's type (submission.succeeded).
  std::string subject = "writ.events.{route}.{type}";
  bool redact = true;  // as notify.redact
};

// `{route}` and `{type}` of `subject` filled in: the route's name with every
// character that is not a letter, digit, '-' or '_' as '_' (runs folded).
std::string NatsSubject(const std::string& subject, const std::string& route, const std::string& type);
// Whether NATS subject `subject` matches `pattern` (tokens, '*' one token,
// '>' the rest).
bool NatsSubjectMatches(const std::string& pattern, const std::string& subject);

// Reports at `at` a `subject` (of `what`: "sinks.nats", "events[]") that is
// no valid literal subject once {route} and {type} are filled in, or, when
// Writ creates the stream, one the stream's subjects would not take (its
// publishes would fail). `nats` may be null (no check against the stream).
void CheckNatsSubject(Reader& r, const YAML::Node& at, const std::string& what, const std::string& subject,
                      const struct NatsConfig* nats);

// A route's event sinks: `notify:` (the webhook, as before) or `sinks:` with
// `webhook:` and `nats:`, not both. `nats` is the config's top-level block
// (a nats sink needs it). Returns the sinks as bits.
EventSinks ReadEventSinks(Reader& r, const YAML::Node& route, const struct NatsConfig* nats, NotifyConfig& webhook,
                          NatsSinkConfig& nats_sink);

}  // namespace writ
