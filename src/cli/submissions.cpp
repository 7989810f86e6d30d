// `writ submissions list|show|retry|cancel` and `writ dead list|replay`:
// operator views and actions on async submissions, straight on the store.
// Safe while `writ serve` runs: reads use their own connection, and actions
// are single transactions the running workers pick up at their next poll.
#include <cstdio>
#include <iostream>

#include <boost/json.hpp>

#include "cli/commands.h"
#include "queue/queue_config.h"

namespace writ {
namespace {

std::string Cut(std::string s, size_t n) {
  for (char& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  return s.size() > n ? s.substr(0, n - 3) + "..." : s;
}

void PrintTable(const std::vector<Command>& rows) {
  std::printf("%-28s %-18s %-10s %8s  %-24s %s\n", "SUBMISSION", "ROUTE", "STATUS", "ATTEMPTS", "UPDATED",
              "LAST ERROR");
  for (const auto& c : rows)
    std::printf("%-28s %-18s %-10s %8d  %-24s %s\n", c.id.c_str(), Cut(c.route, 18).c_str(),
                SubmissionStatusName(c.status), c.attempts, FormatTimestamp(c.updated_at).c_str(),
                Cut(c.last_error, 60).c_str());
}

const RouteConfig* FindRoute(const Config& config, const std::string& route) {
  for (const auto& r : config.routes)
    if (r.name == route) return &r;
  return nullptr;
}

// The saga whose request `c` is ("" when none): a command of a saga route
// (its own queue, or "{route}@{upstream}"), its ordering key the saga's id.
std::string SagaOf(const Config& config, const Command& c) {
  for (const auto& r : config.routes)
    if (r.mode == "saga" && (c.route == r.name || c.route.rfind(r.name + "@", 0) == 0)) return c.ordering_key;
  return "";
}

}  // namespace

int RunSubmissionsList(const SubmissionsOptions& o) {
  Config config;
  auto store = OpenStoreOrSay(o.config_path, true, &config);
  if (!store) return 1;
  CommandFilter f;
  f.route = o.route;
  if (!o.status.empty()) f.status = ParseSubmissionStatus(o.status);
  f.limit = o.limit;
  auto rows = store->queue().ListCommands(f);
  if (!rows.ok()) {
    std::cerr << rows.status().message() << "\n";
    return 1;
  }
  if (o.json) {
    boost::json::array a;
    for (const auto& c : *rows) a.push_back(SubmissionToJson(c, RouteRedactor(config, c.route)));
    std::cout << boost::json::serialize(a) << "\n";
  } else {
    PrintTable(*rows);
    std::cerr << rows->size() << " submission(s)" << (static_cast<int>(rows->size()) == o.limit ? " (limit reached)" : "")
              << "\n";
  }
  return 0;
}

int RunSubmissionsShow(const SubmissionsOptions& o) {
  Config config;
  auto store = OpenStoreOrSay(o.config_path, true, &config);
  if (!store) return 1;
  int rc = 0;
  for (const auto& id : o.ids) {
    auto c = store->queue().GetCommand(id);
    if (!c.ok() || !c->has_value()) {
      std::cerr << id << ": " << (c.ok() ? "no such submission" : c.status().message()) << "\n";
      rc = 1;
      continue;
    }
    boost::json::object j = SubmissionToJson(**c, RouteRedactor(config, (*c)->route));
    if (!o.json) {
      auto events = store->queue().ListEvents(id, 0);
      if (events.ok()) {
        boost::json::array ev;
        for (const auto& e : *events) ev.push_back({{"id", e.id}, {"type", e.type}, {"at", FormatTimestamp(e.created_at)}});
        j["events"] = std::move(ev);
      }
    }
    std::cout << boost::json::serialize(j) << "\n";
  }
  return rc;
}

int RunSubmissionsAction(const SubmissionsOptions& o, const std::string& action) {
  Config config;
  auto store = OpenStoreOrSay(o.config_path, false, &config);
  if (!store) return 1;
  int rc = 0;
  for (const auto& id : o.ids) {
    auto c = store->queue().GetCommand(id);
    if (std::string saga = c.ok() && c->has_value() ? SagaOf(config, **c) : ""; !saga.empty()) {
      std::cerr << id << ": a request of saga " << saga << ", which retries and compensates it itself; use writ sagas "
                << (action == "retry" ? "retry-compensation" : "cancel") << " " << saga << "\n";
      rc = 1;
      continue;
    }
    const RouteConfig* route = c.ok() && c->has_value() ? FindRoute(config, (*c)->route) : nullptr;
    const auto* queued = route ? dynamic_cast<const QueuedSettings*>(route->settings.get()) : nullptr;
    EventSinks notify = queued ? queued->event_sinks() : 0;
    Millis retention = queued ? queued->queue.retention : QueueConfig().retention;
    bool park = route && route->idempotency.on_unknown == OnUnknown::kPark;
    auto r = action == "retry" ? RedriveSync(store->queue(), id, notify, o.unknown_ok || !park)
                               : CancelSync(store->queue(), id, notify, retention);
    if (!r.ok()) {
      std::cerr << id << ": " << r.status().message() << "\n";
      rc = 1;
    } else if (*r == ActionResult::kNotFound) {
      std::cerr << id << ": no such submission\n";
      rc = 1;
    } else if (*r == ActionResult::kPossiblyApplied) {
      std::cerr << id << ": not re-queued: attempt " << (*c)->unknown_attempt
                << " ended with an unknown outcome, so the master may have applied it; check the master, then "
                   "run again with --unknown-ok if it was not applied\n";
      rc = 1;
    } else if (*r == ActionResult::kWrongState) {
      std::cerr << id << ": cannot " << action << " a submission that is "
                << SubmissionStatusName((*c)->status)
                << (action == "retry" ? " (only failed or dead ones)" : " (only accepted, never attempted ones)")
                << "\n";
      rc = 1;
    } else {
      std::cout << id << ": " << (action == "retry" ? "re-queued" : "cancelled") << "\n";
    }
  }
  return rc;
}

int RunDeadReplay(const SubmissionsOptions& o) {
  if (!o.all) return RunSubmissionsAction(o, "retry");
  SubmissionsOptions every = o;
  int sagas = 0;
  {
    Config config;
    auto store = OpenStoreOrSay(o.config_path, true, &config);
    if (!store) return 1;
    CommandFilter f;
    f.route = o.route;
    f.status = SubmissionStatus::kDead;
    f.limit = 1000;
    for (;;) {
      auto rows = store->queue().ListCommands(f);
      if (!rows.ok()) {
        std::cerr << rows.status().message() << "\n";
        return 1;
      }
      if (rows->empty()) break;
      for (const auto& c : *rows) {
        if (!SagaOf(config, c).empty()) {
          ++sagas;  // a saga moved past it: its own (writ sagas)
          continue;
        }
        every.ids.push_back(c.id);
      }
      f.after_seq = rows->back().seq;
    }
  }
  if (sagas > 0)
    std::cerr << sagas << " dead request(s) of sagas left alone: each saga moved on past it (writ sagas list)\n";
  if (every.ids.empty()) {
    std::cout << "no dead submissions\n";
    return 0;
  }
  return RunSubmissionsAction(every, "retry");
}

}  // namespace writ
