// `writ demo`, edge copy (CP-5): orders, their lines and a change to each
// written while the master is down, all answered locally; once it is back
// every record syncs once, the lines with the master's order ids.
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

// Edge copy (CP-5): the master is down for 20 s. Shops keep writing orders,
// their lines (which reference the order's temporary id) and a change to
// each order; every write is answered from the local copy. Then the master
// comes back (with its faults) and everything syncs: each record once, the
// lines with the master's order ids, none before its order.
int RunEdgeScenario(const std::string& dir, const DemoOptions& o, uint64_t seed) {
  std::filesystem::create_directories(dir);
  Scenario s{"edge", true, "retry"};
  auto pair = StartPair(dir, s, seed, true);
  if (!pair.ok()) {
    std::cerr << "demo: " << pair.status().message() << "\n";
    return 1;
  }
  constexpr int kLines = 3;
  constexpr auto kOutage = std::chrono::seconds(20);
  const int orders = std::max(100, o.writes / 10);
  uint16_t port = pair->writ_port;
  pair->master.Stop();
  auto down_at = std::chrono::steady_clock::now();
  std::atomic<int> next{0};
  std::atomic<int64_t> writes{0}, failed{0};
  std::vector<std::string> ids(orders);
  std::vector<std::vector<double>> latencies(o.concurrency);
  std::vector<std::thread> clients;
  for (int c = 0; c < o.concurrency; ++c) {
    clients.emplace_back([&, c] {
      auto write = [&](const std::string& method, const std::string& target, const std::string& body,
                       Headers h) -> std::string {
        h.emplace_back("Content-Type", method == "PATCH" ? "application/merge-patch+json" : "application/json");
        auto t0 = std::chrono::steady_clock::now();
        auto r = Send(port, method, target, body, std::move(h));
        latencies[c].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        if (!r.ok() || r->status >= 300) {
          ++failed;
          return "";
        }
        ++writes;
        return DraftField(*r, "id");
      };
      for (int i; (i = next++) < orders;) {
        std::string key = "shop-" + std::to_string(i) + "-" + RandomId().substr(0, 8);
        std::string id = write("POST", "/shop/orders", "{\"order\":" + std::to_string(i) + ",\"status\":\"open\"}",
                               {{"Idempotency-Key", key}});
        if (id.empty()) continue;
        ids[i] = id;
        for (int l = 0; l < kLines; ++l)
          write("POST", "/shop/lines", "{\"orderId\":\"" + id + "\",\"line\":" + std::to_string(l) + "}",
                {{"Idempotency-Key", key + "-" + std::to_string(l)}});
        write("PATCH", "/shop/orders/" + id, R"({"status":"placed"})", {});
      }
    });
  }
  for (auto& c : clients) c.join();
  std::this_thread::sleep_until(down_at + kOutage);
  auto margs = MasterArgs(s, seed, true, pair->master_port);
  auto m = ChildProcess::Spawn(margs, dir + "/mock-master-2.log");
  if (!m.ok() || !m->WaitListening(10'000).ok()) {
    std::cerr << "demo: the mock master did not come back on port " << pair->master_port << "\n";
    return 1;
  }
  pair->master = std::move(*m);
  auto up_at = std::chrono::steady_clock::now();
  auto pending = [&](const std::string& path) {
    auto r = Send(port, "GET", path + "?syncStatus=pending&limit=1", "", {});
    return !r.ok() || r->status != 200 || r->body.find("\"records\":[]") == std::string::npos;
  };
  while ((pending("/shop/orders") || pending("/shop/lines")) &&
         std::chrono::steady_clock::now() - up_at < std::chrono::minutes(2))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  double sync_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - up_at).count();
  // The master's order ids, from the local copies; and what it received.
  std::set<std::string> canonical;
  int64_t synced = 0, placed = 0;
  for (const auto& id : ids) {
    auto r = Send(port, "GET", "/shop/orders/" + id, "", {});
    if (!r.ok() || r->status != 200) continue;
    std::string cid(FindHeader(r->headers, "Writ-Canonical-Id").value_or(""));
    if (FindHeader(r->headers, "Writ-Sync-Status").value_or("") == "synced") ++synced;
    if (cid.empty()) continue;
    canonical.insert(cid);
    Request get;
    get.method = "GET";
    get.target = "/orders/" + cid;
    auto at_master = HttpCall("127.0.0.1", pair->master_port, get);
    if (at_master.ok() && at_master->body.find("\"status\":\"placed\"") != std::string::npos) ++placed;
  }
  Request log_req;
  log_req.method = "GET";
  log_req.target = "/_log";
  auto log = HttpCall("127.0.0.1", pair->master_port, log_req);
  int64_t lines_at_master = 0, dangling = 0;
  std::set<std::string> lines_seen;
  if (log.ok()) {
    boost::system::error_code ec;
    auto v = boost::json::parse(log->body, ec);
    if (!ec && v.is_object())
      for (const auto& e : v.as_object()["requests"].as_array()) {
        const auto& entry = e.as_object();
        if (entry.at("path") != "/lines" || entry.at("status").as_int64() >= 300) continue;
        std::string text(entry.at("body").as_string());
        if (!lines_seen.insert(text).second) continue;  // a replay of a key the master remembers
        Response line;
        line.body = text;
        std::string order = DraftField(line, "orderId");
        ++lines_at_master;
        if (!canonical.count(order)) ++dangling;
      }
  }
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  double p99 = all.empty() ? 0 : all[std::min(all.size() - 1, all.size() * 99 / 100)];
  auto stats = MasterStats(pair->master_port);
  pair->writ.Stop();
  pair->master.Stop();
  int64_t applied = Num(stats, "applied"), dups = Num(stats, "duplicateApplies");
  std::cout << "\n== edge copy: the master is down for " << kOutage.count() << " s while shops write ==\n"
            << "  writes while down     " << writes << " (" << orders << " orders, " << kLines
            << " lines each referencing the order's temporary id, a change to each order; failed " << failed << "; p99 "
            << p99 << " ms)\n"
            << "  synced after restart  " << synced << " of " << orders << " orders in " << sync_secs << " s\n"
            << "  master: requests      " << Num(stats, "requests") << " (injected 503s "
            << Num(stats, "injectedErrors") << ", drops after commit " << Num(stats, "droppedAfterCommit") << ", hangs "
            << Num(stats, "hangs") << ")\n"
            << "  master: applied       " << applied << " (orders with their latest state: " << placed << ")\n"
            << "  master: lines         " << lines_at_master << ", dangling references " << dangling << "\n"
            << "  master: duplicates    " << dups << "\n";
  bool ok = failed == 0 && synced == orders && placed == orders && dups == 0 && dangling == 0 &&
            lines_at_master == orders * kLines && applied == orders * (1 + kLines);
  std::cout << "  verdict               "
            << (ok ? "OK: every write answered at once, everything synced once, 0 dangling references" : "FAILED")
            << "\n";
  return ok ? 0 : 1;
}

}  // namespace writ::demo
