// Several writ instances sharing one PostgreSQL (a real server started by
// the test, `writ migrate` first): idempotency keys claimed by exactly one
// instance, async commands processed once each while an instance is killed,
// and a database restart under load (503 while it is down, reconnection by
// itself, no acknowledged command lost).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "testing/cluster.h"
#include "testing/postgres.h"

namespace writ::testing {
namespace {

namespace json = boost::json;

RouteOptions AsyncPayments() {
  RouteOptions r;
  r.path = "/payments";
  r.mode = "async";
  r.extra = "async:\n  lease: 4s\n  poll_interval: 50ms\n  backoff_base: 5ms\n  backoff_max: 100ms\n"
            "  max_attempts: 100\n  concurrency: 16\n";
  return r;
}

class PostgresTest : public ::testing::Test {
 protected:
  void StartInstances(int n, const std::vector<std::string>& master_flags, const std::vector<RouteOptions>& routes) {
    url_ = FreshPostgresUrl();
    master_.Start(dirs_[0].path(), master_flags);
    for (int i = 0; i < n; ++i) {
      writs_[i].set_store_url(url_);
      writs_[i].Start(dirs_[i].path(), master_.port(), routes);
    }
  }

  TempDir dirs_[3];
  MockMasterProcess master_;
  WritProcess writs_[3];
  std::string url_;
};

TEST_F(PostgresTest, ThreeInstancesApplyEachKeyOnceUnderConcurrentRetries) {
  // A master that ignores keys: a key claimed twice would be applied twice.
  StartInstances(3, {"--latency", "3ms"}, {RouteOptions{}});
  const int kKeys = 2000, kCopies = 8;
  std::vector<std::pair<int, int>> sends;
  for (int k = 0; k < kKeys; ++k)
    for (int c = 0; c < kCopies; ++c) sends.emplace_back(k, c);
  std::shuffle(sends.begin(), sends.end(), std::mt19937(17));
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::map<int, int> fresh;  // key -> first (non-replayed) 201s
  std::map<int, std::string> bodies;
  std::atomic<int> replays{0}, conflicts{0}, other{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 24; ++t)
    clients.emplace_back([&] {
      for (size_t i; (i = next++) < sends.size();) {
        auto [k, c] = sends[i];
        uint16_t port = writs_[c % 3].port();
        auto r = PostJson(port, "/orders", "key-" + std::to_string(k), "{\"n\":" + std::to_string(k) + "}");
        std::lock_guard lock(mu);
        if (r.status == 201) {
          if (FindHeader(r.headers, "Idempotent-Replayed")) ++replays;
          else ++fresh[k];
          if (bodies.count(k) && bodies[k] != r.body) ++other;  // every 2xx carries the first answer
          bodies[k] = r.body;
        } else if (r.status == 409) {
          ++conflicts;
        } else {
          ++other;
        }
      }
    });
  for (auto& c : clients) c.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(static_cast<int>(fresh.size()), kKeys);
  for (const auto& [k, n] : fresh) EXPECT_EQ(n, 1) << "key " << k << " answered fresh more than once";
  EXPECT_GT(replays.load(), 0);
  auto stats = master_.Stats();
  EXPECT_EQ(stats["applied"].as_int64(), kKeys);
  EXPECT_EQ(stats["duplicateApplies"].as_int64(), 0) << json::serialize(stats["duplicateKeys"]);
  std::printf("3 instances, %d keys x %d sends: %d fresh, %d replays, %d in-flight 409s\n", kKeys, kCopies,
              static_cast<int>(fresh.size()), replays.load(), conflicts.load());
}

TEST_F(PostgresTest, ThreeInstancesProcessAsyncSubmissionsOnceThroughTwoKills) {
  StartInstances(3, {"--honor-idempotency-key", "--latency", "2ms", "--error-rate", "0.1", "--drop-after-commit",
                     "0.05", "--seed", "5"},
                 {AsyncPayments()});
  const int kN = 10'000;
  std::atomic<int> next{0}, acked{0};
  std::atomic<uint16_t> ports[3];
  for (int i = 0; i < 3; ++i) ports[i] = writs_[i].port();
  std::vector<std::thread> clients;
  for (int t = 0; t < 12; ++t)
    clients.emplace_back([&, t] {
      for (int n; (n = next++) < kN;) {
        for (int attempt = 0; attempt < 50; ++attempt) {  // a client retries, on another instance if need be
          auto r = PostJson(ports[(n + attempt) % 3].load(), "/payments", "sub-" + std::to_string(n),
                            "{\"n\":" + std::to_string(n) + "}");
          if (r.status == 202) {
            ++acked;
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    });
  // Instance 0 is killed twice while commands are in flight.
  for (int k = 1; k <= 2; ++k) {
    while (acked < k * kN / 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    writs_[0].Kill();
    writs_[0].Restart();
    ports[0] = writs_[0].port();
  }
  for (auto& c : clients) c.join();
  ASSERT_EQ(acked.load(), kN);
  auto store = OpenStoreReadOnly(url_);
  ASSERT_TRUE(store);
  ASSERT_TRUE(Eventually(
      [&] {
        CommandFilter f;
        f.status = SubmissionStatus::kSucceeded;
        f.limit = 100'000;
        auto done = store->queue().ListCommands(f);
        return done.ok() && static_cast<int>(done->size()) == kN;
      },
      120'000));
  auto stats = master_.Stats();
  EXPECT_EQ(stats["keysApplied"].as_int64(), kN);
  EXPECT_EQ(stats["duplicateApplies"].as_int64(), 0) << json::serialize(stats["duplicateKeys"]);
  EXPECT_EQ(stats["maxConcurrentPerKey"].as_int64(), 1) << "a command was sent by two workers at once";
  // Every instance did part of the work.
  int busy = 0;
  for (auto& w : writs_) {
    auto m = Call(w.admin_port(), "GET", "/metrics").body;
    busy += m.find("writ_async_attempts_total") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(busy, 3);
}

// Buffered bulk writes on three instances sharing one PostgreSQL: 20 NDJSON
// batches of 1,000 items drawn from 12,000 SKUs (so items repeat across
// batches, and two batches are uploaded twice), spread over the instances,
// drained in bulk requests by all three while instance 0 is killed twice.
// Every distinct SKU reaches the master once.
TEST_F(PostgresTest, ThreeInstancesDrainBufferedBatchesOnceThroughTwoKills) {
  RouteOptions bulk;
  bulk.path = "/products/bulk";
  bulk.mode = "buffered";
  bulk.extra = "name: products-bulk\nupstream_path: /products\nmax_body: 64MiB\n"
               "buffered:\n  item_key: /sku\n  batch_size: 100\n  bulk_path: /products/_bulk\n"
               "  max_pending_items: 1000000\n"
               "async:\n  lease: 4s\n  poll_interval: 50ms\n  backoff_base: 5ms\n  backoff_max: 100ms\n"
               "  max_attempts: 1000\n  concurrency: 2\n";
  StartInstances(3, {"--honor-idempotency-key", "--latency", "100ms", "--error-rate", "0.1", "--drop-after-commit",
                     "0.05", "--seed", "8"},
                 {bulk});
  std::mt19937 rng(23);
  std::set<std::string> unique;
  std::vector<std::string> batches;
  for (int b = 0; b < 20; ++b) {
    std::string body;
    for (int i = 0; i < 1000; ++i) {
      std::string sku = "s" + std::to_string(std::uniform_int_distribution<int>(0, 11'999)(rng));
      unique.insert(sku);
      body += R"({"sku":")" + sku + R"("})" + "\n";
    }
    batches.push_back(std::move(body));
  }
  batches.push_back(batches[3]);  // two uploads sent again (a lost 202)
  batches.push_back(batches[11]);
  auto upload = [&](uint16_t port, const std::string& body) {
    return Call(port, "POST", "/products/bulk", body, {{"Content-Type", "application/x-ndjson"}}, 30'000);
  };
  for (size_t b = 0; b < batches.size(); ++b) ASSERT_EQ(upload(writs_[b % 3].port(), batches[b]).status, 202);
  auto pending = [&] {
    auto v = ParseBody(Call(writs_[1].port(), "GET", "/v1/routes/products-bulk/buffer"));
    return v.is_object() && v.as_object().contains("pending") ? v.as_object()["pending"].to_number<int64_t>() : -1;
  };
  const auto total = static_cast<int64_t>(unique.size());
  for (int k = 1; k <= 2; ++k) {  // kill instance 0 at a third and two thirds of the drain
    ASSERT_TRUE(Eventually([&] { return pending() <= total - k * total / 3; }, 120'000));
    writs_[0].Kill();
    writs_[0].Restart();
  }
  ASSERT_TRUE(Eventually([&] { return pending() == 0; }, 300'000)) << pending();
  auto stats = master_.Stats();
  EXPECT_EQ(stats["keysApplied"].as_int64(), total);
  EXPECT_EQ(stats["duplicateApplies"].as_int64(), 0) << json::serialize(stats["duplicateKeys"]);
  EXPECT_GT(stats["bulkRefused"].as_int64(), 0);
  auto store = OpenStoreReadOnly(url_);
  ASSERT_TRUE(store);
  CommandFilter f;
  f.route = "products-bulk";
  f.status = SubmissionStatus::kSucceeded;
  f.limit = 100'000;
  EXPECT_EQ(static_cast<int64_t>(store->queue().ListCommands(f).value().size()), total);
  std::printf("3 instances, %zu uploads, %lld distinct items, drained through 2 kills, 0 duplicates\n",
              batches.size(), static_cast<long long>(total));
}

// The probe on PostgreSQL with two instances: both completers probe the
// same unknown keys (a read each; a key is resolved once), clients retry on
// either instance, and every write applies once.
TEST_F(PostgresTest, TwoInstancesProbeUnknownOutcomesAndNothingAppliesTwice) {
  RouteOptions route;
  route.idempotency = "on_unknown: park\nprobe:\n  path: /orders?clientRef={key}\n  settle: 300ms\n  interval: 200ms";
  StartInstances(2, {"--error-rate", "0.1", "--error-status", "500", "--error-after-commit", "0.2",
                     "--drop-after-commit", "0.1", "--seed", "12"},
                 {route});
  constexpr int kKeys = 30;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back("pg" + std::to_string(i));
  int unknown = 0;
  ASSERT_TRUE(RetryEachUntilAnswered(
      keys, "/orders", [&](int round) { return writs_[round % 2].port(); },  // retries alternate instances
      [](const std::string& key) { return R"({"k":")" + key + R"("})"; }, &unknown));
  EXPECT_GT(unknown, 0) << "the faults produced no unknown outcome";
  auto stats = master_.Stats();
  EXPECT_EQ(stats["keysApplied"].as_int64(), kKeys);
  EXPECT_EQ(stats["duplicateApplies"].as_int64(), 0) << json::serialize(stats["duplicateKeys"]);
  auto store = OpenStoreReadOnly(url_);
  ASSERT_TRUE(store);
  auto counts = store->keys().Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->unknown, 0);
  EXPECT_EQ(counts->in_flight, 0);
}

#ifdef WRIT_CRASH_POINTS
// kill -9 with a key in flight, twice, and no client coming back, while a
// second instance runs on the same database: the completers of both find
// each orphan (one of them wins its fence). The retry route's orphan is
// re-sent from the request kept with the key and completed; the park
// route's is parked, found by the probe and completed. The clients' late
// retries replay; nothing applies twice.
TEST_F(PostgresTest, OrphansOfAKilledInstanceAreCompletedByTheCompleters) {
  url_ = FreshPostgresUrl();
  master_.Start(dirs_[0].path(), {"--honor-idempotency-key"});  // as a retry route needs
  RouteOptions retry;
  retry.idempotency = "lease: 1500ms";
  RouteOptions park;
  park.path = "/parked";
  park.idempotency = "on_unknown: park\nlease: 1500ms\nprobe:\n  path: /parked?clientRef={key}\n  settle: 300ms";
  const char* timeouts = "request_timeout: 1s\nconnect_timeout: 200ms";
  for (int i = 0; i < 2; ++i) writs_[i].set_store_url(url_);
  writs_[1].Start(dirs_[1].path(), master_.port(), {retry, park}, timeouts);
  writs_[0].Start(dirs_[0].path(), master_.port(), {retry, park}, timeouts, {"WRIT_CRASH_AT=after_upstream_response"});
  EXPECT_EQ(PostJson(writs_[0].port(), "/orders", "o1", R"({"a":1})").status, 0);
  EXPECT_EQ(writs_[0].WaitExit(), 128 + 9);
  writs_[0].Restart({"WRIT_CRASH_AT=after_upstream_response"});
  EXPECT_EQ(PostJson(writs_[0].port(), "/parked", "p1", R"({"b":2})").status, 0);
  EXPECT_EQ(writs_[0].WaitExit(), 128 + 9);
  writs_[0].Restart();
  auto store = OpenStoreReadOnly(url_);
  ASSERT_TRUE(store);
  ASSERT_TRUE(Eventually([&] {
    auto c = store->keys().Counts();
    return c.ok() && c->completed == 2 && c->in_flight == 0 && c->unknown == 0;
  }));
  auto stats = master_.Stats();
  EXPECT_EQ(stats["applied"].as_int64(), 2);
  EXPECT_EQ(stats["keyReplays"].as_int64(), 1) << "the retry route's orphan re-sent once, the park route's never";
  for (int i = 0; i < 2; ++i) {
    auto o = PostJson(writs_[i].port(), "/orders", "o1", R"({"a":1})");
    EXPECT_EQ(o.status, 201);
    EXPECT_EQ(FindHeader(o.headers, "Idempotent-Replayed").value_or(""), "true");
    auto p = PostJson(writs_[i].port(), "/parked", "p1", R"({"b":2})");
    EXPECT_EQ(p.status, 200);
    EXPECT_EQ(FindHeader(p.headers, "Writ-Reconstructed").value_or(""), "probe");
  }
  EXPECT_EQ(master_.Stats()["requests"].as_int64(), stats["requests"].as_int64()) << "the late retries replayed";
}
#endif

// Leases are decided by the database's clock: an instance whose host clock
// runs 6 s ahead (more than the 4 s lease) must not take over commands
// another instance is still sending.
TEST_F(PostgresTest, AHostWhoseClockRunsAheadNeverTakesOverALiveLease) {
  url_ = FreshPostgresUrl();
  master_.Start(dirs_[0].path(), {"--honor-idempotency-key", "--latency", "700ms"});
  for (int i = 0; i < 2; ++i) {
    writs_[i].set_store_url(url_);
    std::vector<std::string> env;
    if (i == 1) env.push_back("WRIT_TEST_CLOCK_SKEW_MS=6000");
    writs_[i].Start(dirs_[i].path(), master_.port(), {AsyncPayments()}, "", env);
  }
  const int kN = 200;
  for (int n = 0; n < kN; ++n)
    ASSERT_EQ(PostJson(writs_[n % 2].port(), "/payments", "skew-" + std::to_string(n), "{\"n\":" + std::to_string(n) + "}")
                  .status,
              202);
  auto store = OpenStoreReadOnly(url_);
  ASSERT_TRUE(store);
  ASSERT_TRUE(Eventually(
      [&] {
        CommandFilter f;
        f.status = SubmissionStatus::kSucceeded;
        f.limit = 1'000;
        auto done = store->queue().ListCommands(f);
        return done.ok() && static_cast<int>(done->size()) == kN;
      },
      60'000));
  auto stats = master_.Stats();
  EXPECT_EQ(stats["requests"].as_int64(), kN) << "a command was sent again while its lease was live";
  EXPECT_EQ(stats["maxConcurrentPerKey"].as_int64(), 1) << "a command was sent by two workers at once";
  EXPECT_EQ(stats["keysApplied"].as_int64(), kN);
  // Both instances worked.
  for (auto& w : writs_) {
    if (w.port() == 0) continue;
    EXPECT_NE(Call(w.admin_port(), "GET", "/metrics").body.find("writ_async_attempts_total"), std::string::npos);
  }
}

TEST_F(PostgresTest, DatabaseRestartUnderLoadAnswers503ThenRecoversAndLosesNothing) {
  StartInstances(1, {"--honor-idempotency-key"}, {AsyncPayments()});
  std::atomic<bool> stop{false};
  std::atomic<int> next{0}, unavailable{0}, problem_json{0};
  std::mutex mu;
  std::vector<std::string> acked;  // submission ids
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&] {
      while (!stop) {
        int n = next++;
        for (int attempt = 0; attempt < 200 && !stop.load(); ++attempt) {
          auto r = PostJson(writs_[0].port(), "/payments", "r-" + std::to_string(n), "{\"n\":" + std::to_string(n) + "}");
          if (r.status == 202) {
            std::lock_guard lock(mu);
            acked.push_back(std::string(ParseBody(r).as_object()["submissionId"].as_string()));
            break;
          }
          if (r.status == 503) {
            ++unavailable;
            if (FindHeader(r.headers, "Content-Type").value_or("") == "application/problem+json") ++problem_json;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_TRUE(StopTestPostgres());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  int during = unavailable.load();
  ASSERT_TRUE(StartTestPostgres());
  size_t at_restart;
  {
    std::lock_guard lock(mu);
    at_restart = acked.size();
  }
  // Writ reconnects by itself: new submissions are accepted again.
  EXPECT_TRUE(Eventually([&] {
    std::lock_guard lock(mu);
    return acked.size() > at_restart + 20;
  }, 30'000));
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_GT(during, 0) << "requests while the database was down were answered 503";
  EXPECT_EQ(problem_json.load(), unavailable.load()) << "every 503 is problem+json";
  EXPECT_EQ(Call(writs_[0].port(), "GET", "/readyz").status, 200);
  // Every acknowledged submission is there and reaches the master.
  auto store = OpenStoreReadOnly(url_);
  ASSERT_TRUE(store);
  EXPECT_TRUE(Eventually([&] {
    for (const auto& id : acked) {
      auto c = store->queue().GetCommand(id);
      if (!c.ok() || !c->has_value() || (*c)->status != SubmissionStatus::kSucceeded) return false;
    }
    return true;
  }, 60'000));
  EXPECT_EQ(master_.Stat("keysApplied"), static_cast<int64_t>(acked.size()));
  EXPECT_EQ(master_.Stat("duplicateApplies"), 0);
  std::printf("database restart: %zu acknowledged, %d answered 503 while it was down\n", acked.size(),
              unavailable.load());
}

}  // namespace
}  // namespace writ::testing
