// `writ demo`, dual copy (CP-6): a customer master of a few thousand records
// is loaded into a local copy; clients update a tenth of them at local
// speed, and the changes reach the master. Then the master diverges behind
// the change feed: 5% of its records change and it loses 1% of the batch
// Writ wrote. `writ reconcile` must find exactly those, report the ratio,
// repair them (restore: the master's changes into the copy, what it lost
// back to it), and a last run must find both sides equal.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include "cli/demo_common.h"
#include "http/blocking_client.h"

namespace writ::demo {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

Result<Response> MasterCall(uint16_t port, const std::string& method, const std::string& target,
                            const std::string& body) {
  Request req;
  req.method = method;
  req.target = target;
  req.body = body;
  req.headers = {{"Content-Type", "application/json"}};
  return HttpCall("127.0.0.1", port, req);
}

// `writ reconcile ROUTE` as an operator runs it: its exit code and report.
struct Run {
  int rc = -1;
  json::object report;
};
Run Reconcile(const std::string& dir, const std::string& config, const std::string& repair, int n) {
  std::string log = dir + "/reconcile-" + repair + "-" + std::to_string(n) + ".log";
  Run out;
  auto p = ChildProcess::Spawn(
      {SelfExe(), "reconcile", "/crm/customers", "-c", config, "--repair", repair, "--json", "--limit", "100000"}, log);
  if (!p.ok()) return out;
  out.rc = p->Wait();
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("{\"reconciliationId\"", 0) == 0) {
      boost::system::error_code ec;
      auto v = json::parse(line, ec);
      if (!ec && v.is_object()) out.report = v.as_object();
    }
  return out;
}

bool NoPending(uint16_t port) {
  auto r = Send(port, "GET", "/crm/customers?syncStatus=pending&limit=1", "", {});
  return r.ok() && r->status == 200 && r->body.find("\"records\":[]") != std::string::npos;
}

}  // namespace

