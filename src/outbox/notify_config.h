// Where the status events of a queued route are POSTed (a `notify:` block;
// Standard Webhooks signatures with `secret`).
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.h"

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

}  // namespace writ
