#include "http/blocking_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace writ {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

asio::awaitable<Result<Response>> Call(std::string host, uint16_t port, Request req, Millis timeout) {
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  stream.expires_after(std::chrono::milliseconds(timeout));
  tcp::resolver resolver(ex);
  auto [rec, eps] = co_await resolver.async_resolve(host, std::to_string(port), asio::as_tuple(asio::use_awaitable));
  if (rec) co_return Status(Code::kUnavailable, "resolve: " + rec.message());
  auto [cec, ep] = co_await stream.async_connect(eps, asio::as_tuple(asio::use_awaitable));
  if (cec) co_return Status(Code::kUnavailable, "connect: " + cec.message());
  http::request<http::string_body> r{http::string_to_verb(req.method), req.target, 11};
  r.set(http::field::host, host + ":" + std::to_string(port));
  for (const auto& [k, v] : req.headers) r.insert(k, v);
  r.body() = req.body;
  r.keep_alive(false);
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") r.prepare_payload();
  auto [wec, wn] = co_await http::async_write(stream, r, asio::as_tuple(asio::use_awaitable));
  if (wec) co_return Status(Code::kUnavailable, "write: " + wec.message());
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  auto [rdec, rn] = co_await http::async_read(stream, buf, parser, asio::as_tuple(asio::use_awaitable));
  if (rdec) co_return Status(Code::kInternal, "read: " + rdec.message());
  auto res = parser.release();
  Response out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = std::move(res.body());
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return out;
}
}  // namespace

Result<Response> HttpCall(const std::string& host, uint16_t port, const Request& req, Millis timeout) {
  asio::io_context ioc(1);
  Result<Response> result = Status(Code::kInternal, "not run");
  asio::co_spawn(ioc, Call(host, port, req, timeout), [&](std::exception_ptr e, Result<Response> r) {
    result = e ? Result<Response>(Status(Code::kInternal, "client error")) : std::move(r);
  });
  ioc.run();
  return result;
}

}  // namespace writ
