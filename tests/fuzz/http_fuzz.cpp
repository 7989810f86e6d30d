// Fuzz target: one HTTP/1.1 request through the parser exactly as a writ
// connection runs it (Beast's parser, Writ's header limits, framing rules
// and body limit). A request that is accepted must have a consistent shape.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  writ::ServerOptions o;
  o.max_header_bytes = 4096;
  o.max_uri_bytes = 1024;
  o.max_header_count = 32;
  auto r = writ::ParseRequestBytes(in, o, 2048);
  switch (r.status) {
    case 0:
      if (r.request.body.size() > 2048 || r.request.method.empty() || r.request.target.size() > 1024) std::abort();
      if (r.request.path != r.request.target.substr(0, r.request.target.find('?'))) std::abort();
      if (r.request.headers.size() > 32) std::abort();
      break;
    case -1: case 400: case 413: case 414: case 431:
      break;
    default:
      std::abort();
  }
  return 0;
}
