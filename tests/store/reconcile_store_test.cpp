// The reconciliation store's contract, on SQLite and PostgreSQL with a fake
// clock: a run's chunks commit their counts, mismatches and checkpoint
// together under the runner's lease; a runner that lost its lease commits
// nothing; a run whose runner died is resumed from its checkpoint once the
// lease ran out, by one runner only; the report pages its mismatches in the
// order they were found.
#include <gtest/gtest.h>

#include "patterns/copy/reconcile_store.h"
#include "store/store.h"
#include "testing/store_fixture.h"

namespace writ {
namespace {

constexpr const char* kRoute = "/customers";
constexpr Millis kLease = 10'000;

class ReconcileStoreTest : public testing::StoreTest {
 protected:
  ReconcileStore recs() { return ReconcileStore(store_->db()); }
  Reconciliation Started(const std::string& owner, const std::string& repair = "report") {
    auto r = recs().Create(kRoute, repair, false, "cli", owner, kLease);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : Reconciliation{};
  }
  static ReconcileChunk Chunk(const std::string& checkpoint, int64_t compared, std::vector<Mismatch> found = {}) {
    ReconcileChunk c;
    c.checkpoint = checkpoint;
    c.compared = compared;
    c.mismatches = std::move(found);
    return c;
  }
};

TEST_P(ReconcileStoreTest, AChunkCommitsItsCountsMismatchesAndCheckpointTogether) {
  Reconciliation r = Started("a");
  EXPECT_EQ(r.status, "running");
  EXPECT_EQ(r.checkpoint, "");
  auto one = recs().Commit(r.id, "a",
                           Chunk("cus_1000", 998,
                                 {{"cus_17", MismatchKind::kDiffer, "/name,/balance", false, 0},
                                  {"cus_18", MismatchKind::kMissingLocal, "", false, 0}}),
                           kLease);
  ASSERT_TRUE(one.ok()) << one.status().message();
  ReconcileChunk second = Chunk("cus_2000", 1000, {{"cus_1500", MismatchKind::kMissingMaster, "", true, 0}});
  second.skipped = 2;
  second.repaired = 1;
  auto two = recs().Commit(r.id, "a", second, kLease);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->checkpoint, "cus_2000");
  EXPECT_EQ(two->chunks, 2);
  EXPECT_EQ(two->compared, 1998);
  EXPECT_EQ(two->skipped, 2);
  EXPECT_EQ(two->missing_local, 1);
  EXPECT_EQ(two->missing_master, 1);
  EXPECT_EQ(two->differ, 1);
  EXPECT_EQ(two->repaired, 1);
  EXPECT_EQ(two->mismatches(), 3);

  // The report pages the mismatches in the order they were found.
  auto page = recs().Mismatches(r.id, 0, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].entity, "cus_17");
  EXPECT_EQ((*page)[0].kind, MismatchKind::kDiffer);
  EXPECT_EQ((*page)[0].pointers, "/name,/balance");
  EXPECT_EQ((*page)[1].entity, "cus_18");
  auto rest = recs().Mismatches(r.id, page->back().seq, 10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].entity, "cus_1500");
  EXPECT_EQ((*rest)[0].kind, MismatchKind::kMissingMaster);
  EXPECT_TRUE((*rest)[0].repaired);

  auto done = recs().Finish(r.id, "a", "");
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->status, "done");
  EXPECT_NE(done->finished_at, 0);
  auto failed = recs().Finish(Started("b").id, "b", "listing the master: connection refused");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->status, "failed");
  EXPECT_EQ(failed->error, "listing the master: connection refused");
}

