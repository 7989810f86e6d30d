#include "patterns/local_copy/edge_json.h"

#include <boost/json.hpp>

#include "core/http_types.h"
#include "core/json.h"
#include "core/log.h"

namespace writ {

namespace json = boost::json;

namespace {

// JSON text as a value; text that is not JSON as a string.
json::value JsonOrText(const std::string& text) {
  auto v = ParseJsonStrict(text);
  if (v.ok()) return std::move(*v);
  return text.empty() ? json::value(nullptr) : json::value(text);
}

}  // namespace

json::object EdgeRecordJson(const EdgeRecord& r, const std::string& base, bool with_data) {
  json::object o{{"id", r.id},
                 {"version", r.version},
                 {"syncStatus", SyncStatusName(r.sync_status)},
                 {"pendingWrites", r.pending},
                 {"createdAt", FormatTimestamp(r.created_at)},
                 {"updatedAt", FormatTimestamp(r.updated_at)}};
  if (!r.canonical_id.empty()) {
    o["canonicalId"] = r.canonical_id;
    o["canonicalUrl"] = base + "/" + PercentEncode(r.canonical_id);
  }
  if (r.synced_at != 0) o["syncedAt"] = FormatTimestamp(r.synced_at);
  if (!r.reason.empty()) o["reason"] = r.reason;
  if (r.sync_status != SyncStatus::kPending && r.sync_status != SyncStatus::kSynced && r.answer_status != 0)
    o["masterAnswer"] = json::object{{"status", r.answer_status}, {"body", JsonOrText(r.answer_body)}};
  if (r.held) {
    // The master's version (null: it has no such record; absent: not read).
    json::object conflict{{"awaits", "writ edge resolve --take local|master"}};
    if (!r.master_data.empty()) conflict["masterVersion"] = JsonOrText(r.master_data);
    if (!r.master_etag.empty()) conflict["masterEtag"] = r.master_etag;
    o["conflict"] = std::move(conflict);
  }
  if (with_data) {
    auto data = ParseJsonStrict(r.data);
    o["data"] = data.ok() ? std::move(*data) : json::value(nullptr);
  }
  return o;
}

}  // namespace writ
