#include "upstream/request_text.h"

namespace writ {

std::string RequestToText(const UpstreamRequest& r) {
  std::string out;
  out.reserve(r.method.size() + r.target.size() + r.body.size() + 64 * (r.headers.size() + 1));
  out.append(r.method).append(" ").append(r.target).append("\n");
  for (const auto& [name, value] : r.headers) out.append(name).append(": ").append(value).append("\n");
  out.append("\n").append(r.body);
  return out;
}

std::optional<UpstreamRequest> RequestFromText(std::string_view text) {
  UpstreamRequest r;
  size_t eol = text.find('\n');
  size_t sp = text.find(' ');
  if (eol == std::string_view::npos || sp == std::string_view::npos || sp == 0 || sp + 1 >= eol) return std::nullopt;
  r.method = text.substr(0, sp);
  r.target = text.substr(sp + 1, eol - sp - 1);
  size_t pos = eol + 1;
  for (;;) {
    eol = text.find('\n', pos);
    if (eol == std::string_view::npos) return std::nullopt;  // no end of headers
    if (eol == pos) break;
    std::string_view line = text.substr(pos, eol - pos);
    size_t colon = line.find(": ");
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
    pos = eol + 1;
  }
  r.body = text.substr(eol + 1);
  return r;
}

}  // namespace writ