TEST_P(ReconcileStoreTest, ARunnerThatLostItsLeaseCommitsNothing) {
  Reconciliation r = Started("a");
  ASSERT_TRUE(recs().Commit(r.id, "a", Chunk("cus_10", 10), kLease).ok());
  clock_.Advance(kLease + 1);  // runner a is presumed dead; b resumes
  auto resumed = recs().Resume(kRoute, "b", kLease);
  ASSERT_TRUE(resumed.ok() && resumed->has_value());
  EXPECT_EQ((*resumed)->checkpoint, "cus_10") << "resumed from its checkpoint";
  EXPECT_EQ((*resumed)->compared, 10);

  // a was only slow: its next chunk and its finish are refused, and change nothing.
  auto late =
      recs().Commit(r.id, "a", Chunk("cus_20", 10, {{"cus_15", MismatchKind::kDiffer, "/x", false, 0}}), kLease);
  EXPECT_EQ(late.status().code(), Code::kConflict);
  EXPECT_EQ(recs().Finish(r.id, "a", "").status().code(), Code::kConflict);
  auto now = recs().Get(r.id);
  ASSERT_TRUE(now.ok() && now->has_value());
  EXPECT_EQ((*now)->checkpoint, "cus_10");
  EXPECT_EQ((*now)->compared, 10);
  EXPECT_EQ((*now)->status, "running");
  EXPECT_TRUE(recs().Mismatches(r.id, 0, 10)->empty());
  // b goes on from there.
  ASSERT_TRUE(recs().Commit(r.id, "b", Chunk("cus_20", 10), kLease).ok());
  EXPECT_EQ(recs().Finish(r.id, "b", "")->status, "done");
}

TEST_P(ReconcileStoreTest, ARunIsResumedOnlyOnceItsLeaseRanOutAndByOneRunner) {
  Reconciliation r = Started("a");
  ASSERT_TRUE(recs().Commit(r.id, "a", Chunk("cus_5", 5), kLease).ok());
  auto early = recs().Resume(kRoute, "b", kLease);
  ASSERT_TRUE(early.ok());
  EXPECT_FALSE(early->has_value()) << "a chunk renewed the lease: its runner is alive";
  clock_.Advance(kLease / 2);
  ASSERT_TRUE(recs().Commit(r.id, "a", Chunk("cus_9", 4), kLease).ok());  // renewed again
  clock_.Advance(kLease / 2 + 1);
  EXPECT_FALSE(recs().Resume(kRoute, "b", kLease)->has_value());
  clock_.Advance(kLease);
  auto b = recs().Resume(kRoute, "b", kLease);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->owner, "b");
  EXPECT_EQ((*b)->checkpoint, "cus_9");
  auto c = recs().Resume(kRoute, "c", kLease);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_value()) << "b holds it now";
  // A finished run is never resumed; another route's runs are not this route's.
  ASSERT_TRUE(recs().Finish(r.id, "b", "").ok());
  clock_.Advance(kLease + 1);
  EXPECT_FALSE(recs().Resume(kRoute, "c", kLease)->has_value());
  ASSERT_TRUE(recs().Create("/prices", "report", false, "cli", "p", kLease).ok());
  clock_.Advance(kLease + 1);
  EXPECT_FALSE(recs().Resume(kRoute, "c", kLease)->has_value());
}

TEST_P(ReconcileStoreTest, RunsAreListedNewestFirstByRoute) {
  Reconciliation first = Started("a");
  clock_.Advance(1000);
  auto other = recs().Create("/prices", "master-wins", true, "api", "p", kLease);
  ASSERT_TRUE(other.ok());
  clock_.Advance(1000);
  Reconciliation second = Started("b", "restore");
  auto mine = recs().List(kRoute, 10);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].id, second.id);
  EXPECT_EQ((*mine)[0].repair, "restore");
  EXPECT_EQ((*mine)[1].id, first.id);
  auto all = recs().List("", 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  EXPECT_TRUE((*all)[1].dry_run);
  EXPECT_EQ((*all)[1].trigger, "api");
  EXPECT_EQ(recs().List("", 1)->size(), 1u);
  EXPECT_EQ(recs().LastStarted(kRoute).value(), second.created_at);
  EXPECT_EQ(recs().LastStarted("/nothing").value(), 0);
  EXPECT_FALSE(recs().Get("rec_nope")->has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, ReconcileStoreTest, ::testing::ValuesIn(testing::AllBackends()),
                         [](const ::testing::TestParamInfo<testing::Backend>& i) {
                           return std::string(testing::BackendName(i.param));
                         });

}  // namespace
}  // namespace writ
