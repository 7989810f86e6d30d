#include "patterns/bulk/batch.h"

#include <boost/json.hpp>

#include "core/http_types.h"
#include "core/json.h"

namespace writ {

std::optional<BatchFormat> BatchFormatFor(std::string_view ct) {
  auto semi = ct.find(';');
  std::string_view media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (IEquals(media, "application/x-ndjson") || IEquals(media, "application/jsonl") ||
      IEquals(media, "application/ndjson"))
    return BatchFormat::kNdjson;
  if (IEquals(media, "application/json")) return BatchFormat::kJsonArray;
  return std::nullopt;
}

namespace {

Status TooMany(int max_items) {
  return Status(Code::kResourceExhausted,
                "the batch has more than " + std::to_string(max_items) + " items (this route's max_items)");
}

}  // namespace

Result<std::vector<BatchItem>> SplitBatch(std::string_view body, BatchFormat format, int max_items) {
  std::vector<BatchItem> out;
  if (format == BatchFormat::kJsonArray) {
    auto doc = ParseJsonStrict(body);
    if (!doc.ok()) return Status(Code::kInvalidArgument, "the body is not valid JSON: " + doc.status().message());
    if (!doc->is_array())
      return Status(Code::kInvalidArgument, "an application/json batch must be a JSON array of items");
    auto& arr = doc->get_array();
    if (arr.size() > static_cast<size_t>(max_items)) return TooMany(max_items);
    out.reserve(arr.size());
    for (size_t i = 0; i < arr.size(); ++i) {
      BatchItem item;
      item.position = static_cast<int64_t>(i);
      item.text = boost::json::serialize(arr[i]);
      item.value = std::move(arr[i]);
      out.push_back(std::move(item));
    }
    return out;
  }
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank lines separate nothing
    if (static_cast<int>(out.size()) >= max_items) return TooMany(max_items);
    BatchItem item;
    item.position = static_cast<int64_t>(out.size());
    auto v = ParseJsonStrict(line);
    if (v.ok()) {
      item.value = std::move(*v);
      item.text = std::string(line);
    } else {
      item.error = v.status().message();
    }
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace writ
