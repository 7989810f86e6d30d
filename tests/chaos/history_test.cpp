// The history runner (Jepsen-style): concurrent clients retry their writes
// with the same key, as real clients do, while writ is killed with SIGKILL at
// random moments and restarted, against a master that fails 20% of writes,
// drops 10% of answers after committing and hangs on 5%. Every operation's
// outcome is recorded (ok, failed, or unknown when the client gave up), then
// the run drains and is checked against what the master applied:
//   - every acknowledged write (2xx, 202) is applied exactly once;
//   - an operation with an unknown outcome is applied at most once;
//   - nothing is applied twice;
//   - async: every accepted submission is finished; the dead ones are exactly
//     those that spent their attempts, and re-driving them applies each once;
//   - postgres: the async scenario with two writ instances on one PostgreSQL,
//     clients spreading their retries over both, kills alternating;
//   - buffered: an operation is a batch of 10 items (new SKUs); every item of
//     an acknowledged batch is finished and applied exactly once (or dead with
//     its budget spent, then replayed once), items of an unknown batch at most
//     once;
//   - draft: an operation is a draft: created, saved by two tabs that race
//     on one ETag (the loser re-reads and re-applies after its 412), then
//     submitted; every acknowledged save is in the final document, each save
//     applied once (the version counts them), and the draft reaches the
//     master at most once, exactly once when its submit was acknowledged;
//   - edge: an operation is an order, two lines referencing the order's
//     temporary id and a change to the order, while the master is also
//     stopped for a while; once drained every acknowledged write is at the
//     master (field by field), every record was created there once, and no
//     line carries a temporary id;
//   - dual copy: local writes and master edits race on the same records
//     while writ is killed; once quiet, reconciliation finds the copy and
//     the master equal, and no acknowledged write is lost (see the test);
//   - saga: an operation is a trip booked at three masters (flight, hotel,
//     car; 30% of cars refused); every saga ends succeeded or compensated,
//     no step is applied twice, a compensation runs only for a step that was
//     applied, in reverse order, and a compensated trip leaves nothing.
// Every run prints its seed; WRIT_CHAOS_SEED=N replays the same kill delays,
// client jitter and the master's sequence of fault draws (thread timing still
// varies, so a failure reproduces often, not always). WRIT_HISTORY_KILLS sets the kill cycles per scenario
// (default 10; `ctest -L soak` runs 200), WRIT_HISTORY_OPS caps the
// operations (default 1,500; the kills go on while the rest drains).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <filesystem>
#include <thread>

#include "core/json.h"
#include "patterns/draft/draft_store.h"
#include "patterns/idempotency/key.h"
#include "testing/cluster.h"
#include "testing/postgres.h"

namespace writ::testing {
namespace {

namespace json = boost::json;

enum class OpResult { kOk, kFailed, kUnknown };

struct Op {
  std::string key;
  OpResult result = OpResult::kUnknown;
  std::string submission;  // async: the acknowledged submission; buffered: the job
};

constexpr int kBatchItems = 10;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::max(1, std::atoi(v)) : fallback;
}

uint64_t Seed() {
  const char* v = std::getenv("WRIT_CHAOS_SEED");
  return v ? std::strtoull(v, nullptr, 10) : std::random_device{}();
}

// kPostgres: async, 2 instances on one database; kSyncPark: sync, on_unknown:
// park, against a master that ignores keys (at most once by Writ alone).
enum class Kind { kSync, kAsync, kBuffered, kPostgres, kSyncPark };

struct Scenario {
  const char* name;
  Kind kind;
};
void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

class History : public ::testing::TestWithParam<Scenario> {};

TEST_P(History, AcknowledgedOnceUnknownAtMostOnceNothingTwice) {
  const Scenario& sc = GetParam();
  const uint64_t seed = Seed();
  const int kills = EnvInt("WRIT_HISTORY_KILLS", 10);
  const int max_ops = EnvInt("WRIT_HISTORY_OPS", 1500);  // the kills go on while the rest drains
  std::printf("history %s: seed %llu (rerun with WRIT_CHAOS_SEED=%llu), %d kills\n", sc.name,
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed), kills);
  TempDir dir;
  MockMasterProcess master;
  // Also 5% of writes applied and then answered 500/504 (a proxy's view).
  const bool park = sc.kind == Kind::kSyncPark;
  std::vector<std::string> faults = {"--error-rate", "0.2", "--drop-after-commit", "0.1", "--error-after-commit", "0.05",
                                     "--hang-rate", "0.05", "--hang-for", "700ms", "--seed", std::to_string(seed)};
  if (!park) faults.insert(faults.begin(), "--honor-idempotency-key");
  master.Start(dir.path(), faults);
  const bool postgres = sc.kind == Kind::kPostgres;
  const bool async = sc.kind == Kind::kAsync || postgres, buffered = sc.kind == Kind::kBuffered;
  RouteOptions route;
  if (buffered) {
    route.path = "/products/bulk";
    route.mode = "buffered";
    route.extra = "buffered:\n  item_key: /sku\n  batch_size: 20\n  bulk_path: /products/_bulk\n"
                  "async:\n  lease: 1500ms\n  poll_interval: 50ms\n  backoff_base: 10ms\n  backoff_max: 100ms\n"
                  "  max_attempts: 6\n  concurrency: 4\n";
  } else if (async) {
    route.path = "/payments";
    route.mode = "async";
    route.extra = "async:\n  lease: 1500ms\n  poll_interval: 50ms\n  backoff_base: 10ms\n  backoff_max: 100ms\n"
                  "  max_attempts: 6\n  concurrency: 8\n";
  } else {
    route.idempotency = park ? "lease: 1500ms\non_unknown: park" : "lease: 1500ms";
  }
  // Two instances on one PostgreSQL, or one writ on SQLite.
  const int instances = postgres ? 2 : 1;
  TempDir dir2;
  WritProcess writs[2];
  std::string url = postgres ? FreshPostgresUrl() : "";
  for (int i = 0; i < instances; ++i) {
    if (postgres) writs[i].set_store_url(url);
    writs[i].Start(i == 0 ? dir.path() : dir2.path(), master.port(), {route},
                   "request_timeout: 500ms\nconnect_timeout: 200ms");
  }
  WritProcess& writ = writs[0];
  const std::string path = buffered ? "/products/bulk" : async ? "/payments" : "/orders";

