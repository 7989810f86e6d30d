// `writ demo`, drafts (CP-4): two tabs edit one draft from the same ETag;
// the loser re-reads after its 412 and re-applies; the draft is then
// submitted through the faulty master with one key: applied once.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include "cli/demo_common.h"
#include "core/hash.h"
#include "http/blocking_client.h"

namespace writ::demo {

// Drafts (CP-4): two tabs edit one draft from the same ETag; one wins, the
// other gets 412, re-reads and re-applies its change; then the draft is
// submitted through the faulty master, retried with one key until it gets
// the master's answer: each draft applied once.
int RunDraftScenario(const std::string& dir, const DemoOptions& o, uint64_t seed) {
  std::filesystem::create_directories(dir);
  auto pair = StartPair(dir, {"drafts", true, "retry"}, seed, true);
  if (!pair.ok()) {
    std::cerr << "demo: " << pair.status().message() << "\n";
    return 1;
  }
  const std::string base = "/applications/drafts";
  const int drafts = std::max(20, o.writes / 10);
  std::atomic<int> next{0};
  std::atomic<int64_t> created{0}, saves{0}, stale{0}, reapplied{0}, submitted{0}, submit_retries{0}, failed{0},
      complete{0};
  uint16_t port = pair->writ_port;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < o.concurrency; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937_64 rng(seed + 200 + c);
      Tally unused;
      for (int i; (i = next++) < drafts;) {
        std::string key = "app-" + std::to_string(i) + "-" + RandomId().substr(0, 8);
        auto cr = Send(port, "POST", base, "{\"applicant\":\"a" + std::to_string(i) + "\"}",
                       {{"Content-Type", "application/json"}, {"Idempotency-Key", key + "-create"}});
        if (!cr.ok() || cr->status != 201) {
          ++failed;
          continue;
        }
        ++created;
        std::string id = DraftField(*cr, "draftId"), url = base + "/" + id;
        // Both tabs hold ETag "1"; tab A saves first.
        bool ok = true;
        for (const char* tab : {"tabA", "tabB"}) {
          std::string etag = "\"1\"";
          for (int attempt = 0; attempt < 5; ++attempt) {
            auto r = Send(port, "PATCH", url, std::string("{\"") + tab + "\":\"done\"}",
                          {{"Content-Type", "application/merge-patch+json"}, {"If-Match", etag}});
            if (r.ok() && r->status == 200) {
              ++saves;
              if (attempt > 0) ++reapplied;
              break;
            }
            if (!r.ok() || r->status != 412) {
              ok = false;
              break;
            }
            ++stale;  // the other tab won: read the draft again, re-apply
            auto g = Send(port, "GET", url, "", {});
            if (!g.ok()) break;
            etag = std::string(FindHeader(g->headers, "ETag").value_or(""));
          }
        }
        // Submit through the faults: retried with one key until the master's answer.
        bool done = false;
        for (int attempt = 0; attempt < 30 && ok && !done; ++attempt) {
          ClientBackoff(attempt, rng, unused);
          if (attempt > 0) ++submit_retries;
          auto r = Send(port, "POST", url + "/submit", "", {{"If-Match", "\"3\""}, {"Idempotency-Key", key}});
          done = r.ok() && r->status == 201;
        }
        if (done)
          ++submitted;
        else
          ++failed;
        auto final = Send(port, "GET", url, "", {});
        if (final.ok() && final->body.find("\"tabA\":\"done\"") != std::string::npos &&
            final->body.find("\"tabB\":\"done\"") != std::string::npos &&
            final->body.find("\"status\":\"submitted\"") != std::string::npos)
          ++complete;
      }
    });
  }
  for (auto& c : clients) c.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto stats = MasterStats(pair->master_port);
  pair->writ.Stop();
  pair->master.Stop();
  int64_t applied = Num(stats, "applied"), dups = Num(stats, "duplicateApplies");
  std::cout << "\n== drafts (two tabs on one ETag, submit through faults), master honours Idempotency-Key ==\n"
            << "  drafts                " << created << " (" << o.concurrency << " clients, " << secs << " s)\n"
            << "  saves                 " << saves << " (412 stale: " << stale
            << ", re-read and re-applied: " << reapplied << ")\n"
            << "  submitted             " << submitted << " (client retries of a submit " << submit_retries << ")\n"
            << "  both tabs' changes    " << complete << " of " << created << " submitted drafts\n"
            << "  master: requests      " << Num(stats, "requests") << " (injected 503s "
            << Num(stats, "injectedErrors") << ", drops after commit " << Num(stats, "droppedAfterCommit") << ", hangs "
            << Num(stats, "hangs") << ")\n"
            << "  master: applications  " << applied << "\n"
            << "  master: duplicates    " << dups << "\n";
  bool ok = failed == 0 && dups == 0 && submitted == drafts && applied == drafts && complete == drafts &&
            stale == drafts && reapplied == drafts;
  std::cout << "  verdict               "
            << (ok ? "OK: no tab's change lost, every draft applied exactly once" : "FAILED") << "\n";
  return ok ? 0 : 1;
}

}  // namespace writ::demo
