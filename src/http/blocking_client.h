// A blocking HTTP/1.1 client for tools, the demo and tests: one connection
// per call, bounded by `timeout`. Not for the data path.
// Thread-safety: each call is independent; call from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/http_types.h"
#include "core/status.h"

namespace writ {

// Sends `req` (method, target, headers, body) to host:port. Fails with
// kUnavailable when the connection could not be made (nothing sent) and
// kInternal when the answer was lost or timed out (outcome unknown).
Result<Response> HttpCall(const std::string& host, uint16_t port, const Request& req, Millis timeout = 10'000);

}  // namespace writ
