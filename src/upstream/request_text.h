// An upstream request as one text, to keep it with an in-flight key so that
// it can be sent again after its sender died: the request line
// "METHOD TARGET", one "Name: value" line per header, an empty line, then
// the body as is (HTTP/1.1's message layout without the version and CRs).
// Header names and values never hold a line break (the HTTP parser refuses
// them), so the text decodes to the request it was made from.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "upstream/client.h"

namespace writ {

std::string RequestToText(const UpstreamRequest& r);
// nullopt when `text` is not a request made by RequestToText.
std::optional<UpstreamRequest> RequestFromText(std::string_view text);

}  // namespace writ
