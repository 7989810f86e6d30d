// Plain HTTP message types shared by the core, the patterns and the server.
// No framework types: the server (http/) converts Beast messages to these.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace writ {

using Headers = std::vector<std::pair<std::string, std::string>>;
// A route template's parameters, e.g. {id: "7"} for /orders/{id}.
using PathParams = std::map<std::string, std::string>;

// Every key, submission, job and draft lives under a tenant; until
// authentication exists there is one.
inline constexpr const char* kDefaultTenant = "default";

bool IEquals(std::string_view a, std::string_view b);
// `s` as one path segment (RFC 3986): unreserved characters as they are,
// every other byte %XX.
std::string PercentEncode(const std::string& s);
// First value of a header (case-insensitive name), if present.
std::optional<std::string_view> FindHeader(const Headers& h, std::string_view name);
size_t CountHeader(const Headers& h, std::string_view name);
void SetHeader(Headers& h, std::string name, std::string value);

struct Request {
  std::string method;  // upper case, e.g. "POST"
  std::string target;  // path and query as received
  std::string path;    // path only, percent-decoding not applied
  Headers headers;
  std::string body;
  std::string remote;  // peer address, for logs
  std::string request_id;
  // The caller's tenant, from its API key (auth.api_keys); "" without auth.
  // Never from the request itself.
  std::string tenant;
  // The DNS and URI subject alternative names of the caller's certificate,
  // verified against server.tls.client_ca (mTLS); empty without one.
  std::vector<std::string> client_cert_names;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // Server instructions, never sent on the wire.
  bool close_connection = false;  // send, then close
  bool reset_connection = false;  // close without sending anything (fault injection)
};

}  // namespace writ
