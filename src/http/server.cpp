#include "http/server.h"

#include <array>
#include <atomic>
#include <limits>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <mutex>

#include "core/hash.h"
#include "core/log.h"
#include "core/problem.h"
#include "http/io.h"
#include "http/tls.h"

namespace writ {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Awaits the handler's `done` callback, resuming on the session's executor.
template <typename Token>
auto AsyncHandle(const Handler& handler, Request req, Token&& token) {
  return asio::async_initiate<Token, void(Response)>(
      [&handler](auto completion, Request r) {
        auto shared = std::make_shared<decltype(completion)>(std::move(completion));
        handler(std::move(r), [shared](Response resp) {
          auto ex = asio::get_associated_executor(*shared);
          asio::post(ex, [shared, resp = std::move(resp)]() mutable { (*shared)(std::move(resp)); });
        });
      },
      token, std::move(req));
}

http::response<http::string_body> ToBeast(const Response& r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  for (const auto& [k, v] : r.headers) res.insert(k, v);
  res.set(http::field::server, "writ");
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// Refuses what request smuggling is made of, beyond what Beast's parser
// already refuses: more than one Content-Length (even equal ones), a list or
// non-digit Content-Length, any transfer coding but a lone "chunked", and
// header values carrying line breaks (folded lines).
const char* FramingProblem(const http::request_header<>& head) {
  size_t lengths = 0;
  for (const auto& f : head) {
    if (f.name() == http::field::content_length) {
      ++lengths;
      auto v = f.value();
      if (v.empty() || v.find_first_not_of("0123456789") != beast::string_view::npos)
        return "Content-Length must be a single decimal number";
    } else if (f.name() == http::field::transfer_encoding) {
      if (!beast::iequals(f.value(), "chunked")) return "the only transfer coding accepted is chunked";
    }
    if (f.value().find_first_of("\r\n") != beast::string_view::npos) return "folded header lines are not accepted";
  }
  if (lengths > 1) return "more than one Content-Length header";
  if (head.count(http::field::transfer_encoding) > 1) return "more than one Transfer-Encoding header";
  return nullptr;
}

// Whether a request head (the bytes up to its blank line) holds a folded
// line: one starting with SP or HTAB. Beast joins such a line to the field
// before it (RFC 9112 allows unfolding); a gateway refuses it instead, as
// hardened proxies do, so that a folded Idempotency-Key or Authorization
// never reaches a route in a form the client's other hops read differently.
bool HasFoldedLine(std::string_view head) {
  for (size_t at = head.find("\r\n"); at != std::string_view::npos && at + 2 < head.size();
       at = head.find("\r\n", at + 2))
    if (head[at + 2] == ' ' || head[at + 2] == '\t') return true;
  return false;
}
bool LooksLikeHeadText(std::string_view data) {
  for (unsigned char c : data)
    if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f) return false;
  return true;
}
constexpr const char* kFoldedDetail = "folded header lines (obs-fold) are not accepted";

size_t FieldCount(const http::request_header<>& head) { return std::distance(head.begin(), head.end()); }

// Why a parsed request head is refused before its body is read, if it is.
struct HeadRefusal {
  int status;
  const char* slug;
  const char* title;
  std::string detail;
};

std::optional<HeadRefusal> CheckHead(const http::request_header<>& head, const ServerOptions& o) {
  if (static_cast<int>(FieldCount(head)) > o.max_header_count)
    return HeadRefusal{431, "headers-too-large", "Too many request headers",
                       "more than " + std::to_string(o.max_header_count) + " headers"};
  if (head.version() >= 11 && head.count(http::field::host) != 1)
    return HeadRefusal{400, "bad-request", "Malformed request", "HTTP/1.1 requests need exactly one Host header"};
  if (const char* why = FramingProblem(head)) return HeadRefusal{400, "bad-request", "Malformed request", why};
  if (head.target().size() > o.max_uri_bytes)
    return HeadRefusal{414, "uri-too-long", "URI too long",
                       "the request target exceeds " + std::to_string(o.max_uri_bytes) + " bytes"};
  return std::nullopt;
}

// The plain Request of a complete Beast message (request id not set).
Request ToRequest(http::request<http::string_body>&& msg) {
  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  req.path = req.target.substr(0, req.target.find('?'));
  for (const auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  req.body = std::move(msg.body());
  return req;
}

class ServerImpl : public Server, public std::enable_shared_from_this<ServerImpl> {
 public:
  ServerImpl(Runtime& rt, ServerOptions o, Handler h, BodyLimitFn limit)
      : ioc_(rt.impl().ioc), opts_(std::move(o)), handler_(std::move(h)), body_limit_(std::move(limit)),
        acceptor_(ioc_) {}

  Status Listen() {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(opts_.host, ec);
    if (ec) {
      tcp::resolver res(ioc_);
      auto eps = res.resolve(opts_.host, std::to_string(opts_.port), ec);
      if (ec || eps.empty()) return Status(Code::kInvalidArgument, "cannot resolve " + opts_.host);
      addr = eps.begin()->endpoint().address();
    }
    tcp::endpoint ep(addr, opts_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return Status(Code::kUnavailable,
                    "cannot listen on " + opts_.host + ":" + std::to_string(opts_.port) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    return Status::Ok();
  }

  void Begin() {
    asio::co_spawn(ioc_, Accept(shared_from_this()), asio::detached);
  }

  Status ReloadTls() override {
    if (!opts_.tls.enabled()) return Status::Ok();
    auto ctx = MakeServerTlsContext(opts_.tls);
    if (!ctx.ok()) return ctx.status();
    std::lock_guard lock(tls_mu_);
    tls_ = std::move(*ctx);
    return Status::Ok();
  }

  std::shared_ptr<asio::ssl::context> tls() {
    std::lock_guard lock(tls_mu_);
    return tls_;
  }

  uint16_t port() const override { return port_; }

  void Stop() override {
    asio::post(ioc_, [self = shared_from_this()] {
      boost::system::error_code ec;
      self->acceptor_.close(ec);
    });
  }

 private:
  static asio::awaitable<void> Accept(std::shared_ptr<ServerImpl> self) {
    for (;;) {
      // Each connection gets its own strand: Beast's timers and the session's
      // reads and writes must not run at once on different I/O threads.
      auto [ec, sock] =
          co_await self->acceptor_.async_accept(asio::make_strand(self->ioc_), asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) co_return;
        continue;  // e.g. EMFILE: keep serving the connections we have
      }
      sock.set_option(tcp::no_delay(true), ec);
      auto ex = sock.get_executor();
      if (auto ctx = self->tls())
        asio::co_spawn(ex, Secure(self, std::move(ctx), beast::tcp_stream(std::move(sock))), asio::detached);
      else
        asio::co_spawn(ex, Session(self, beast::tcp_stream(std::move(sock)), {}), asio::detached);
    }
  }

  // A TLS connection: the handshake within header_timeout, then the same
  // session over the encrypted stream. `ctx` (the certificate when the
  // connection began) lives as long as the connection, across reloads.
  static asio::awaitable<void> Secure(std::shared_ptr<ServerImpl> self, std::shared_ptr<asio::ssl::context> ctx,
                                      beast::tcp_stream tcp) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), *ctx);
    beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(self->opts_.header_timeout));
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      // Plain HTTP, a wrong CA at the client, no client certificate: the
      // caller learns from its TLS stack; nothing is answered.
      co_return;
    }
    std::vector<std::string> names = PeerCertificateNames(stream.native_handle());
    co_await Session(self, std::move(stream), std::move(names));
  }

  template <typename Stream>
  static asio::awaitable<void> WriteProblem(Stream& stream, int status, const char* slug, const char* title,
                                            std::string detail) {
    auto res = ToBeast(Problem(status, slug, title, detail), 11, false);
    co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
  }

  template <typename Stream>
  static asio::awaitable<void> Session(std::shared_ptr<ServerImpl> self, Stream stream,
                                       std::vector<std::string> cert_names) {
    const auto& o = self->opts_;
    auto& lowest = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer;
    std::string remote;
    {
      boost::system::error_code ec;
      auto ep = lowest.socket().remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    bool first = true;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(o.max_header_bytes));
      // The route's own limit is applied once the head is known; until then
      // Beast's default must not answer for it.
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      // A new connection must deliver its first header within header_timeout;
      // a kept-alive one may idle up to idle_timeout before its next header
      // is complete. A body must then arrive within header_timeout.
      lowest.expires_after(std::chrono::milliseconds(first ? o.header_timeout : o.idle_timeout));
      first = false;
      // The whole head is read into the buffer and looked at before Beast
      // parses (and would unfold) it; a head over the limit is left to
      // Beast's 431.
      bool folded = false, gone = false;
      for (;;) {
        std::string_view have(static_cast<const char*>(buffer.data().data()), buffer.size());
        if (size_t end = have.find("\r\n\r\n"); end != std::string_view::npos) {
          folded = end + 4 <= o.max_header_bytes && HasFoldedLine(have.substr(0, end + 2));
          break;
        }
        // Over the limit, or bytes no head holds (a TLS hello, binary):
        // Beast's parser answers those at once.
        if (have.size() > o.max_header_bytes || !LooksLikeHeadText(have)) break;
        auto [rec, rn] = co_await stream.async_read_some(buffer.prepare(beast::read_size(buffer, 16 * 1024)),
                                                         asio::as_tuple(asio::use_awaitable));
        buffer.commit(rn);
        if (rec) {
          gone = true;  // closed, reset or timed out before a whole head: nothing to answer
          break;
        }
      }
      if (gone) break;
      if (folded) {
        co_await WriteProblem(stream, 400, "bad-request", "Malformed request", kFoldedDetail);
        break;
      }
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
        break;
      if (ec == http::error::header_limit) {
        co_await WriteProblem(stream, 431, "headers-too-large", "Request headers too large",
                              "headers exceed " + std::to_string(o.max_header_bytes) + " bytes");
        break;
      }
      if (ec) {
        co_await WriteProblem(stream, 400, "bad-request", "Malformed request", ec.message());
        break;
      }
      auto& head = parser.get();
      const size_t head_fields = FieldCount(head);
      if (auto refusal = CheckHead(head, o)) {
        co_await WriteProblem(stream, refusal->status, refusal->slug, refusal->title, std::move(refusal->detail));
        break;
      }
      std::string target(head.target());
      std::string path = target.substr(0, target.find('?'));
      std::string method(head.method_string());
      if (o.head_check && !parser.is_done()) {  // a body is to come: decide before reading it
        struct Fields : HeadFields {
          const http::request_header<>& h;
          explicit Fields(const http::request_header<>& head) : h(head) {}
          std::optional<std::string_view> Find(std::string_view name) const override {
            auto it = h.find(beast::string_view(name.data(), name.size()));
            if (it == h.end()) return std::nullopt;
            return std::string_view(it->value().data(), it->value().size());
          }
        } fields(head);
        if (auto early = o.head_check(method, path, fields, !cert_names.empty())) {
          auto res = ToBeast(*early, head.version(), false);
          co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
          break;
        }
      }
      uint64_t limit = self->body_limit_(method, path);
      if (auto len = parser.content_length(); len && *len > limit) {
        co_await WriteProblem(stream, 413, "body-too-large", "Request body too large",
                              "the body is " + std::to_string(*len) + " bytes; this route accepts at most " +
                                  std::to_string(limit));
        break;
      }
      parser.body_limit(limit);
      if (!parser.is_done()) {
        if (beast::iequals(head[http::field::expect], "100-continue")) {
          http::response<http::empty_body> cont{http::status::continue_, head.version()};
          co_await http::async_write(stream, cont, asio::as_tuple(asio::use_awaitable));
        }
        lowest.expires_after(std::chrono::milliseconds(o.header_timeout));
        auto [bec, bn] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        if (bec == http::error::body_limit) {
          co_await WriteProblem(stream, 413, "body-too-large", "Request body too large",
                                "this route accepts at most " + std::to_string(limit) + " bytes");
          break;
        }
        if (bec) {
          if (bec != beast::error::timeout && bec != asio::error::eof && bec != asio::error::connection_reset)
            co_await WriteProblem(stream, 400, "bad-request", "Malformed request body", bec.message());
          break;
        }
      }
      // Beast adds a chunked body's trailer fields to the headers, after the
      // checks above: refuse them rather than let them pass as headers.
      if (FieldCount(parser.get()) != head_fields) {
        co_await WriteProblem(stream, 400, "bad-request", "Malformed request", "trailer fields are not accepted");
        break;
      }
      auto msg = parser.release();
      bool keep_alive = msg.keep_alive();
      unsigned version = msg.version();
      Request req = ToRequest(std::move(msg));
      req.remote = remote;
      req.client_cert_names = cert_names;
      auto rid = FindHeader(req.headers, "X-Request-Id");
      req.request_id = rid && rid->size() <= 128 ? std::string(*rid) : NextRequestId();

      lowest.expires_never();
      Response resp = co_await AsyncHandle(self->handler_, std::move(req), asio::use_awaitable);
      if (resp.reset_connection) {
        boost::system::error_code ignored;
        lowest.socket().set_option(asio::socket_base::linger(true, 0), ignored);
        lowest.socket().close(ignored);
        co_return;
      }
      keep_alive = keep_alive && !resp.close_connection;
      auto res = ToBeast(resp, version, keep_alive);
      lowest.expires_after(std::chrono::milliseconds(o.idle_timeout));
      auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      if (wec || !keep_alive) break;
    }
    // Lingering close: stop sending, then read and discard what the client is
    // still sending (e.g. the body of a refused request) for a short while.
    // Closing with unread data would reset the connection, and the client
    // could lose the answer we just wrote.
    boost::system::error_code ignored;
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      // TLS: send close_notify first, for at most a second.
      lowest.expires_after(std::chrono::seconds(1));
      co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
    }
    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest.expires_after(std::chrono::seconds(1));
    std::array<char, 16 * 1024> scratch;
    for (size_t drained = 0; drained < kMaxLingerBytes;) {
      auto [rec, n] = co_await lowest.async_read_some(asio::buffer(scratch), asio::as_tuple(asio::use_awaitable));
      if (rec) break;
      drained += n;
    }
  }

  static constexpr size_t kMaxLingerBytes = 4 * 1024 * 1024;

  asio::io_context& ioc_;
  ServerOptions opts_;
  Handler handler_;
  BodyLimitFn body_limit_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::mutex tls_mu_;
  std::shared_ptr<asio::ssl::context> tls_;  // null: plain HTTP
};

}  // namespace

