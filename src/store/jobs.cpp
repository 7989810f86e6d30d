#include "store/jobs.h"

#include <boost/json.hpp>

namespace writ {

boost::json::object JobToJson(const Job& j) {
  namespace json = boost::json;
  json::object o;
  o["jobId"] = j.id;
  o["route"] = j.route;
  bool done = j.remaining() == 0;
  o["status"] = done ? (j.failed + j.dead > 0 ? "completed_with_errors" : "completed") : "processing";
  o["statusUrl"] = "/v1/jobs/" + j.id;
  o["items"] = j.items;
  o["counts"] = {{"queued", j.queued},       {"processing", j.processing}, {"succeeded", j.succeeded},
                 {"failed", j.failed},       {"dead", j.dead},             {"duplicate", j.duplicates},
                 {"rejected", static_cast<int64_t>(j.rejected.size())}};
  int64_t finished = j.succeeded + j.failed + j.dead;
  // Whole percent of accepted items finished (integers read better than 1E0).
  o["progressPercent"] = j.accepted > 0 ? finished * 100 / j.accepted : 100;
  if (!j.producer_id.empty()) o["producer"] = {{"id", j.producer_id}, {"seq", j.producer_seq}};
  json::array rejected;
  for (const auto& r : j.rejected) rejected.push_back({{"position", r.position}, {"reason", r.reason}});
  o["rejected"] = std::move(rejected);
  o["createdAt"] = FormatTimestamp(j.created_at);
  o["finishedAt"] = done && j.last_finished_at > 0 ? json::value(FormatTimestamp(j.last_finished_at)) : json::value(nullptr);
  return o;
}

}  // namespace writ
