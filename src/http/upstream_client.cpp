#include "http/upstream_client.h"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "core/log.h"
#include "http/io.h"
#include "http/tls.h"

namespace writ {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

// Idle pooled connections older than this are dropped rather than reused:
// well under common server keep-alive timeouts (5 s for Node, 75 s nginx), so
// a reused connection is very unlikely to have been closed by the master.
constexpr auto kMaxIdle = std::chrono::seconds(2);

// One connection to the master, plain or TLS. Its stream runs on a strand of
// its own: the I/O threads are many, and Beast's timeouts need the stream's
// handlers serialised.
struct Conn {
  Conn(asio::io_context& ioc, asio::ssl::context* tls) {
    if (tls) secure.emplace(asio::make_strand(ioc), *tls);
    else plain.emplace(asio::make_strand(ioc));
  }
  beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  SteadyTime idle_since;
};

class HttpUpstreamClient : public UpstreamClient, public std::enable_shared_from_this<HttpUpstreamClient> {
 public:
  HttpUpstreamClient(asio::io_context& ioc, UpstreamConfig cfg, Metrics* metrics) : ioc_(ioc), cfg_(std::move(cfg)) {
    if (cfg_.tls) {
      auto ctx = MakeClientTlsContext(cfg_.ca_file);
      if (ctx.ok()) tls_ = std::move(*ctx);
      else tls_error_ = ctx.status().message();
    }
    if (metrics)
      opened_ = &metrics->GetCounter("writ_upstream_connections_opened_total", "Connections opened to the master",
                                     "upstream=\"" + LabelValue(cfg_.name) + "\"");
  }

  void Send(UpstreamRequest req, std::function<void(UpstreamResult)> done) override {
    auto conn = req.fresh_connection ? nullptr : TakeIdle();
    bool fresh = !conn;
    if (fresh && cfg_.tls && !tls_) {
      UpstreamResult r;
      r.error = UpstreamError::kNotSent;
      r.message = "TLS to " + cfg_.host + " is not possible: " + tls_error_;
      return done(std::move(r));
    }
    if (fresh) conn = std::make_unique<Conn>(ioc_, tls_.get());
    auto ex = conn->tcp().get_executor();
    asio::co_spawn(ex, Run(shared_from_this(), std::move(conn), fresh, std::move(req)),
                   [done = std::move(done)](std::exception_ptr e, UpstreamResult r) {
                     if (e) {
                       r = {};
                       r.error = UpstreamError::kBrokenAnswer;
                       r.message = "internal error in upstream client";
                     }
                     done(std::move(r));
                   });
  }

 private:
  std::unique_ptr<Conn> TakeIdle() {
    std::lock_guard lock(mu_);
    auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (now - c->idle_since < kMaxIdle && StillOpen(*c)) return c;
    }
    return nullptr;
  }

