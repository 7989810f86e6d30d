// The store contract, on SQLite and PostgreSQL with a fake clock: claims,
// completion, fencing, lease takeover, parking, GC, concurrency, durability.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "metrics/metrics.h"
#include "patterns/registry.h"
#include "store/store.h"
#include "testing/cluster.h"
#include "testing/postgres.h"
#include "testing/store_fixture.h"

namespace writ {
namespace {

class KeyStoreTest : public testing::StoreTest {
 protected:
  ClaimRequest Req(const std::string& key, const std::string& fp = "fp1") {
    ClaimRequest r;
    r.id = {"default", "POST /orders", key};
    r.fingerprint = fp;
    r.fingerprint_detail = "{}";
    r.lease = 5'000;
    r.retention = 60'000;
    return r;
  }
  StoredResponse Answer() { return {201, {{"Content-Type", "application/json"}}, "{\"id\":\"ord_1\"}"}; }
};

TEST_P(KeyStoreTest, ClaimCompleteAndLookup) {
  auto c = ClaimSync(store_->keys(), Req("k1"));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->claimed);
  EXPECT_EQ(c->fence, 1);
  auto again = ClaimSync(store_->keys(), Req("k1"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->claimed) << "a live in-flight key cannot be claimed twice";
  EXPECT_EQ(again->existing.state, KeyState::kInFlight);

  ASSERT_TRUE(*CompleteSync(store_->keys(), Req("k1").id, 1, Answer(), 60'000));
  auto rec = store_->keys().Lookup(Req("k1").id);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->state, KeyState::kCompleted);
  EXPECT_EQ((*rec)->response.status, 201);
  EXPECT_EQ((*rec)->response.body, "{\"id\":\"ord_1\"}");
  EXPECT_EQ((*rec)->response.headers, Answer().headers);
  EXPECT_EQ((*rec)->expires_at, clock_.NowMs() + 60'000);
}

// The completer's work list: orphans (in flight, lease over) and unknown
// keys whose next probe is due, per route and state, oldest first.
TEST_P(KeyStoreTest, DueListsOrphansAndUnknownKeysWhoseProbeIsDue) {
  auto& keys = store_->keys();
  ASSERT_TRUE(ClaimSync(keys, Req("live"))->claimed);
  clock_.Advance(1'000);
  ASSERT_TRUE(ClaimSync(keys, Req("orphan"))->claimed);
  ASSERT_TRUE(ClaimSync(keys, Req("done"))->claimed);
  ASSERT_TRUE(*CompleteSync(keys, Req("done").id, 1, Answer(), 60'000));
  ASSERT_TRUE(ClaimSync(keys, Req("parked"))->claimed);
  ASSERT_TRUE(*MarkUnknownSync(keys, Req("parked").id, 1));
  auto other = Req("elsewhere");
  other.id.route = "POST /payments";
  ASSERT_TRUE(ClaimSync(keys, other)->claimed);

  auto names = [&](KeyState st) {
    std::vector<std::string> out;
    auto due = keys.Due("POST /orders", st, 10);
    EXPECT_TRUE(due.ok()) << due.status().message();
    if (due.ok())
      for (const auto& r : *due) out.push_back(r.id.key);
    return out;
  };
  EXPECT_TRUE(names(KeyState::kInFlight).empty()) << "leases still run";
  EXPECT_EQ(names(KeyState::kUnknown), std::vector<std::string>{"parked"}) << "parking makes the probe due at once";
  clock_.Advance(4'000);  // "live"'s lease (5 s from t=0) is over, "orphan"'s (from t=1 s) not yet
  EXPECT_EQ(names(KeyState::kInFlight), std::vector<std::string>{"live"});
  clock_.Advance(1'000);
  EXPECT_EQ(names(KeyState::kInFlight), (std::vector<std::string>{"live", "orphan"}));

  // A deferred probe is due again at its time; a resolved key is no one's work.
  ASSERT_TRUE(*Wait<bool>([&](auto cb) { keys.DeferProbe(Req("parked").id, clock_.NowMs() + 2'000, cb); }));
  EXPECT_TRUE(names(KeyState::kUnknown).empty());
  clock_.Advance(2'000);
  EXPECT_EQ(names(KeyState::kUnknown), std::vector<std::string>{"parked"});
  ASSERT_TRUE(*ResolveSync(keys, Req("parked").id, true, Answer(), 60'000));
  EXPECT_TRUE(names(KeyState::kUnknown).empty());
  EXPECT_FALSE(*Wait<bool>([&](auto cb) { keys.DeferProbe(Req("parked").id, 0, cb); }))
      << "only an unknown key's probe can be deferred";
  // Parking an orphan with the fence read is what the completer does; a
  // client's retry that took it over first (new fence) wins.
  ASSERT_TRUE(ClaimSync(keys, Req("orphan"))->claimed);
  EXPECT_FALSE(*MarkUnknownSync(keys, Req("orphan").id, 1));
  ASSERT_TRUE(*MarkUnknownSync(keys, Req("live").id, 1));
  EXPECT_EQ(names(KeyState::kUnknown), std::vector<std::string>{"live"});
}

// On retry routes the claim keeps the request; the completer reads it with
// the orphan, takes the key over with the fence it read (a client's retry
// that came first wins) and completes it. A completed record keeps no request.
TEST_P(KeyStoreTest, AnOrphansRequestIsKeptForTheCompleterAndGoneOnceCompleted) {
  auto& keys = store_->keys();
  auto req = Req("orphan");
  req.request = std::string("POST /orders\nContent-Type: application/json\n\n{\"a\":1}") + '\0' + "end";
  ASSERT_TRUE(ClaimSync(keys, req)->claimed);
  auto bare = Req("bare");
  ASSERT_TRUE(ClaimSync(keys, bare)->claimed);
  clock_.Advance(5'000);
  auto due = keys.Due("POST /orders", KeyState::kInFlight, 10);
  ASSERT_TRUE(due.ok() && due->size() == 2u);
  EXPECT_EQ((*due)[0].request, req.request) << "bytes as claimed, a NUL included";
  EXPECT_EQ((*due)[1].request, "") << "none kept";

  IdempotencyRecord orphan = (*due)[0];
  ASSERT_TRUE(*Wait<bool>([&](auto cb) { keys.TakeOver(orphan, 5'000, cb); }));
  EXPECT_FALSE(*Wait<bool>([&](auto cb) { keys.TakeOver(orphan, 5'000, cb); })) << "the fence moved on";
  auto rec = keys.Lookup(req.id);
  EXPECT_EQ((*rec)->fence, 2);
  EXPECT_EQ((*rec)->attempts, 2);
  EXPECT_EQ((*rec)->lease_until, clock_.NowMs() + 5'000);
  EXPECT_TRUE(keys.Due("POST /orders", KeyState::kInFlight, 10)->size() == 1u) << "its new lease runs";
  EXPECT_FALSE(*CompleteSync(keys, req.id, 1, Answer(), 60'000)) << "the dead holder's fence";
  ASSERT_TRUE(*CompleteSync(keys, req.id, 2, Answer(), 60'000));
  // A later record of the key (after the retention) starts with no request.
  clock_.Advance(60'000);
  auto again = Req("orphan");
  ASSERT_TRUE(ClaimSync(keys, again)->claimed);
  clock_.Advance(5'000);
  due = keys.Due("POST /orders", KeyState::kInFlight, 10);
  ASSERT_TRUE(due.ok());
  for (const auto& r : *due) EXPECT_EQ(r.request, "") << r.id.key;

  // A client retry that took the orphan over first: the completer's takeover loses.
  ASSERT_TRUE(ClaimSync(keys, bare)->claimed);
  for (const auto& r : *due)
    if (r.id.key == "bare") EXPECT_FALSE(*Wait<bool>([&](auto cb) { keys.TakeOver(r, 5'000, cb); }));
}

// API keys share the store: by id, revoked once, ended no later than
// asked, last use recorded.
TEST_P(KeyStoreTest, ApiKeysAreFoundByIdRevokedOnceAndEndedByRotation) {
  auto& keys = store_->api_keys();
  ApiKeyRecord a;
  a.id = "a1b2c3d4e5f6";
  a.digest = std::string(64, 'd');
  a.tenant = "acme";
  a.roles = 5;
  a.name = "billing";
  ASSERT_TRUE(*CreateApiKeySync(keys, a));
  EXPECT_FALSE(*CreateApiKeySync(keys, a)) << "an id is taken once";
  clock_.Advance(10);
  ApiKeyRecord b = a;
  b.id = "ffffffffffff";
  b.expires_at = clock_.NowMs() + 1'000;
  ASSERT_TRUE(*CreateApiKeySync(keys, b));
  auto got = keys.Get(a.id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->digest, a.digest);
  EXPECT_EQ((*got)->tenant, "acme");
  EXPECT_EQ((*got)->roles, 5u);
  EXPECT_EQ((*got)->name, "billing");
  EXPECT_EQ((*got)->expires_at, 0);
  EXPECT_TRUE((*got)->Usable(clock_.NowMs()));
  EXPECT_FALSE(keys.Get("000000000000")->has_value());
  auto all = keys.List();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, b.id) << "newest first";

  ASSERT_TRUE(*RevokeApiKeySync(keys, a.id));
  EXPECT_FALSE(*RevokeApiKeySync(keys, a.id)) << "once";
  EXPECT_EQ((*keys.Get(a.id))->revoked_at, clock_.NowMs());
  EXPECT_FALSE((*keys.Get(a.id))->Usable(clock_.NowMs()));
  ASSERT_TRUE(*EndApiKeyBySync(keys, b.id, clock_.NowMs() + 5'000));
  EXPECT_EQ((*keys.Get(b.id))->expires_at, clock_.NowMs() + 1'000) << "an end is never pushed later";
  ASSERT_TRUE(*EndApiKeyBySync(keys, b.id, clock_.NowMs() + 100));
  EXPECT_EQ((*keys.Get(b.id))->expires_at, clock_.NowMs() + 100);
  clock_.Advance(100);
  EXPECT_FALSE((*keys.Get(b.id))->Usable(clock_.NowMs()));
  ASSERT_TRUE(*Wait<bool>([&](auto cb) { keys.Touch(b.id, cb); }));
  EXPECT_EQ((*keys.Get(b.id))->last_used_at, clock_.NowMs());
}

TEST_P(KeyStoreTest, ACompletedRecordPastItsRetentionIsAbsentAndTheKeyStartsAnew) {
  auto first = Req("k1");
  auto c = ClaimSync(store_->keys(), first);
  ASSERT_TRUE(c->claimed);
  EXPECT_EQ(c->generation, "") << "a key's first record";
  ASSERT_TRUE(*CompleteSync(store_->keys(), first.id, 1, Answer(), 60'000));
  clock_.Advance(59'999);
  ASSERT_TRUE(store_->keys().Lookup(first.id)->has_value()) << "live until its deadline";
  clock_.Advance(1);
  EXPECT_FALSE(store_->keys().Lookup(first.id)->has_value()) << "retention is a deadline: not replayed after it";
  // A claim, even with another fingerprint, starts a new record in its place:
  // a new generation, and a fence past the old one's.
  auto second = Req("k1", "fp2");
  auto again = ClaimSync(store_->keys(), second);
  ASSERT_TRUE(again.ok()) << again.status().message();
  ASSERT_TRUE(again->claimed);
  EXPECT_FALSE(again->took_over);
  EXPECT_EQ(again->fence, 2);
  EXPECT_EQ(again->generation, "1");
  EXPECT_FALSE(*CompleteSync(store_->keys(), first.id, 1, Answer(), 60'000)) << "the old fence writes nothing";
  auto rec = store_->keys().Lookup(first.id);
  ASSERT_TRUE(rec->has_value());
  EXPECT_EQ((*rec)->state, KeyState::kInFlight);
  EXPECT_EQ((*rec)->fingerprint, "fp2");
  EXPECT_EQ((*rec)->attempts, 1);
  EXPECT_EQ((*rec)->generation, "1");
  // A takeover of that record keeps its generation: the same derived key.
  clock_.Advance(5'000);
  auto take = ClaimSync(store_->keys(), Req("k1", "fp2"));
  ASSERT_TRUE(take->claimed);
  EXPECT_TRUE(take->took_over);
  EXPECT_EQ(take->generation, "1");
  // Unknown records never expire on look-up.
  ASSERT_TRUE(*MarkUnknownSync(store_->keys(), first.id, take->fence));
  clock_.Advance(10 * 60'000);
  EXPECT_TRUE(store_->keys().Lookup(first.id)->has_value());
}

TEST_P(KeyStoreTest, KeysAreScopedByTenantAndRoute) {
  auto a = Req("same");
  auto b = Req("same");
  b.id.route = "POST /payments";
  auto c = Req("same");
  c.id.tenant = "acme";
  EXPECT_TRUE(ClaimSync(store_->keys(), a)->claimed);
  EXPECT_TRUE(ClaimSync(store_->keys(), b)->claimed);
  EXPECT_TRUE(ClaimSync(store_->keys(), c)->claimed);
}

TEST_P(KeyStoreTest, ExpiredLeaseIsTakenOverAndStaleHolderIsFenced) {
  ASSERT_TRUE(ClaimSync(store_->keys(), Req("k1"))->claimed);
  clock_.Advance(4'999);
  EXPECT_FALSE(ClaimSync(store_->keys(), Req("k1"))->claimed);
  clock_.Advance(1);
  auto take = ClaimSync(store_->keys(), Req("k1"));
  ASSERT_TRUE(take->claimed);
  EXPECT_TRUE(take->took_over);
  EXPECT_EQ(take->fence, 2);
  // The crashed-but-alive first holder finishes late: rejected.
  EXPECT_FALSE(*CompleteSync(store_->keys(), Req("k1").id, 1, Answer(), 60'000));
  EXPECT_TRUE(*CompleteSync(store_->keys(), Req("k1").id, 2, Answer(), 60'000));
  EXPECT_EQ((*store_->keys().Lookup(Req("k1").id))->attempts, 2);
}

TEST_P(KeyStoreTest, ExpiredLeaseWithOtherFingerprintIsNotTakenOver) {
  ASSERT_TRUE(ClaimSync(store_->keys(), Req("k1", "fpA"))->claimed);
  clock_.Advance(10'000);
  auto other = ClaimSync(store_->keys(), Req("k1", "fpB"));
  EXPECT_FALSE(other->claimed);
  EXPECT_EQ(other->existing.fingerprint, "fpA");
}

TEST_P(KeyStoreTest, ParkOnTakeoverMarksUnknownAndNeverReleases) {
  ASSERT_TRUE(ClaimSync(store_->keys(), Req("k1"))->claimed);
  clock_.Advance(10'000);
  auto req = Req("k1");
  req.park_on_takeover = true;
  auto r = ClaimSync(store_->keys(), req);
  EXPECT_FALSE(r->claimed);
  EXPECT_EQ(r->existing.state, KeyState::kUnknown);
  clock_.Advance(365LL * 86'400'000);
  EXPECT_EQ(*CollectGarbageSync(*store_, 100), 0) << "unknown outcomes wait for an operator";
  EXPECT_FALSE(ClaimSync(store_->keys(), Req("k1"))->claimed);
  EXPECT_TRUE(*RemoveSync(store_->keys(), Req("k1").id));
  EXPECT_TRUE(ClaimSync(store_->keys(), Req("k1"))->claimed);
}

TEST_P(KeyStoreTest, ReleaseAndMarkUnknownNeedTheFence) {
  ASSERT_TRUE(ClaimSync(store_->keys(), Req("k1"))->claimed);
  EXPECT_FALSE(*ReleaseSync(store_->keys(), Req("k1").id, 7));
  EXPECT_TRUE(*ReleaseSync(store_->keys(), Req("k1").id, 1));
  EXPECT_FALSE(store_->keys().Lookup(Req("k1").id)->has_value());
  ASSERT_TRUE(ClaimSync(store_->keys(), Req("k2"))->claimed);
  EXPECT_FALSE(*MarkUnknownSync(store_->keys(), Req("k2").id, 9));
  EXPECT_TRUE(*MarkUnknownSync(store_->keys(), Req("k2").id, 1));
  EXPECT_EQ((*store_->keys().Lookup(Req("k2").id))->state, KeyState::kUnknown);
}

TEST_P(KeyStoreTest, ARetryAfterAReleaseKeepsTheGenerationAndAnotherRequestGetsANewOne) {
  auto first = Req("k1");
  ASSERT_TRUE(ClaimSync(store_->keys(), first)->claimed);
  ASSERT_TRUE(*ReleaseSync(store_->keys(), first.id, 1));
  // The client retries the same request: same derived key at the master, in
  // case the "not applied" answer was wrong.
  auto again = ClaimSync(store_->keys(), Req("k1"));
  ASSERT_TRUE(again->claimed);
  EXPECT_EQ(again->fence, 2);
  EXPECT_EQ(again->generation, "");
  EXPECT_FALSE(*CompleteSync(store_->keys(), first.id, 1, Answer(), 60'000)) << "the released holder is fenced out";
  ASSERT_TRUE(*ReleaseSync(store_->keys(), first.id, 2));
  // Another request under the key: a new record, as if the key were unused.
  auto fresh = ClaimSync(store_->keys(), Req("k1", "fp-other"));
  ASSERT_TRUE(fresh->claimed);
  EXPECT_EQ(fresh->generation, "1");
  EXPECT_EQ(fresh->fence, 3);
}

TEST_P(KeyStoreTest, GarbageCollectionRemovesExpiredRecordsAndNothingElse) {
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(ClaimSync(store_->keys(), Req("old" + std::to_string(i)))->claimed);
    ASSERT_TRUE(*CompleteSync(store_->keys(), Req("old" + std::to_string(i)).id, 1, Answer(), 1'000));
  }
  ASSERT_TRUE(ClaimSync(store_->keys(), Req("young"))->claimed);
  ASSERT_TRUE(*CompleteSync(store_->keys(), Req("young").id, 1, Answer(), 120'000));
  auto live = Req("live-in-flight");
  live.retention = 500;  // retention shorter than its lease: must still survive while leased
  ASSERT_TRUE(ClaimSync(store_->keys(), live)->claimed);
  ASSERT_TRUE(ClaimSync(store_->keys(), Req("parked"))->claimed);
  ASSERT_TRUE(*MarkUnknownSync(store_->keys(), Req("parked").id, 1));

  EXPECT_EQ(*CollectGarbageSync(*store_, 10), 0) << "nothing has expired yet";
  clock_.Advance(1'000);
  EXPECT_EQ(*CollectGarbageSync(*store_, 10), 10) << "batches are bounded";
  EXPECT_EQ(*CollectGarbageSync(*store_, 10), 10);
  EXPECT_EQ(*CollectGarbageSync(*store_, 10), 5);
  EXPECT_EQ(*CollectGarbageSync(*store_, 10), 0);
  auto counts = store_->keys().Counts();
  EXPECT_EQ(counts->completed, 1);
  EXPECT_EQ(counts->in_flight, 1);
  EXPECT_EQ(counts->unknown, 1);
  // Past its retention a record loses its answer and stays a tombstone for
  // as long again: its generation numbers the key's next record.
  auto tombs = store_->keys().List(KeyState::kExpired, "", 100);
  ASSERT_EQ(tombs->size(), 25u);
  EXPECT_TRUE((*tombs)[0].response.body.empty()) << "no answer is kept";
  EXPECT_FALSE(store_->keys().Lookup(Req("old0").id)->has_value());
  auto reused = ClaimSync(store_->keys(), Req("old0"));
  ASSERT_TRUE(reused->claimed);
  EXPECT_EQ(reused->generation, "1");
  ASSERT_TRUE(*CompleteSync(store_->keys(), Req("old0").id, reused->fence, Answer(), 120'000));
  clock_.Advance(1'000);
  EXPECT_EQ(*CollectGarbageSync(*store_, 100), 24) << "the other tombstones go after another retention";
  EXPECT_EQ(*CollectGarbageSync(*store_, 100), 0)
      << "an in-flight record whose holder died may have been sent: never collected (a retry or the completer "
         "settles it); nor an unknown one";
  EXPECT_EQ(store_->keys().Counts()->in_flight, 1);
  EXPECT_EQ(store_->keys().Counts()->unknown, 1);
  EXPECT_TRUE(store_->keys().Lookup(Req("young").id)->has_value());
  // A released record (the master said "not applied") is collected after its retention.
  ASSERT_TRUE(ClaimSync(store_->keys(), Req("refused"))->claimed);
  ASSERT_TRUE(*ReleaseSync(store_->keys(), Req("refused").id, 1));
  clock_.Advance(60'000);
  EXPECT_EQ(*CollectGarbageSync(*store_, 100), 1) << "refused; young and old0 are still within their retention";
  EXPECT_EQ(store_->keys().List(KeyState::kExpired, "", 100)->size(), 1u);
}

TEST_P(KeyStoreTest, ConcurrentClaimsOfOneKeyHaveOneWinner) {
  std::atomic<int> winners{0}, losers{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&] {
      auto r = ClaimSync(store_->keys(), Req("contended"));
      ASSERT_TRUE(r.ok());
      (r->claimed ? winners : losers)++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners, 1);
  EXPECT_EQ(losers, 31);
}

TEST_P(KeyStoreTest, ManyWritersShareCommits) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto key = "t" + std::to_string(t) + "-" + std::to_string(i);
        ASSERT_TRUE(ClaimSync(store_->keys(), Req(key))->claimed);
        ASSERT_TRUE(*CompleteSync(store_->keys(), Req(key).id, 1, Answer(), 60'000));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store_->keys().Counts()->completed, 1600);
}

TEST_P(KeyStoreTest, CommittedRecordsSurviveReopen) {
  ASSERT_TRUE(ClaimSync(store_->keys(), Req("k1"))->claimed);
  ASSERT_TRUE(*CompleteSync(store_->keys(), Req("k1").id, 1, Answer(), 60'000));
  ASSERT_TRUE(ClaimSync(store_->keys(), Req("k2"))->claimed);
  store_.reset();
  Open();
  EXPECT_EQ((*store_->keys().Lookup(Req("k1").id))->state, KeyState::kCompleted);
  EXPECT_EQ((*store_->keys().Lookup(Req("k2").id))->state, KeyState::kInFlight);
  auto list = store_->keys().List(KeyState::kInFlight, "", 10);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id.key, "k2");
}

TEST_P(KeyStoreTest, PingSucceedsOnAnOpenStore) { EXPECT_TRUE(store_->Ping().ok()); }

TEST_P(KeyStoreTest, StoresSqlMetacharactersVerbatim) {
  std::string evil = "'); DROP TABLE idem_keys; --\"";
  ASSERT_TRUE(ClaimSync(store_->keys(), Req(evil))->claimed);
  auto rec = store_->keys().Lookup(Req(evil).id);
  ASSERT_TRUE(rec->has_value());
  EXPECT_EQ((*rec)->id.key, evil);
  EXPECT_EQ(store_->keys().Counts()->in_flight, 1);
}

TEST(SqliteStore, RefusesANewerSchema) {
  testing::TempDir dir;
  StoreOptions o;
  o.url = "sqlite:" + dir.path() + "/w.db";
  o.schema = AllSchemaSteps();
  { ASSERT_TRUE(OpenStore(o).ok()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/w.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = OpenStore(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("newer"), std::string::npos);
}

TEST(SqliteStore, CheckpointsRunBesideTheWriterAndKeepTheWalBounded) {
  // ~16 MB of answers over 400 commits: the WAL crosses the checkpoint
  // threshold (1,000 pages) several times; the checkpointer thread must copy
  // the pages into the database file while writes go on, so the WAL restarts
  // instead of growing to hold everything.
  testing::TempDir dir;
  Metrics metrics;
  StoreOptions o;
  o.url = "sqlite:" + dir.path() + "/w.db";
  o.metrics = &metrics;
  o.schema = AllSchemaSteps();
  auto store = OpenStore(o);
  ASSERT_TRUE(store.ok()) << store.status().message();
  std::string body(40'000, 'x');
  for (int i = 0; i < 400; ++i) {
    ClaimRequest r;
    r.id = {"default", "POST /orders", "k" + std::to_string(i)};
    r.fingerprint = "fp";
    r.fingerprint_detail = "{}";
    r.lease = 5'000;
    r.retention = 60'000;
    ASSERT_TRUE(ClaimSync((*store)->keys(), r)->claimed);
    ASSERT_TRUE(*CompleteSync((*store)->keys(), r.id, 1, {201, {}, body}, 60'000));
  }
  auto& checkpoints = metrics.GetCounter("writ_store_checkpoints_total", "");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto db_bytes = [&] { return std::filesystem::file_size(dir.path() + "/w.db"); };
  while ((checkpoints.Value() == 0 || db_bytes() <= 8u << 20) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(checkpoints.Value(), 1u);
  EXPECT_GT(db_bytes(), 8u << 20) << "the answers reached the database file";
  EXPECT_LT(std::filesystem::file_size(dir.path() + "/w.db-wal"), 12u << 20) << "the WAL restarted";
  // Everything committed is readable, and survives a reopen.
  store->reset();
  auto again = OpenStore(o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->keys().Counts()->completed, 400);
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyStoreTest, ::testing::ValuesIn(testing::AllBackends()),
                         [](const ::testing::TestParamInfo<testing::Backend>& i) {
                           return std::string(testing::BackendName(i.param));
                         });

}  // namespace
}  // namespace writ