  std::atomic<uint16_t> ports[2];
  for (int i = 0; i < instances; ++i) ports[i] = writs[i].port();
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<Op> history;
  std::atomic<int> next{0};
  auto client = [&](int id) {
    std::mt19937_64 rng(seed + id);
    for (int n; !stop && (n = next++) < max_ops;) {
      Op op;
      op.key = std::string(sc.name) + "-" + std::to_string(n);
      std::string body = "{\"n\":" + std::to_string(n) + "}";
      std::string type = "application/json";
      if (buffered) {
        body.clear();
        for (int i = 0; i < kBatchItems; ++i) body += "{\"sku\":\"" + op.key + "-" + std::to_string(i) + "\"}\n";
        type = "application/x-ndjson";
      }
      // A client gives up after 12 tries, and one in ten after its first
      // (never to come back): its outcome is then unknown.
      int tries = std::uniform_int_distribution<int>(0, 9)(rng) == 0 ? 1 : 12;
      for (int attempt = 0; attempt < tries && op.result == OpResult::kUnknown; ++attempt) {
        if (attempt > 0)
          std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 80)(rng)));
        auto r = Call(ports[(n + attempt) % instances].load(), "POST", path, body,
                      {{"Content-Type", type}, {"Idempotency-Key", op.key}}, 2'000);
        if (r.status >= 200 && r.status < 300) {
          op.result = OpResult::kOk;
          if (async) op.submission = std::string(ParseBody(r).as_object()["submissionId"].as_string());
          if (buffered) op.submission = std::string(ParseBody(r).as_object()["jobId"].as_string());
        } else if (r.status >= 400 && r.status < 500 && r.status != 409 && r.status != 429) {
          op.result = OpResult::kFailed;
        }
      }
      std::lock_guard lock(mu);
      history.push_back(std::move(op));
    }
  };
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) clients.emplace_back(client, c);
  std::mt19937_64 rng(seed);
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 400)(rng)));
    WritProcess& victim = writs[k % instances];
    victim.Kill();
    victim.Restart();
    ports[k % instances] = victim.port();
  }
  stop = true;
  for (auto& c : clients) c.join();

  // Drain: the last restart's writ finishes what was accepted.
  auto store = [&] { return OpenStoreReadOnly(postgres ? url : writ.db_path()); };
  if (async || buffered) {
    ASSERT_TRUE(Eventually(
        [&] {
          auto s = store();
          auto stats = s->queue().QueueStats();
          if (!stats.ok()) return false;
          for (auto& q : *stats)
            if (!IsTerminal(q.status) && q.count > 0) return false;
          return true;
        },
        60'000))
        << "every accepted submission finishes";
  }
  auto keys = ParseBody(Call(master.port(), "GET", "/_keys")).as_object();
  auto applied = [&](const std::string& key) -> int64_t {
    auto* k = keys.if_contains(DeriveUpstreamKey("default", std::string("POST ") + path, key));
    return k ? k->as_object()["applied"].as_int64() : 0;
  };
  // Buffered: the items of one operation, by their SKUs.
  auto items_of = [&](const std::string& key) {
    std::vector<std::string> skus;
    for (int i = 0; i < kBatchItems; ++i) skus.push_back(key + "-" + std::to_string(i));
    return skus;
  };

  int ok = 0, failed = 0, unknown = 0, dead = 0, parked = 0, orphans = 0;
  std::vector<std::string> dead_ids;
  auto s = store();
  std::vector<std::string> dead_jobs;
  for (const auto& op : history) {
    if (buffered) {
      if (op.result == OpResult::kOk) {
        ++ok;
        CommandFilter f;
        f.job_id = op.submission;
        auto items = s->queue().ListCommands(f);
        ASSERT_TRUE(items.ok() && items->size() == static_cast<size_t>(kBatchItems)) << op.key << ": items stored";
        bool job_dead = false;
        for (const auto& item : *items) {
          int64_t n = applied(item.item_key);
          if (item.status == SubmissionStatus::kDead) {
            ++dead;
            job_dead = true;
            EXPECT_EQ(item.attempts, 6) << item.id << ": only a spent budget makes an item dead";
            EXPECT_LE(n, 1) << item.id;
          } else {
            EXPECT_EQ(item.status, SubmissionStatus::kSucceeded) << item.id;
            EXPECT_EQ(n, 1) << item.id << ": acknowledged, so applied exactly once";
          }
        }
        if (job_dead) dead_jobs.push_back(op.submission);
      } else {
        op.result == OpResult::kFailed ? ++failed : ++unknown;
        for (const auto& sku : items_of(op.key)) EXPECT_LE(applied(sku), 1) << sku << ": applied at most once";
      }
      continue;
    }
    int64_t n = applied(op.key);
    switch (op.result) {
      case OpResult::kOk:
        ++ok;
        if (async) {
          auto c = s->queue().GetCommand(op.submission);
          ASSERT_TRUE(c.ok() && c->has_value()) << op.key << ": an acknowledged submission is stored";
          if ((*c)->status == SubmissionStatus::kDead) {
            ++dead;
            dead_ids.push_back(op.submission);
            EXPECT_EQ((*c)->attempts, 6) << op.key << ": only a spent budget makes a command dead";
            EXPECT_LE(n, 1) << op.key;
            break;
          }
          EXPECT_EQ((*c)->status, SubmissionStatus::kSucceeded) << op.key;
        }
        EXPECT_EQ(n, 1) << op.key << ": acknowledged, so applied exactly once";
        break;
      case OpResult::kFailed:
        ++failed;
        EXPECT_LE(n, 1) << op.key;
        break;
      case OpResult::kUnknown:
        ++unknown;
        EXPECT_LE(n, 1) << op.key << ": unknown outcome, applied at most once";
        if (park && n == 1) {
          // Applied, and the client never heard: the key says so (parked,
          // or completed after the client gave up, or in flight where writ
          // died and the client never came back), never free to re-send.
          auto rec = s->keys().Lookup({"default", std::string("POST ") + path, op.key});
          ASSERT_TRUE(rec.ok());
          EXPECT_TRUE(rec->has_value()) << op.key << ": applied but its key is free";
          if (rec->has_value() && (*rec)->state == KeyState::kUnknown) ++parked;
          if (rec->has_value() && (*rec)->state == KeyState::kInFlight) ++orphans;
        }
        break;
    }
  }
  EXPECT_EQ(master.Stat("duplicateApplies"), 0) << json::serialize(master.Stats()["duplicateKeys"]);

  // Re-driving the dead applies each once, and nothing twice.
  if (!dead_ids.empty()) {
    Call(master.port(), "POST", "/_faults", R"({"errorRate":0,"dropAfterCommit":0,"hangRate":0})");
    for (const auto& id : dead_ids) EXPECT_EQ(Call(writ.admin_port(), "POST", "/v1/submissions/" + id + "/retry").status, 200);
    for (const auto& id : dead_ids)
      EXPECT_TRUE(Eventually([&] {
        auto v = ParseBody(Call(writ.port(), "GET", "/v1/submissions/" + id + "?wait=2s"));
        return v.is_object() && v.as_object()["status"] == "succeeded";
      }, 30'000)) << id;
    EXPECT_EQ(master.Stat("duplicateApplies"), 0);
  }
  if (!dead_jobs.empty()) {
    Call(master.port(), "POST", "/_faults", R"({"errorRate":0,"dropAfterCommit":0,"hangRate":0})");
    for (const auto& id : dead_jobs) EXPECT_EQ(Call(writ.admin_port(), "POST", "/v1/jobs/" + id + "/replay").status, 200);
    for (const auto& id : dead_jobs)
      EXPECT_TRUE(Eventually([&] {
        auto v = ParseBody(Call(writ.port(), "GET", "/v1/jobs/" + id));
        return v.is_object() && v.as_object()["status"] == "completed";
      }, 30'000)) << id;
    EXPECT_EQ(master.Stat("duplicateApplies"), 0);
  }
  EXPECT_GT(ok, 0) << "the run did some work";
  std::printf("history %s: seed %llu, %d kills, %zu operations: %d ok, %d failed, %d unknown, %d dead "
              "(re-driven), %lld applied, 0 duplicates\n",
              sc.name, static_cast<unsigned long long>(seed), kills, history.size(), ok, failed, unknown, dead,
              static_cast<long long>(master.Stat("applied")));
  if (park)
    std::printf("history %s: of the unknown, applied at the master: %d parked for an operator, %d in flight "
                "(writ died, the client never came back)\n",
                sc.name, parked, orphans);
}

INSTANTIATE_TEST_SUITE_P(Runs, History,
                         ::testing::Values(Scenario{"sync", Kind::kSync}, Scenario{"async", Kind::kAsync},
                                           Scenario{"buffered", Kind::kBuffered},
                                           Scenario{"postgres", Kind::kPostgres},
                                           Scenario{"sync_park", Kind::kSyncPark}),
                         [](const ::testing::TestParamInfo<Scenario>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace writ::testing

namespace writ::testing {
namespace {

struct DraftOp {
  std::string key, id;
  std::set<std::string> saved;  // fields of acknowledged saves
  OpResult submit = OpResult::kUnknown;
};

TEST(History, DraftsSavedFromTwoTabsAndSubmittedOnce) {
  const uint64_t seed = Seed();
  const int kills = EnvInt("WRIT_HISTORY_KILLS", 10);
  const int max_ops = std::min(EnvInt("WRIT_HISTORY_OPS", 1500), 400);  // each op is about ten requests
  std::printf("history draft: seed %llu (rerun with WRIT_CHAOS_SEED=%llu), %d kills\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed), kills);
  TempDir dir;
  MockMasterProcess master;
  master.Start(dir.path(), {"--honor-idempotency-key", "--error-rate", "0.2", "--drop-after-commit", "0.1",
                            "--hang-rate", "0.05", "--hang-for", "700ms", "--seed", std::to_string(seed)});
  RouteOptions route;
  route.method = "";
  route.path = "/applications/drafts";
  route.mode = "draft";
  route.extra = "upstream_path: /applications\n";
  route.idempotency = "lease: 1500ms";
  WritProcess writ;
  writ.Start(dir.path(), master.port(), {route}, "request_timeout: 500ms\nconnect_timeout: 200ms");
  const std::string base = "/applications/drafts";
  std::atomic<uint16_t> port{writ.port()};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<DraftOp> history;
  std::atomic<int> next{0};

  auto client = [&](int cid) {
    std::mt19937_64 rng(seed + cid);
    auto pause = [&] { std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 60)(rng))); };
    // Retries `send` until it is final (not a transport error, 5xx, 409 in
    // flight): a client gives up after 12 tries.
    auto until_final = [&](const std::function<Response()>& send) {
      Response r;
      for (int attempt = 0; attempt < 12; ++attempt) {
        if (attempt > 0) pause();
        r = send();
        bool transient = r.status == 0 || r.status >= 500 ||
                         (r.status == 409 && ProblemType(r) == "idempotency-key-in-flight");
        if (!transient) return r;
      }
      r.status = 0;
      return r;
    };
    auto etag = [&](const std::string& id) -> std::string {
      auto g = until_final([&] { return Call(port, "GET", base + "/" + id); });
      return g.status == 200 ? std::string(FindHeader(g.headers, "ETag").value_or("")) : "";
    };
    for (int n; !stop && (n = next++) < max_ops;) {
      DraftOp op;
      op.key = "draft-" + std::to_string(n);
      auto c = until_final([&] {
        return Call(port, "POST", base, "{\"op\":" + std::to_string(n) + "}",
                    {{"Content-Type", "application/json"}, {"Idempotency-Key", op.key + "-create"}});
      });
      if (c.status == 201) op.id = std::string(ParseBody(c).as_object()["draftId"].as_string());
      // Two tabs read one ETag; each saves its field; the loser re-reads and re-applies.
      for (int round = 0; round < 2 && !op.id.empty(); ++round) {
        std::string shared = etag(op.id);
        for (int tab = 0; tab < 2; ++tab) {
          std::string field = "r" + std::to_string(round) + "t" + std::to_string(tab);
          std::string tag = shared;
          for (int tries = 0; tries < 6 && !tag.empty(); ++tries) {
            auto r = until_final([&] {
              return Call(port, "PATCH", base + "/" + op.id, "{\"" + field + "\":1}",
                          {{"Content-Type", "application/merge-patch+json"}, {"If-Match", tag},
                           {"Idempotency-Key", op.key + "-" + field + "-" + std::to_string(tries)}});
            });
            if (r.status == 200) {
              op.saved.insert(field);
              break;
            }
            if (r.status != 412) break;  // gave up: unknown
            tag = etag(op.id);
          }
        }
      }
      // Submit with the current ETag, retried under one key.
      if (!op.id.empty()) {
        std::string tag = etag(op.id);
        for (int tries = 0; tries < 4 && !tag.empty() && op.submit == OpResult::kUnknown; ++tries) {
          auto r = until_final([&] {
            return Call(port, "POST", base + "/" + op.id + "/submit", "",
                        {{"If-Match", tag}, {"Idempotency-Key", op.key + "-submit"}});
          });
          if (r.status >= 200 && r.status < 300) op.submit = OpResult::kOk;
          else if (r.status == 412) tag = etag(op.id);
          else if (r.status >= 400 && r.status < 500 && r.status != 409) op.submit = OpResult::kFailed;
        }
      }
      std::lock_guard lock(mu);
      history.push_back(std::move(op));
    }
  };
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) clients.emplace_back(client, c);
  std::mt19937_64 rng(seed);
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 400)(rng)));
    writ.Kill();
    writ.Restart();
    port = writ.port();
  }
  stop = true;
  for (auto& c : clients) c.join();
  writ.Stop();

  auto keys = ParseBody(Call(master.port(), "GET", "/_keys")).as_object();
  auto store = OpenStoreReadOnly(writ.db_path());
  DraftStore drafts(store->db());
  int ok = 0, unknown = 0, created = 0, saves = 0;
  int64_t applied_total = 0;
  for (const auto& op : history) {
    if (op.id.empty()) continue;
    ++created;
    auto d = drafts.Find(op.id);
    ASSERT_TRUE(d.ok() && d->has_value()) << op.key << ": an acknowledged create is stored";
    const Draft& draft = **d;
    auto data = json::parse(draft.data).as_object();
    int fields = 0;
    for (const auto& f : op.saved) {
      EXPECT_TRUE(data.contains(f)) << op.key << ": acknowledged save " << f << " lost";
      ++saves;
    }
    for (auto& [k, v] : data) fields += k != "op";
    EXPECT_EQ(draft.version, 1 + fields) << op.key << ": each applied save bumps the version by exactly one";
    Draft at_submit = draft;
    at_submit.submit_seq = 0;  // no refusals in this run
    auto* k = keys.if_contains(DraftStore::UpstreamKey(at_submit));
    int64_t applied = k ? k->as_object()["applied"].as_int64() : 0;
    applied_total += applied;
    EXPECT_LE(applied, 1) << op.key;
    if (op.submit == OpResult::kOk) {
      ++ok;
      EXPECT_EQ(applied, 1) << op.key << ": acknowledged, so applied exactly once";
      EXPECT_EQ(draft.status, DraftStatus::kSubmitted) << op.key;
    } else {
      ++unknown;
      if (draft.status == DraftStatus::kOpen) EXPECT_EQ(applied, 0) << op.key << ": open again, so never applied";
    }
  }
  EXPECT_EQ(master.Stat("applied"), applied_total) << "nothing applied under another upstream key";
  EXPECT_EQ(master.Stat("duplicateApplies"), 0) << json::serialize(master.Stats()["duplicateKeys"]);
  EXPECT_GT(ok, 0) << "the run did some work";
  std::printf("history draft: seed %llu, %d kills, %d drafts: %d acknowledged saves, %d submitted, %d not "
              "acknowledged, %lld applied, 0 duplicates\n",
              static_cast<unsigned long long>(seed), kills, created, saves, ok, unknown,
              static_cast<long long>(applied_total));
}

struct EdgeOp {
  std::string key, order;       // the order's temporary id, when its create was acknowledged
  std::vector<std::string> lines;  // acknowledged lines
  bool changed = false;            // the change to the order was acknowledged
};

// Every record of an edge route, paged through the list API.
std::vector<json::object> EdgeRecords(uint16_t port, const std::string& path) {
  std::vector<json::object> out;
  std::string cursor;
  for (;;) {
    auto r = Call(port, "GET", path + "?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor));
    if (r.status != 200) return out;
    auto body = ParseBody(r).as_object();
    for (auto& rec : body["records"].as_array()) out.push_back(rec.as_object());
    auto* next = body.if_contains("nextCursor");
    if (!next || !next->is_string()) return out;
    cursor = std::string(next->get_string());
  }
}

TEST(History, EdgeWritesThroughKillsAndOutagesSyncOnce) {
  const uint64_t seed = Seed();
  const int kills = EnvInt("WRIT_HISTORY_KILLS", 10);
  const int max_ops = std::min(EnvInt("WRIT_HISTORY_OPS", 1500), 400);  // each op is four writes
  std::printf("history edge: seed %llu (rerun with WRIT_CHAOS_SEED=%llu), %d kills\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed), kills);
  TempDir dir;
  MockMasterProcess master;
  const std::vector<std::string> faults = {"--honor-idempotency-key", "--error-rate", "0.2", "--drop-after-commit",
                                           "0.1", "--hang-rate", "0.05", "--hang-for", "700ms", "--seed",
                                           std::to_string(seed)};
  master.Start(dir.path(), faults);
  const uint16_t master_port = master.port();
  auto edge = [](const std::string& path, const std::string& upstream_path, const std::string& more) {
    RouteOptions r;
    r.method = "";
    r.path = path;
    r.mode = "edge";
    r.extra = "upstream_path: " + upstream_path +
              "\nasync: {lease: 1500ms, poll_interval: 50ms, backoff_base: 20ms, backoff_max: 300ms}\n" + more;
    return r;
  };
  WritProcess writ;
  writ.Start(dir.path(), master.port(),
             {edge("/shop/orders", "/orders", ""),
              edge("/shop/lines", "/lines", "edge: {references: [{pointer: /orderId, route: /shop/orders}]}\n")},
             "request_timeout: 500ms\nconnect_timeout: 200ms");
  std::atomic<uint16_t> port{writ.port()};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<EdgeOp> history;
  std::atomic<int> next{0};

  auto client = [&](int cid) {
    std::mt19937_64 rng(seed + cid);
    auto pause = [&] { std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 60)(rng))); };
    // Retried under one key until final; a client gives up after 12 tries.
    auto write = [&](const std::string& method, const std::string& target, const std::string& body,
                     const std::string& key) {
      Response r;
      for (int attempt = 0; attempt < 12; ++attempt) {
        if (attempt > 0) pause();
        r = Call(port, method, target, body,
                 {{"Content-Type", method == "PATCH" ? "application/merge-patch+json" : "application/json"},
                  {"Idempotency-Key", key}});
        bool transient = r.status == 0 || r.status >= 500 ||
                         (r.status == 409 && ProblemType(r) == "idempotency-key-in-flight");
        if (!transient) return r;
      }
      r.status = 0;
      return r;
    };
    for (int n; !stop && (n = next++) < max_ops;) {
      EdgeOp op;
      op.key = "edge-" + std::to_string(n);
      auto c = write("POST", "/shop/orders", "{\"op\":" + std::to_string(n) + "}", op.key);
      if (c.status == 201) op.order = std::string(ParseBody(c).as_object()["id"].as_string());
      for (int l = 0; l < 2 && !op.order.empty(); ++l) {
        auto r = write("POST", "/shop/lines", "{\"orderId\":\"" + op.order + "\",\"line\":" + std::to_string(l) + "}",
                       op.key + "-line" + std::to_string(l));
        if (r.status == 201) op.lines.push_back(std::string(ParseBody(r).as_object()["id"].as_string()));
      }
      if (!op.order.empty())
        op.changed = write("PATCH", "/shop/orders/" + op.order, R"({"placed":true})", op.key + "-change").status == 200;
      std::lock_guard lock(mu);
      history.push_back(std::move(op));
    }
  };
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) clients.emplace_back(client, c);
  std::mt19937_64 rng(seed);
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 400)(rng)));
    // An outage across a few kills: every write refused (503), the master's
    // records and remembered keys kept.
    if (k == kills / 3) Call(master_port, "POST", "/_faults", R"({"errorRate":1})");
    if (k == 2 * kills / 3) Call(master_port, "POST", "/_faults", R"({"errorRate":0.2})");
    writ.Kill();
    writ.Restart();
    port = writ.port();
  }
  Call(master_port, "POST", "/_faults", R"({"errorRate":0.2})");
  stop = true;
  for (auto& c : clients) c.join();
  // Drain: every record leaves `pending` (the master's faults go on).
  auto settled = [&] {
    for (const char* path : {"/shop/orders", "/shop/lines"})
      for (const auto& r : EdgeRecords(port, path))
        if (r.at("syncStatus") == "pending") return false;
    return true;
  };
  if (!Eventually(settled, 120'000)) {
    for (const char* path : {"/shop/orders", "/shop/lines"})
      for (const auto& r : EdgeRecords(port, path))
        if (r.at("syncStatus") == "pending") ADD_FAILURE() << "still pending: " << json::serialize(r);
    auto subs = Call(port, "GET", "/v1/submissions?status=processing&limit=20");
    FAIL() << "every change reaches a final state; processing: " << subs.body;
  }

  std::map<std::string, json::object> orders, lines;  // by temporary id
  for (auto& r : EdgeRecords(port, "/shop/orders")) orders[std::string(r.at("id").as_string())] = r;
  for (auto& r : EdgeRecords(port, "/shop/lines")) lines[std::string(r.at("id").as_string())] = r;
  auto canonical = [](const json::object& r) {
    auto* c = r.if_contains("canonicalId");
    return c && c->is_string() ? std::string(c->get_string()) : "";
  };
  int acknowledged = 0;
  for (const auto& op : history) {
    if (op.order.empty()) continue;
    ++acknowledged;
    ASSERT_TRUE(orders.count(op.order)) << op.key << ": an acknowledged order is stored";
    const auto& order = orders[op.order];
    EXPECT_EQ(order.at("syncStatus"), "synced") << op.key << ": " << json::serialize(order);
    std::string cid = canonical(order);
    ASSERT_FALSE(cid.empty()) << op.key;
    auto at_master = ParseBody(Call(master_port, "GET", "/orders/" + cid));
    auto expected = order.at("data").as_object();
    expected["id"] = cid;
    EXPECT_EQ(at_master, json::value(expected)) << op.key << ": the master's order equals the local copy";
    if (op.changed) EXPECT_TRUE(expected.contains("placed")) << op.key << ": an acknowledged change is lost";
    for (const auto& l : op.lines) {
      ASSERT_TRUE(lines.count(l)) << op.key << ": an acknowledged line is stored";
      EXPECT_EQ(lines[l].at("syncStatus"), "synced") << op.key;
      auto line_at_master = ParseBody(Call(master_port, "GET", "/lines/" + canonical(lines[l])));
      EXPECT_EQ(line_at_master.as_object()["orderId"], json::value(cid))
          << op.key << ": the line points at its order's master id";
    }
  }
  // Nothing created twice: the master holds exactly the records Writ created.
  size_t created = 0;
  for (const auto* m : {&orders, &lines})
    for (const auto& [id, r] : *m) created += !canonical(r).empty();
  EXPECT_EQ(master.Stat("records"), static_cast<int64_t>(created)) << "a record was created twice, or not at all";
  EXPECT_EQ(master.Stat("duplicateApplies"), 0) << json::serialize(master.Stats()["duplicateKeys"]);
  auto log = Call(master_port, "GET", "/_log", "", {}, 30'000);
  ASSERT_EQ(log.status, 200) << log.body.substr(0, 300);
  auto log_body = ParseBody(log);
  for (const auto& e : log_body.as_object()["requests"].as_array())
    EXPECT_EQ(std::string(e.as_object().at("body").as_string()).find("tmp_"), std::string::npos)
        << "a temporary id reached the master: " << json::serialize(e);
  EXPECT_GT(acknowledged, 0) << "the run did some work";
  writ.Stop();
  std::printf("history edge: seed %llu, %d kills, %d orders acknowledged, %zu records created at the master, "
              "0 duplicates, 0 temporary ids\n",
              static_cast<unsigned long long>(seed), kills, acknowledged, created);
}

// Dual copy: three local clients write at local speed, each to ten records
// of its own and to a shared set of thirty, while an editor changes the
// master directly (thirty records of its own and the shared set); writ is
// killed at random and the master fails, drops and hangs writes. The route
// sends in batches (copy.sync) and lets the master win conflicts. Once both
// sides are quiet it is judged by reconciliation: the copy and the master
// are equal entity by entity. Besides: each local-only record holds its last
// acknowledged write at the master (or a later one whose answer was lost),
// each master-only record holds the editor's last edit in the copy, no
// record is left pending or held, and nothing was applied twice.
TEST(History, DualCopyBothSidesWritingThroughKillsEndEqual) {
  const uint64_t seed = Seed();
  const int kills = EnvInt("WRIT_HISTORY_KILLS", 10);
  const int max_ops = std::min(EnvInt("WRIT_HISTORY_OPS", 1500), 600);
  std::printf("history dual copy: seed %llu (rerun with WRIT_CHAOS_SEED=%llu), %d kills\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed), kills);
  TempDir dir;
  MockMasterProcess master;
  master.Start(dir.path(), {"--honor-idempotency-key", "--error-rate", "0.2", "--drop-after-commit", "0.1",
                            "--hang-rate", "0.05", "--hang-for", "700ms", "--seed", std::to_string(seed)});
  const uint16_t master_port = master.port();
  ASSERT_EQ(Call(master_port, "POST", "/_seed", R"({"collection":"customers","count":90})").status, 200);
  // cus_1..30 local only (ten per client), cus_31..60 master only, cus_61..90 both.
  auto id = [](int n) { return "cus_" + std::to_string(n); };
  RouteOptions route;
  route.method = "";
  route.path = "/customers";
  route.mode = "dual-copy";
  route.extra =
      "upstream_path: /customers\n"
      "async: {lease: 1500ms, poll_interval: 50ms, backoff_base: 20ms, backoff_max: 300ms}\n"
      "copy: {refresh: {path: \"/customers?updatedSince={cursor}&limit=500\", interval: 200ms, data: /data, "
      "lease: 2s}, max_staleness: 1m, on_conflict: master_wins, sync: {interval: 100ms, batch_size: 16, rate: 300}, "
      "reconcile: {path: \"/customers?after={after}&limit={limit}\", chunk: 25, ignore_fields: [/id]}}\n";
  WritProcess writ;
  writ.Start(dir.path(), master_port, {route}, "request_timeout: 500ms\nconnect_timeout: 200ms");
  std::atomic<uint16_t> port{writ.port()};
  ASSERT_TRUE(Eventually(
      [&] {
        auto r = Call(port, "GET", "/customers/cus_90");
        auto as_of = FindHeader(r.headers, "Writ-As-Of");
        return r.status == 200 && as_of && *as_of != "never";
      },
      30'000));

  auto name = [](const json::value& v) {
    auto* n = v.is_object() ? v.as_object().if_contains("name") : nullptr;
    return n && n->is_string() ? std::string(n->get_string()) : "";
  };
  // What a local-only record may end as: its name before the run, until a
  // write of it is acknowledged.
  std::map<int, std::set<std::string>> allowed;
  for (int rec = 1; rec <= 30; ++rec)
    allowed[rec] = {name(ParseBody(Call(master_port, "GET", "/customers/" + id(rec))))};
  struct LocalWrite {
    int record = 0;
    std::string name;
    OpResult result = OpResult::kUnknown;
  };
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<LocalWrite> writes;  // in each record's order: a record's writes come from one client, one at a time
  std::atomic<int> next{0};
  auto client = [&](int cid) {
    std::mt19937_64 rng(seed + cid);
    auto pause = [&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 40)(rng)));
    };
    for (int n; !stop && (n = next++) < max_ops;) {
      bool shared = rng() % 2 == 0;
      int rec = shared ? 61 + static_cast<int>(rng() % 30) : 1 + cid * 10 + static_cast<int>(rng() % 10);
      LocalWrite w{rec, "L" + std::to_string(n), OpResult::kUnknown};
      std::string body = R"({"name":")" + w.name + R"(","client":)" + std::to_string(cid) + "}";
      for (int attempt = 0; attempt < 12; ++attempt) {
        if (attempt > 0) pause();
        auto r = Call(port, "PUT", "/customers/" + id(rec), body,
                      {{"Content-Type", "application/json"}, {"Idempotency-Key", "cp-" + std::to_string(n)}});
        bool transient =
            r.status == 0 || r.status >= 500 || (r.status == 409 && ProblemType(r) == "idempotency-key-in-flight");
        if (transient) continue;
        w.result = r.status == 200 ? OpResult::kOk : OpResult::kFailed;
        break;
      }
      {
        std::lock_guard lock(mu);
        writes.push_back(w);
      }
      pause();
    }
  };
  // The editor at the master: retried under one key until the master takes
  // it, so its last edit of each record is known.
  std::map<int, std::string> edited;  // record -> the master's last edit (editor thread only until joined)
  auto editor = [&] {
    std::mt19937_64 rng(seed ^ 0x5eed);
    for (int n = 0; !stop; ++n) {
      int rec = 31 + static_cast<int>(rng() % 60);
      std::string edit = "M" + std::to_string(n);
      for (int attempt = 0; attempt < 100; ++attempt) {
        auto r = Call(master_port, "PUT", "/customers/" + id(rec), R"({"name":")" + edit + R"("})",
                      {{"Content-Type", "application/json"}, {"Idempotency-Key", "m-" + std::to_string(n)}});
        if (r.status == 200) {
          edited[rec] = edit;
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(10, 60)(rng)));
    }
  };
  std::vector<std::thread> threads;
  for (int c = 0; c < 3; ++c) threads.emplace_back(client, c);
  threads.emplace_back(editor);
  std::mt19937_64 rng(seed);
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 500)(rng)));
    writ.Kill();
    writ.Restart();
    port = writ.port();
  }
  stop = true;
  for (auto& t : threads) t.join();

  // Quiet: no local write left to send (the master's faults go on), then a
  // refresh pass that began after the last change at the master.
  auto records = [&] { return EdgeRecords(port, "/customers"); };
  auto settled = [&] {
    for (const auto& r : records())
      if (r.at("syncStatus") != "synced") return false;
    return true;
  };
  if (!Eventually(settled, 120'000)) {
    for (const auto& r : records())
      if (r.at("syncStatus") != "synced") ADD_FAILURE() << "not synced: " << json::serialize(r);
    FAIL() << "every local write reaches the master (master_wins holds nothing for an operator)";
  }
  const std::string quiet = FormatTimestamp(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  ASSERT_TRUE(Eventually(
      [&] {
        auto r = Call(port, "GET", "/customers/cus_1");
        auto as_of = FindHeader(r.headers, "Writ-As-Of");
        return as_of && std::string(*as_of) > quiet;
      },
      30'000))
      << "a refresh pass after the last change";

  std::string out;
  int rc = RunWrit({"reconcile", "/customers", "-c", writ.config_path(), "--json"}, &out);
  auto report = ParseJsonStrict(out.substr(std::min(out.find("{\"reconciliationId\""), out.size())));
  ASSERT_TRUE(report.ok()) << out;
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(report->as_object().at("compared").as_int64(), 90) << out;
  EXPECT_EQ(report->as_object().at("mismatches").as_int64(), 0) << "the copy equals the master: " << out;

  std::map<std::string, json::object> copy;
  for (auto& r : records()) copy[std::string(r.at("id").as_string())] = r;
  // Local-only records: the last acknowledged write, or one after it whose
  // answer was lost; the shared ones are judged by reconciliation alone.
  int acknowledged = 0, unknown = 0;
  for (const auto& w : writes) {
    if (w.record > 30) continue;
    auto& a = allowed[w.record];
    if (w.result == OpResult::kOk) a = {w.name}, ++acknowledged;
    if (w.result == OpResult::kUnknown) a.insert(w.name), ++unknown;
  }
  for (const auto& [rec, names] : allowed) {
    std::string at_master = name(ParseBody(Call(master_port, "GET", "/customers/" + id(rec))));
    EXPECT_TRUE(names.count(at_master)) << id(rec) << ": the master holds '" << at_master
                                        << "', not the last acknowledged local write";
  }
  for (const auto& [rec, last] : edited) {
    if (rec > 60) continue;
    ASSERT_TRUE(copy.count(id(rec))) << id(rec);
    EXPECT_EQ(name(copy[id(rec)].at("data")), last) << id(rec) << ": the copy holds the master's last edit";
  }
  EXPECT_EQ(master.Stat("duplicateApplies"), 0) << json::serialize(master.Stats()["duplicateKeys"]);
  EXPECT_GT(acknowledged, 0) << "the run did some work";
  EXPECT_FALSE(edited.empty());
  writ.Stop();
  std::printf(
      "history dual copy: seed %llu, %d kills, %zu local writes (%d acknowledged local-only, %d unknown), "
      "%zu records edited at the master, reconciliation equal, 0 duplicates\n",
      static_cast<unsigned long long>(seed), kills, writes.size(), acknowledged, unknown, edited.size());
}

// Sagas: four clients book trips (flight, hotel and car, each at a master
// of its own; 30% of the cars refused) while writ is killed at random and
// every master fails 20% of requests, drops 10% of answers after committing
// and hangs on 5%. Once every saga has ended, judged by the masters' logs:
// each saga ended succeeded or compensated (a refused car: compensated);
// no step and no compensation was applied twice; a compensation ran only
// for a step that was applied, the hotel's before the flight's; the masters
// hold exactly the three bookings of each succeeded saga.
TEST(History, SagasAcrossThreeMastersThroughKills) {
  const uint64_t seed = Seed();
  const int kills = EnvInt("WRIT_HISTORY_KILLS", 10);
  const int max_ops = std::min(EnvInt("WRIT_HISTORY_OPS", 1500), 150);
  std::printf("history saga: seed %llu (rerun with WRIT_CHAOS_SEED=%llu), %d kills\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed), kills);
  TempDir dir;
  const char* names[] = {"flights", "hotels", "cars"};
  MockMasterProcess masters[3];
  for (int m = 0; m < 3; ++m) {
    std::string sub = dir.path() + "/" + names[m];
    std::filesystem::create_directories(sub);
    masters[m].Start(sub, {"--honor-idempotency-key", "--error-rate", "0.2", "--drop-after-commit", "0.1",
                           "--hang-rate", "0.05", "--hang-for", "700ms", "--seed", std::to_string(seed + m)});
  }
  RouteOptions route;
  route.path = "/trips";
  route.mode = "saga";
  route.extra =
      "async: {lease: 1500ms, poll_interval: 50ms, backoff_base: 20ms, backoff_max: 300ms, max_attempts: 40}\n"
      "saga:\n"
      "  compensation_retry: 200ms\n"
      "  steps:\n"
      "    - {name: flight, path: /flights, body: {trip: '{{/input/trip}}'},\n"
      "       compensate: {path: '/flights/{{/steps/flight/body/id}}'}}\n"
      "    - {name: hotel, upstream: hotels, path: /hotels, body: {trip: '{{/input/trip}}'},\n"
      "       compensate: {path: '/hotels/{{/steps/hotel/body/id}}'}}\n"
      "    - {name: car, upstream: cars, path: /cars, body: {trip: '{{/input/trip}}', invalid: '{{/input/noCar}}'}}\n";
  WritProcess writ;
  writ.add_upstream("hotels", masters[1].port());
  writ.add_upstream("cars", masters[2].port());
  writ.Start(dir.path(), masters[0].port(), {route}, "request_timeout: 500ms\nconnect_timeout: 200ms");
  std::atomic<uint16_t> port{writ.port()};
  std::atomic<bool> stop{false};
  std::atomic<int> next{0};
  std::mutex mu;
  std::map<std::string, bool> acknowledged;  // saga id -> its car was refused
  auto client = [&](int cid) {
    std::mt19937_64 rng(seed * 31 + cid);
    for (int n; !stop && (n = next++) < max_ops;) {
      std::string key = "trip-" + std::to_string(n);
      bool no_car = std::uniform_int_distribution<int>(1, 10)(rng) <= 3;
      std::string body = "{\"trip\":\"" + key + "\",\"noCar\":" + (no_car ? "true" : "false") + "}";
      for (int attempt = 0; attempt < 12; ++attempt) {
        if (attempt > 0)
          std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 60)(rng)));
        auto r = PostJson(port, "/trips", key, body);
        if (r.status == 202) {
          std::lock_guard lock(mu);
          acknowledged[std::string(ParseBody(r).at("sagaId").as_string())] = no_car;
          break;
        }
        bool transient = r.status == 0 || r.status >= 500 ||
                         (r.status == 409 && ProblemType(r) == "idempotency-key-in-flight");
        ASSERT_TRUE(transient) << key << ": " << r.status << " " << r.body;
      }
    }
  };
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) clients.emplace_back(client, c);
  std::mt19937_64 rng(seed);
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 400)(rng)));
    writ.Kill();
    writ.Restart();
    port = writ.port();
  }
  stop = true;
  for (auto& c : clients) c.join();
  // Drain: every saga (acknowledged or not: a kill after the commit leaves
  // one the client never heard of) ends.
  json::array sagas;
  bool ended = Eventually(
      [&] {
        auto list = ParseBody(Call(port, "GET", "/v1/sagas?limit=1000"));
        if (!list.is_object()) return false;
        sagas = list.at("sagas").as_array();
        for (const auto& g : sagas)
          if (g.at("status") == "running" || g.at("status") == "compensating") return false;
        return true;
      },
      120'000);
  ASSERT_TRUE(ended) << "every saga ends; " << json::serialize(sagas).substr(0, 2000);
  std::map<std::string, std::string> status;  // saga id -> status
  for (const auto& g : sagas) status[std::string(g.at("sagaId").as_string())] = std::string(g.at("status").as_string());
  int succeeded = 0, compensated = 0;
  for (const auto& [id, st] : status) {
    EXPECT_TRUE(st == "succeeded" || st == "compensated") << id << ": " << st;
    succeeded += st == "succeeded";
    compensated += st == "compensated";
  }
  for (const auto& [id, no_car] : acknowledged) {
    ASSERT_TRUE(status.count(id)) << id << ": an acknowledged saga is stored";
    if (no_car) EXPECT_EQ(status[id], "compensated") << id << ": its car was refused";
  }
  // The masters' logs: per saga and step, when its booking and its
  // compensation were applied (2xx; a compensation's 404: nothing to undo).
  struct Seen {
    double booked = 0, undone = 0;
  };
  std::map<std::string, std::map<std::string, Seen>> by_saga;
  for (int m = 0; m < 3; ++m) {
    EXPECT_EQ(masters[m].Stat("duplicateApplies"), 0) << names[m] << ": " << json::serialize(masters[m].Stats());
    auto log = ParseBody(Call(masters[m].port(), "GET", "/_log", "", {}, 30'000));
    for (const auto& e : log.at("requests").as_array()) {
      std::string key(e.at("key").as_string());  // writ:{saga}:{step}[/compensate]
      int64_t code = e.at("status").as_int64();
      if (key.rfind("writ:", 0) != 0 || code >= 300) continue;
      std::string rest = key.substr(5);
      std::string saga = rest.substr(0, rest.find(':')), step = rest.substr(rest.find(':') + 1);
      bool undo = step.size() > 11 && step.compare(step.size() - 11, 11, "/compensate") == 0;
      if (undo) step.resize(step.size() - 11);
      auto& seen = by_saga[saga][step];
      double at = e.at("at").to_number<double>();
      (undo ? seen.undone : seen.booked) = at;
    }
  }
  for (const auto& [saga, steps] : by_saga) {
    for (const auto& [step, seen] : steps)
      if (seen.undone > 0)
        EXPECT_GT(seen.booked, 0) << saga << ": the compensation of '" << step << "' ran, but the step never applied";
    auto flight = steps.find("flight"), hotel = steps.find("hotel");
    if (flight != steps.end() && hotel != steps.end() && flight->second.undone > 0 && hotel->second.undone > 0)
      EXPECT_LT(hotel->second.undone, flight->second.undone) << saga << ": compensated in reverse order";
    if (status[saga] == "compensated")
      for (const auto& [step, seen] : steps)
        if (seen.booked > 0 && step != "car") EXPECT_GT(seen.undone, 0) << saga << ": '" << step << "' left booked";
  }
  int64_t records = 0;
  for (auto& m : masters) records += m.Stat("records");
  EXPECT_EQ(records, 3 * succeeded) << "the bookings of the succeeded sagas, nothing of the compensated ones";
  EXPECT_GT(succeeded, 0) << "the run did some work";
  EXPECT_GT(compensated, 0);
  writ.Stop();
  int refused = 0;
  for (const auto& [id, no_car] : acknowledged) refused += no_car;
  std::printf("history saga: seed %llu, %d kills, %zu sagas (%zu acknowledged, %d with a refused car): %d succeeded, "
              "%d compensated, 0 duplicates\n",
              static_cast<unsigned long long>(seed), kills, status.size(), acknowledged.size(), refused, succeeded,
              compensated);
}

}  // namespace
}  // namespace writ::testing
