// `writ jobs list|show|items|replay|watch`: operator views and actions on
// buffered jobs, straight on the store (like `writ submissions`). Safe while
// `writ serve` runs: reads use their own connection; a replay is one
// transaction the route's worker picks up at its next poll.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include <boost/json.hpp>

#include "cli/commands.h"

namespace writ {
namespace {

const char* JobStatus(const Job& j) {
  if (j.remaining() > 0) return "processing";
  return j.failed + j.dead > 0 ? "completed_with_errors" : "completed";
}

std::optional<Job> LoadJob(Store& store, const std::string& id) {
  auto j = store.jobs().GetJob(id);
  if (!j.ok()) {
    std::cerr << id << ": " << j.status().message() << "\n";
    return std::nullopt;
  }
  if (!j->has_value()) std::cerr << id << ": no such job\n";
  return *j;
}

std::string Bar(double fraction, int width) {
  int full = static_cast<int>(fraction * width + 0.5);
  std::string s;
  for (int i = 0; i < width; ++i) s += i < full ? "#" : "-";
  return s;
}

}  // namespace

int RunJobsList(const JobsOptions& o) {
  auto store = OpenStoreOrSay(o.config_path, true);
  if (!store) return 1;
  JobFilter f;
  f.route = o.route;
  f.limit = o.limit;
  auto rows = store->jobs().ListJobs(f);
  if (!rows.ok()) {
    std::cerr << rows.status().message() << "\n";
    return 1;
  }
  if (o.json) {
    boost::json::array a;
    for (const auto& j : *rows) a.push_back(JobToJson(j));
    std::cout << boost::json::serialize(a) << "\n";
    return 0;
  }
  std::printf("%-30s %-18s %-22s %7s %9s %7s %6s %5s %5s  %s\n", "JOB", "ROUTE", "STATUS", "ITEMS", "SUCCEEDED",
              "PENDING", "FAILED", "DEAD", "DUPS", "CREATED");
  for (const auto& j : *rows)
    std::printf("%-30s %-18s %-22s %7lld %9lld %7lld %6lld %5lld %5lld  %s\n", j.id.c_str(),
                j.route.substr(0, 18).c_str(), JobStatus(j), static_cast<long long>(j.items),
                static_cast<long long>(j.succeeded), static_cast<long long>(j.remaining()),
                static_cast<long long>(j.failed), static_cast<long long>(j.dead),
                static_cast<long long>(j.duplicates), FormatTimestamp(j.created_at).c_str());
  std::cerr << rows->size() << " job(s), newest first" << (static_cast<int>(rows->size()) == o.limit ? " (limit reached)" : "")
            << "\n";
  return 0;
}

int RunJobsShow(const JobsOptions& o) {
  auto store = OpenStoreOrSay(o.config_path, true);
  if (!store) return 1;
  int rc = 0;
  for (const auto& id : o.ids) {
    auto j = LoadJob(*store, id);
    if (!j) {
      rc = 1;
      continue;
    }
    std::cout << boost::json::serialize(JobToJson(*j)) << "\n";
  }
  return rc;
}

int RunJobsItems(const JobsOptions& o) {
  Config config;
  auto store = OpenStoreOrSay(o.config_path, true, &config);
  if (!store) return 1;
  if (!LoadJob(*store, o.ids.front())) return 1;
  CommandFilter f;
  f.job_id = o.ids.front();
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
    return 0;
  }
  std::printf("%8s %-24s %-10s %8s  %s\n", "POSITION", "ITEM KEY", "STATUS", "ATTEMPTS", "LAST ERROR");
  for (const auto& c : *rows) {
    std::string err = c.last_error.substr(0, 80);
    for (char& ch : err)
      if (ch == '\n') ch = ' ';
    std::printf("%8lld %-24s %-10s %8d  %s\n", static_cast<long long>(c.item_pos), c.item_key.substr(0, 24).c_str(),
                SubmissionStatusName(c.status), c.attempts, err.c_str());
  }
  std::cerr << rows->size() << " item(s)" << (static_cast<int>(rows->size()) == o.limit ? " (limit reached)" : "")
            << "\n";
  return 0;
}

int RunJobsReplay(const JobsOptions& o) {
  Config config;
  auto store = OpenStoreOrSay(o.config_path, false, &config);
  if (!store) return 1;
  int rc = 0;
  for (const auto& id : o.ids) {
    auto job = LoadJob(*store, id);
    if (!job) {
      rc = 1;
      continue;
    }
    bool park = false;
    for (const auto& r : config.routes)
      if (r.name == job->route) park = r.idempotency.on_unknown == OnUnknown::kPark;
    auto n = ReplayJobSync(store->jobs(), id, o.unknown_ok || !park);
    if (!n.ok()) {
      std::cerr << id << ": " << n.status().message() << "\n";
      rc = 1;
      continue;
    }
    std::cout << id << ": " << n->requeued << " failed/dead item(s) re-queued\n";
    if (n->held > 0) {
      std::cout << id << ": " << n->held
                << " item(s) not re-queued: an attempt's outcome was unknown, so the master may have applied them; "
                   "check the master, then run again with --unknown-ok if they were not applied\n";
      rc = 1;
    }
  }
  return rc;
}

int RunJobsWatch(const JobsOptions& o) {
  auto store = OpenStoreOrSay(o.config_path, true);
  if (!store) return 1;
  bool tty = isatty(STDOUT_FILENO) != 0;
  auto t0 = std::chrono::steady_clock::now();
  int64_t first_done = -1;
  for (;;) {
    auto j = LoadJob(*store, o.ids.front());
    if (!j) return 1;
    int64_t done = j->succeeded + j->failed + j->dead;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (first_done < 0) first_done = done;
    double rate = secs > 0.2 ? static_cast<double>(done - first_done) / secs : 0;
    double fraction = j->accepted > 0 ? static_cast<double>(done) / static_cast<double>(j->accepted) : 1.0;
    char eta[32] = "?";
    if (j->remaining() == 0) std::snprintf(eta, sizeof eta, "0s");
    else if (rate > 0) std::snprintf(eta, sizeof eta, "%.0fs", static_cast<double>(j->ahead) / rate);
    std::printf("%s[%s] %3.0f%%  %lld/%lld  ok %lld  failed %lld  dead %lld  dup %lld  %.0f items/s  eta %s%s",
                tty ? "\r" : "", Bar(fraction, 30).c_str(), fraction * 100, static_cast<long long>(done),
                static_cast<long long>(j->accepted), static_cast<long long>(j->succeeded),
                static_cast<long long>(j->failed), static_cast<long long>(j->dead),
                static_cast<long long>(j->duplicates), rate, eta, tty ? "   " : "\n");
    std::fflush(stdout);
    if (j->remaining() == 0) {
      std::printf("%s%s %s\n", tty ? "\n" : "", j->id.c_str(), JobStatus(*j));
      return j->failed + j->dead > 0 ? 3 : 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms));
  }
}

}  // namespace writ
