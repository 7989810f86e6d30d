// The upstream client: sends one HTTP/1.1 request to a master over pooled
// keep-alive connections, with connect and request timeouts. It reports
// whether the request may have reached the master, which is what decides
// between "safe to resend" and "outcome unknown".
// Implemented in http/ (Asio/Beast); this header has no framework types.
// Thread-safety: Send may be called from any thread; `done` runs on an I/O thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/http_types.h"

namespace writ {

class Metrics;
struct UpstreamConfig;

struct UpstreamRequest {
  std::string method;
  std::string target;  // path and query, base path already applied
  Headers headers;
  std::string body;
  // Use a new connection, never a pooled one, and close it afterwards. A pooled
  // connection the master closes just as the request goes out looks exactly
  // like a lost answer; at-most-once routes cannot afford that ambiguity.
  bool fresh_connection = false;
};

enum class UpstreamError {
  kNone,           // `response` holds the master's answer
  kNotSent,        // connect failed or the request could not be written: nothing reached the master
  kTimeout,        // sent, no complete answer within request_timeout: outcome unknown
  kBrokenAnswer,   // sent, connection reset or malformed answer: outcome unknown
};

struct UpstreamResult {
  UpstreamError error = UpstreamError::kNone;
  std::string message;  // for logs and problem details
  Response response;
  double seconds = 0;  // time from send to answer
};

class UpstreamClient {
 public:
  virtual ~UpstreamClient() = default;
  virtual void Send(UpstreamRequest req, std::function<void(UpstreamResult)> done) = 0;
};

}  // namespace writ