  // A pooled connection the master has closed (FIN or RST already received)
  // reads as end-of-file without blocking: drop it instead of sending on it.
  static bool StillOpen(Conn& c) {
    char byte;
    ssize_t n = ::recv(c.tcp().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  void GiveBack(std::unique_ptr<Conn> c) {
    c->idle_since = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    if (static_cast<int>(idle_.size()) < cfg_.pool_size) idle_.push_back(std::move(c));
  }

  static asio::awaitable<UpstreamResult> Run(std::shared_ptr<HttpUpstreamClient> self, std::unique_ptr<Conn> conn,
                                             bool fresh, UpstreamRequest req) {
    UpstreamResult out;
    const auto& cfg = self->cfg_;
    if (fresh) {
      boost::system::error_code ec;
      auto addr = asio::ip::make_address(cfg.host, ec);
      std::vector<tcp::endpoint> eps;
      if (!ec) {
        eps.emplace_back(addr, cfg.port);
      } else {
        tcp::resolver resolver(conn->tcp().get_executor());
        auto [rec, results] = co_await resolver.async_resolve(cfg.host, std::to_string(cfg.port),
                                                              asio::as_tuple(asio::use_awaitable));
        if (rec) {
          out.error = UpstreamError::kNotSent;
          out.message = "cannot resolve " + cfg.host + ": " + rec.message();
          co_return out;
        }
        for (const auto& r : results) eps.push_back(r.endpoint());
      }
      conn->tcp().expires_after(std::chrono::milliseconds(cfg.connect_timeout));
      auto [cec, ep] = co_await conn->tcp().async_connect(eps, asio::as_tuple(asio::use_awaitable));
      if (cec) {
        out.error = UpstreamError::kNotSent;
        out.message = "connect to " + cfg.host + ":" + std::to_string(cfg.port) + " failed: " +
                      (cec == beast::error::timeout ? std::string("timed out") : cec.message());
        co_return out;
      }
      conn->tcp().socket().set_option(tcp::no_delay(true), cec);
      if (conn->secure) {
        // The master's certificate must chain to the configured CAs and name
        // the host of the upstream's URL; within the connect timeout.
        if (!ExpectPeerName(conn->secure->native_handle(), cfg.host)) {
          out.error = UpstreamError::kNotSent;
          out.message = "cannot check TLS names for " + cfg.host;
          co_return out;
        }
        auto [hec] = co_await conn->secure->async_handshake(asio::ssl::stream_base::client,
                                                            asio::as_tuple(asio::use_awaitable));
        if (hec) {
          out.error = UpstreamError::kNotSent;
          out.message = "TLS handshake with " + cfg.host + ":" + std::to_string(cfg.port) + " failed: " +
                        (hec == beast::error::timeout ? std::string("timed out") : VerifyReason(*conn->secure, hec));
          co_return out;
        }
      }
      if (self->opened_) self->opened_->Inc();
    }
    // The stream is taken before `conn` is moved into the call.
    if (auto* secure = conn->secure ? &*conn->secure : nullptr)
      co_return co_await Exchange(self, *secure, std::move(conn), std::move(req));
    auto* plain = &*conn->plain;
    co_return co_await Exchange(self, *plain, std::move(conn), std::move(req));
  }

  static std::string VerifyReason(beast::ssl_stream<beast::tcp_stream>& s, const boost::system::error_code& ec) {
    long v = SSL_get_verify_result(s.native_handle());
    if (v != X509_V_OK) return std::string("certificate not trusted: ") + X509_verify_cert_error_string(v);
    return ec.message();
  }

  // One request and its answer on an open connection; the connection goes
  // back to the pool if both sides keep it alive.
  template <typename Stream>
  static asio::awaitable<UpstreamResult> Exchange(std::shared_ptr<HttpUpstreamClient> self, Stream& stream,
                                                  std::unique_ptr<Conn> conn, UpstreamRequest req) {
    UpstreamResult out;
    const auto& cfg = self->cfg_;

    http::request<http::string_body> r{http::string_to_verb(req.method), req.target, 11};
    r.set(http::field::host, cfg.host + ":" + std::to_string(cfg.port));
    for (const auto& [k, v] : req.headers) r.insert(k, v);
    r.body() = std::move(req.body);
    bool keep = !req.fresh_connection;
    r.keep_alive(keep);
    r.prepare_payload();

    auto t0 = std::chrono::steady_clock::now();
    conn->tcp().expires_after(std::chrono::milliseconds(cfg.request_timeout));
    auto [wec, wn] = co_await http::async_write(stream, r, asio::as_tuple(asio::use_awaitable));
    if (wec) {
      // An incomplete request cannot be processed by the master.
      out.error = UpstreamError::kNotSent;
      out.message = "sending to the master failed: " + wec.message();
      co_return out;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    auto [rec, rn] = co_await http::async_read(stream, conn->buffer, parser, asio::as_tuple(asio::use_awaitable));
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rec) {
      out.error = rec == beast::error::timeout ? UpstreamError::kTimeout : UpstreamError::kBrokenAnswer;
      out.message = rec == beast::error::timeout
                        ? "no answer from the master within " + std::to_string(cfg.request_timeout) + " ms"
                        : "the master's answer was lost: " + rec.message();
      co_return out;
    }
    auto res = parser.release();
    out.response.status = static_cast<int>(res.result_int());
    for (const auto& f : res) out.response.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out.response.body = std::move(res.body());
    if (keep && res.keep_alive()) {
      conn->tcp().expires_never();
      self->GiveBack(std::move(conn));
    }
    co_return out;
  }

  asio::io_context& ioc_;
  UpstreamConfig cfg_;
  std::shared_ptr<asio::ssl::context> tls_;  // https:// upstreams
  std::string tls_error_;                    // why there is none, if it is needed
  std::mutex mu_;
  std::vector<std::unique_ptr<Conn>> idle_;
  Counter* opened_ = nullptr;
};

}  // namespace

std::unique_ptr<UpstreamClient> MakeHttpUpstreamClient(Runtime& rt, const UpstreamConfig& config, Metrics* metrics) {
  // The coroutines hold shared ownership; the returned handle forwards to it.
  struct Handle : UpstreamClient {
    std::shared_ptr<HttpUpstreamClient> impl;
    void Send(UpstreamRequest req, std::function<void(UpstreamResult)> done) override {
      impl->Send(std::move(req), std::move(done));
    }
  };
  auto h = std::make_unique<Handle>();
  h->impl = std::make_shared<HttpUpstreamClient>(rt.impl().ioc, config, metrics);
  return h;
}

}  // namespace writ