Result<std::unique_ptr<Server>> StartServer(Runtime& rt, ServerOptions opts, Handler handler,
                                            BodyLimitFn body_limit) {
  auto impl = std::make_shared<ServerImpl>(rt, std::move(opts), std::move(handler), std::move(body_limit));
  if (auto s = impl->ReloadTls(); !s.ok()) return s;
  if (auto s = impl->Listen(); !s.ok()) return s;
  impl->Begin();
  // The owner holds a thin handle; the accept loop keeps the impl alive.
  struct Handle : Server {
    std::shared_ptr<ServerImpl> impl;
    uint16_t port() const override { return impl->port(); }
    void Stop() override { impl->Stop(); }
    Status ReloadTls() override { return impl->ReloadTls(); }
  };
  auto h = std::make_unique<Handle>();
  h->impl = impl;
  return std::unique_ptr<Server>(std::move(h));
}

ParsedRequest ParseRequestBytes(std::string_view bytes, const ServerOptions& o, uint64_t body_limit) {
  if (size_t end = bytes.find("\r\n\r\n"); end != std::string_view::npos && end + 4 <= o.max_header_bytes &&
                                             HasFoldedLine(bytes.substr(0, end + 2)))
    return {400, {}};
  http::request_parser<http::string_body> parser;  // not eager: put() stops after the header
  parser.header_limit(static_cast<std::uint32_t>(o.max_header_bytes));
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  boost::system::error_code ec;
  size_t used = 0;
  auto feed = [&](bool header_only) {
    while (used < bytes.size() && !parser.is_done() && !(header_only && parser.is_header_done())) {
      size_t n = parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), ec);
      used += n;
      if (ec == http::error::need_more) ec = {};
      if (ec || n == 0) return;
    }
  };
  feed(true);
  if (ec == http::error::header_limit) return {431, {}};
  if (ec) return {400, {}};
  if (!parser.is_header_done()) return {-1, {}};
  if (auto refusal = CheckHead(parser.get(), o)) return {refusal->status, {}};
  const size_t head_fields = FieldCount(parser.get());
  if (auto len = parser.content_length(); len && *len > body_limit) return {413, {}};
  parser.body_limit(body_limit);
  feed(false);
  if (ec == http::error::body_limit) return {413, {}};
  if (ec) return {400, {}};
  if (!parser.is_done()) return {-1, {}};
  if (FieldCount(parser.get()) != head_fields) return {400, {}};  // trailer fields, as in Session
  return {0, ToRequest(parser.release())};
}

}  // namespace writ