int RunCopyScenario(const std::string& dir, const DemoOptions& o, uint64_t seed) {
  std::filesystem::create_directories(dir);
  auto pair = StartPair(dir, {"copy", true, "retry"}, seed, true);
  if (!pair.ok()) {
    std::cerr << "demo: " << pair.status().message() << "\n";
    return 1;
  }
  const int n = std::max(2000, o.writes);
  uint16_t port = pair->writ_port, mport = pair->master_port;
  auto seeded =
      MasterCall(mport, "POST", "/_seed", "{\"collection\":\"customers\",\"count\":" + std::to_string(n) + "}");
  if (!seeded.ok() || seeded->status != 200) {
    std::cerr << "demo: seeding the master failed\n";
    return 1;
  }
  auto t0 = Clock::now();
  bool loaded = false;
  while (!loaded && Clock::now() - t0 < std::chrono::seconds(60)) {
    auto r = Send(port, "GET", "/crm/customers/cus_1", "", {});
    loaded = r.ok() && r->status == 200 && FindHeader(r->headers, "Writ-As-Of").value_or("never") != "never";
    if (!loaded) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  double load_secs = std::chrono::duration<double>(Clock::now() - t0).count();

  // A tenth of the records updated locally, by concurrent clients.
  std::vector<int> batch;
  for (int i = 10; i <= n; i += 10) batch.push_back(i);
  std::atomic<size_t> next{0};
  std::atomic<int64_t> failed{0};
  std::vector<std::vector<double>> lat(o.concurrency);
  std::vector<std::thread> clients;
  for (int c = 0; c < o.concurrency; ++c)
    clients.emplace_back([&, c] {
      for (size_t k; (k = next++) < batch.size();) {
        int i = batch[k];
        auto t = Clock::now();
        auto r = Send(port, "PUT", "/crm/customers/cus_" + std::to_string(i),
                      "{\"name\":\"Customer " + std::to_string(i) + "\",\"balance\":" + std::to_string(i * 2) +
                          ",\"tier\":\"gold\"}",
                      {{"Content-Type", "application/json"}});
        lat[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
        if (!r.ok() || r->status != 200) ++failed;
      }
    });
  for (auto& c : clients) c.join();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  double p99 = all.empty() ? 0 : all[std::min(all.size() - 1, all.size() * 99 / 100)];
  auto t1 = Clock::now();
  while (!NoPending(port) && Clock::now() - t1 < std::chrono::minutes(2))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  double sync_secs = std::chrono::duration<double>(Clock::now() - t1).count();

  // The master diverges where its change feed cannot tell: 5% changed,
  // and 1% of the records (from the batch Writ wrote) lost.
  std::set<std::pair<std::string, std::string>> injected;
  std::string changed, lost;
  for (int i = 3; i <= n; i += 20) {
    changed += std::string(changed.empty() ? "" : ",") + "\"cus_" + std::to_string(i) + "\"";
    injected.insert({"cus_" + std::to_string(i), "differ"});
  }
  for (size_t k = 0; k < batch.size() && static_cast<int>(k) < n / 100; ++k) {
    std::string id = "cus_" + std::to_string(batch[k]);
    lost += std::string(lost.empty() ? "" : ",") + "\"" + id + "\"";
    injected.insert({id, "missing_master"});
  }
  auto tampered = MasterCall(mport, "POST", "/_tamper",
                             "{\"collection\":\"customers\",\"change\":[" + changed + "],\"delete\":[" + lost + "]}");
  if (!tampered.ok() || tampered->status != 200) {
    std::cerr << "demo: the master did not take the divergence: "
              << (tampered.ok() ? tampered->body : tampered.status().message()) << "\n";
    return 1;
  }

  auto t2 = Clock::now();
  Run found = Reconcile(dir, pair->config, "report", 1);
  double reconcile_secs = std::chrono::duration<double>(Clock::now() - t2).count();
  std::set<std::pair<std::string, std::string>> seen;
  if (auto* items = found.report.if_contains("items"); items && items->is_array())
    for (const auto& m : items->as_array())
      seen.insert({std::string(m.at("id").as_string()), std::string(m.at("kind").as_string())});
  Run repaired = Reconcile(dir, pair->config, "restore", 2);
  auto t3 = Clock::now();
  while (!NoPending(port) && Clock::now() - t3 < std::chrono::minutes(2))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Run equal = Reconcile(dir, pair->config, "report", 3);
  auto stats = MasterStats(mport);
  pair->writ.Stop();
  pair->master.Stop();

  auto num = [](const json::object& o, const char* k) { return Num(o, k); };
  double ratio = 0;
  if (auto* r = found.report.if_contains("mismatchRatio"); r && r->is_number()) ratio = r->to_number<double>();
  int64_t dups = Num(stats, "duplicateApplies");
  std::cout << "\n== dual copy: a customer master diverges behind its change feed ==\n"
            << "  copy loaded           " << n << " records in " << load_secs << " s (change feed, pages of 1000)\n"
            << "  local writes          " << batch.size() << " updates (failed " << failed << "; p99 " << p99
            << " ms), at the master " << sync_secs << " s later\n"
            << "  injected at master    " << injected.size() << " (changed 5%: " << (n + 16) / 20
            << ", lost 1% of the batch: " << n / 100 << "), none in the change feed\n"
            << "  reconcile (report)    compared " << num(found.report, "compared") << ", mismatches "
            << num(found.report, "mismatches") << " (ratio " << ratio << ") in " << reconcile_secs
            << " s; exactly the injected ones: " << (seen == injected ? "yes" : "NO") << "\n"
            << "  reconcile (restore)   repaired " << num(repaired.report, "repaired") << "\n"
            << "  reconcile (report)    mismatches " << num(equal.report, "mismatches") << "\n"
            << "  master: duplicates    " << dups << "\n";
  bool ok = loaded && failed == 0 && found.rc == 2 && seen == injected && repaired.rc == 2 &&
            num(repaired.report, "repaired") == static_cast<int64_t>(injected.size()) && equal.rc == 0 &&
            num(equal.report, "mismatches") == 0 && dups == 0;
  std::cout << "  verdict               "
            << (ok ? "OK: every divergence found and nothing else, repaired, both sides equal" : "FAILED") << "\n";
  return ok ? 0 : 1;
}

}  // namespace writ::demo
