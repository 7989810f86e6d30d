#include "patterns/bulk/bulk_codec.h"

#include <boost/json.hpp>

#include "core/hash.h"
#include "core/json.h"

namespace writ {

namespace json = boost::json;

UpstreamRequest JsonBulkCodec::Encode(const std::vector<Command>& items) const {
  UpstreamRequest u;
  u.method = "POST";
  u.target = items.front().target;
  u.headers = items.front().headers;
  // The items are stored as JSON text: spliced in, never re-serialized.
  std::string body = "{\"items\":[";
  std::string keys;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) body += ',';
    body += "{\"key\":";
    body += json::serialize(json::string(items[i].upstream_key));
    body += ",\"body\":";
    body += items[i].body;
    body += '}';
    keys += items[i].upstream_key;
    keys += '\n';
  }
  body += "]}";
  u.body = std::move(body);
  // The same items re-sent after a crash carry the same batch key.
  u.headers.emplace_back(upstream_header_, "bulk-" + Sha256Hex(keys).substr(0, 40));
  return u;
}

std::vector<UpstreamResult> JsonBulkCodec::Decode(const UpstreamResult& answer, size_t n) const {
  bool per_item = answer.error == UpstreamError::kNone && answer.response.status >= 200 &&
                  answer.response.status < 300;
  if (!per_item) return std::vector<UpstreamResult>(n, answer);
  auto unknown = [&](const std::string& why) {
    UpstreamResult r;
    r.error = UpstreamError::kBrokenAnswer;
    r.message = "the master's bulk answer (" + std::to_string(answer.response.status) + ") " + why;
    r.seconds = answer.seconds;
    return std::vector<UpstreamResult>(n, r);
  };
  auto doc = ParseJsonStrict(answer.response.body);
  if (!doc.ok()) return unknown("is not JSON");
  boost::system::error_code ec;
  const json::value* results = doc->find_pointer(buffered_.results, ec);
  if (!results || !results->is_array()) return unknown("has no array at " + buffered_.results);
  const auto& arr = results->get_array();
  std::vector<UpstreamResult> out(n);
  for (size_t i = 0; i < n; ++i) {
    UpstreamResult& r = out[i];
    r.seconds = answer.seconds;
    const json::value* status = nullptr;
    if (i < arr.size()) status = arr[i].find_pointer(buffered_.item_status, ec);
    int64_t code = 0;
    if (status && status->is_number()) {
      boost::system::error_code conv;
      code = status->to_number<int64_t>(conv);
      if (conv) code = 0;
    }
    if (code < 100 || code > 599) {
      r.error = UpstreamError::kBrokenAnswer;
      r.message = "the master's bulk answer has no status at " + buffered_.results + "/" +
                  std::to_string(i) + buffered_.item_status;
      continue;
    }
    r.response.status = static_cast<int>(code);
    r.response.headers = {{"Content-Type", "application/json"}};
    r.response.body = json::serialize(arr[i]);
  }
  return out;
}

}  // namespace writ
