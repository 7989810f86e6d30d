// `writ drafts list|show|delete`: operator views and erasure of drafts,
// straight on the store (like `writ jobs`). Safe while `writ serve` runs:
// reads use their own connection; a delete is one transaction, with the same
// erasure as DELETE on the route (versions and replay records go too).
#include <iostream>
#include <optional>

#include <boost/json.hpp>

#include "cli/commands.h"
#include "patterns/draft/draft_store.h"

namespace writ {
namespace {

boost::json::object Summary(const Draft& d, bool with_data, const Redactor* redact = nullptr) {
  boost::json::object o{{"draftId", d.id},
                        {"route", d.route},
                        {"version", d.version},
                        {"status", DraftStatusName(d.status)},
                        {"createdAt", FormatTimestamp(d.created_at)},
                        {"updatedAt", FormatTimestamp(d.updated_at)}};
  if (d.status != DraftStatus::kSubmitting) o["expiresAt"] = FormatTimestamp(d.expires_at);
  if (!d.submission_id.empty()) o["submissionId"] = d.submission_id;
  if (!d.canonical_id.empty()) o["canonicalId"] = d.canonical_id;
  if (d.answer_status) o["answerStatus"] = d.answer_status;
  if (with_data) {
    boost::system::error_code ec;
    auto v = boost::json::parse(d.data, ec);
    if (redact && ec) v = kRedactedText;
    else if (redact) redact->Apply(v);
    o["data"] = ec && !redact ? boost::json::value(d.data) : std::move(v);
  }
  return o;
}

// The draft with this id, or nullopt (and a message).
std::optional<Draft> Find(DraftStore& drafts, const std::string& id) {
  auto d = drafts.Find(id);
  if (d.ok() && d->has_value()) return **d;
  std::cerr << id << ": " << (d.ok() ? "no such draft" : d.status().message()) << "\n";
  return std::nullopt;
}

}  // namespace

int RunDraftsList(const DraftsOptions& o) {
  auto store = OpenStoreOrSay(o.config_path, true);
  if (!store) return 1;
  DraftFilter f;
  f.route = o.route;
  f.limit = o.limit;
  if (!o.status.empty()) f.status = ParseDraftStatus(o.status);
  auto rows = DraftStore(store->db()).List(f);
  if (!rows.ok()) {
    std::cerr << rows.status().message() << "\n";
    return 1;
  }
  if (o.json) {
    boost::json::array a;
    for (const auto& d : *rows) a.push_back(Summary(d, false));
    std::cout << boost::json::serialize(a) << "\n";
    return 0;
  }
  std::cout << "DRAFT\tROUTE\tVERSION\tSTATUS\tUPDATED\tCANONICAL_ID\n";
  for (const auto& d : *rows)
    std::cout << d.id << '\t' << d.route << '\t' << d.version << '\t' << DraftStatusName(d.status) << '\t'
              << FormatTimestamp(d.updated_at) << '\t' << (d.canonical_id.empty() ? "-" : d.canonical_id) << '\n';
  std::cerr << rows->size() << " draft(s)\n";
  return 0;
}

int RunDraftsShow(const DraftsOptions& o) {
  Config config;
  auto store = OpenStoreOrSay(o.config_path, true, &config);
  if (!store) return 1;
  DraftStore drafts(store->db());
  int rc = 0;
  for (const auto& id : o.ids) {
    auto d = Find(drafts, id);
    if (!d) {
      rc = 1;
      continue;
    }
    auto j = Summary(*d, true, RouteRedactor(config, d->route));
    if (!o.json) {
      boost::json::array versions;
      auto vs = drafts.Versions(d->tenant, d->route, id, 1000);
      if (vs.ok())
        for (const auto& v : *vs) {
          boost::system::error_code ec;
          versions.push_back({{"version", v.version},
                              {"createdAt", FormatTimestamp(v.created_at)},
                              {"changed", boost::json::parse(v.changed, ec)}});
        }
      j["versions"] = std::move(versions);
    }
    std::cout << boost::json::serialize(j) << "\n";
  }
  return rc;
}

int RunDraftsDelete(const DraftsOptions& o) {
  auto store = OpenStoreOrSay(o.config_path, false);
  if (!store) return 1;
  DraftStore drafts(store->db());
  int rc = 0;
  for (const auto& id : o.ids) {
    auto d = Find(drafts, id);
    if (!d) {
      rc = 1;
      continue;
    }
    auto r = EraseDraftSync(drafts, d->tenant, d->route, id);
    if (!r.ok()) {
      std::cerr << id << ": " << r.status().message() << "\n";
      rc = 1;
    } else if (r->status == DraftWrite::kFrozen) {
      std::cerr << id << ": a submit is in progress; erase it once it has finished\n";
      rc = 1;
    } else if (r->status != DraftWrite::kDone) {
      std::cerr << id << ": no such draft\n";
      rc = 1;
    } else {
      std::cout << id << ": erased (version " << r->draft.version << ", its versions and replay records)\n";
    }
  }
  return rc;
}

}  // namespace writ
