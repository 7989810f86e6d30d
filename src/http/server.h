// The HTTP/1.1 server front: accepts connections, enforces limits (header
// size and count, body size per route, header and idle timeouts), converts
// Beast messages to plain Request/Response and hands them to a Handler.
// Thread-safety: the handler is called on I/O threads, concurrently; it may
// call `done` from any thread, exactly once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/http_types.h"
#include "core/status.h"
#include "http/runtime.h"

namespace writ {

// PEM files of a TLS listener; no cert: plain HTTP.
struct TlsFiles {
  std::string cert, key;
  std::string client_ca;  // callers' certificates are verified against it (mTLS)
  bool client_cert_required = true;
  bool enabled() const { return !cert.empty(); }
};

// A request's header fields, looked up by name (case-insensitive), while
// only its head has been read.
class HeadFields {
 public:
  virtual ~HeadFields() = default;
  virtual std::optional<std::string_view> Find(std::string_view name) const = 0;
};
// Decides from a request's head alone whether to answer it at once, before
// its body is read (e.g. 401 for a call that carries no credential); the
// connection is then closed. `client_cert`: a verified client certificate
// came with the connection.
using HeadCheckFn = std::function<std::optional<Response>(const std::string& method, const std::string& path,
                                                          const HeadFields& fields, bool client_cert)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  TlsFiles tls;
  HeadCheckFn head_check;  // optional
  uint16_t port = 0;  // 0: any free port (see Server::port)
  Millis header_timeout = 10'000;
  Millis idle_timeout = 60'000;
  uint64_t max_header_bytes = 16 * 1024;
  uint64_t max_uri_bytes = 8 * 1024;  // longer request targets get 414
  int max_header_count = 100;
};

using Handler = std::function<void(Request, std::function<void(Response)>)>;
// Body limit for a request, decided from its head before the body is read.
using BodyLimitFn = std::function<uint64_t(const std::string& method, const std::string& path)>;

class Server {
 public:
  virtual ~Server() = default;
  virtual uint16_t port() const = 0;
  virtual void Stop() = 0;  // stops accepting; open connections finish their request
  // Reads the TLS files again: new connections get the new certificate,
  // open ones keep theirs. On an error the old one stays in use.
  virtual Status ReloadTls() = 0;
};

// Parses one request from `bytes` as a connection does (Beast's parser with
// Writ's header limits, framing rules and the body limit), without a socket:
// for the fuzz target and tests. status: 0 = a complete request in
// `request`; -1 = incomplete; otherwise the error status the server answers
// with before closing (400, 413, 414, 431).
struct ParsedRequest {
  int status = 0;
  Request request;
};
ParsedRequest ParseRequestBytes(std::string_view bytes, const ServerOptions& o, uint64_t body_limit);

Result<std::unique_ptr<Server>> StartServer(Runtime& rt, ServerOptions opts, Handler handler,
                                            BodyLimitFn body_limit);

}  // namespace writ
