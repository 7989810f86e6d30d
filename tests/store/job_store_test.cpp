// The buffered-jobs contract on SQLite and PostgreSQL with a fake clock: item
// keys and duplicates, the buffer bound, producer sequences, what finishing
// an item does to its key and the buffer, replay, pause and GC.
#include <gtest/gtest.h>

#include "store/store.h"
#include "testing/cluster.h"
#include "testing/postgres.h"
#include "testing/store_fixture.h"

namespace writ {
namespace {

constexpr const char* kRoute = "bulk";

class JobStoreTest : public testing::StoreTest {
 protected:
  JobAcceptRequest Job(const std::string& id, const std::vector<std::string>& keys, int64_t max_pending = 0) {
    JobAcceptRequest r;
    r.job_id = id;
    r.tenant = "default";
    r.route = kRoute;
    r.method = "POST";
    r.target = "/bulk";
    r.total_items = static_cast<int64_t>(keys.size());
    for (size_t i = 0; i < keys.size(); ++i)
      r.items.push_back({static_cast<int64_t>(i), keys[i], "{\"k\":\"" + keys[i] + "\"}", "writ-" + keys[i]});
    r.max_pending = max_pending;
    r.dedup_window = 60'000;
    r.retention = 600'000;
    r.respond = [](const JobSummary& s) {
      return StoredResponse{202, {{"Location", "/v1/jobs/" + s.job_id}}, "{\"jobId\":\"" + s.job_id + "\"}"};
    };
    return r;
  }
  JobAcceptResult Accept(JobAcceptRequest r) {
    auto out = AcceptJobSync(store_->jobs(), std::move(r));
    EXPECT_TRUE(out.ok()) << out.status().message();
    return out.ok() ? *out : JobAcceptResult{};
  }
  int64_t Pending() { return store_->jobs().GetBuffer(kRoute).value().pending; }
  std::vector<Command> Claim(int limit = 100) { return ClaimCommandsSync(store_->queue(), kRoute, limit, 5'000).value(); }
  void Finish(const Command& c, SubmissionStatus s, bool outcome_unknown = false) {
    AttemptOutcome o;
    o.id = c.id;
    o.fence = c.fence;
    o.status = s;
    o.event = false;
    o.outcome_unknown = outcome_unknown;
    ASSERT_TRUE(FinishAttemptSync(store_->queue(), o).value());
  }
};

TEST_P(JobStoreTest, DuplicateKeysWithinAndAcrossJobsAreRecordedNotQueued) {
  auto a = Accept(Job("job_a", {"x", "y", "x"}));
  ASSERT_EQ(a.status, JobAcceptStatus::kAccepted);
  EXPECT_EQ(a.summary.accepted, 2);
  EXPECT_EQ(a.summary.duplicates, 1);
  EXPECT_EQ(a.summary.duplicate_positions, std::vector<int64_t>{2});
  EXPECT_EQ(a.response.status, 202);
  auto b = Accept(Job("job_b", {"y", "z"}));
  EXPECT_EQ(b.summary.accepted, 1) << "y is queued in job_a";
  EXPECT_EQ(Pending(), 3);
  auto job = store_->jobs().GetJob("job_a").value();
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->queued, 2);
  EXPECT_EQ(job->duplicates, 1);
  EXPECT_EQ(job->ahead, 2);
  EXPECT_EQ(store_->jobs().GetJob("job_b").value()->ahead, 3) << "job_a's items drain first";
  CommandFilter f;
  f.job_id = "job_a";
  auto items = store_->queue().ListCommands(f).value();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2].status, SubmissionStatus::kDuplicate);
  EXPECT_EQ(items[2].item_key, "x");
}

// Tenants: an item key and its dedup window are the tenant's own, and lists
// filtered by tenant show only its jobs and submissions (the status API's
// scope for a caller's key).
TEST_P(JobStoreTest, ItemKeysAndListsAreEachTenantsOwn) {
  ASSERT_EQ(Accept(Job("job_a", {"x"})).summary.accepted, 1);
  auto globex = Job("job_g", {"x", "y"});
  globex.tenant = "globex";
  auto g = Accept(std::move(globex));
  EXPECT_EQ(g.summary.accepted, 2) << "x of tenant default is not globex's x";
  EXPECT_EQ(g.summary.duplicates, 0);
  JobFilter jf;
  jf.tenant = "globex";
  auto jobs = store_->jobs().ListJobs(jf).value();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, "job_g");
  jf.tenant = "";
  EXPECT_EQ(store_->jobs().ListJobs(jf).value().size(), 2u) << "no tenant: every tenant's";
  CommandFilter cf;
  cf.tenant = "globex";
  auto cmds = store_->queue().ListCommands(cf).value();
  ASSERT_EQ(cmds.size(), 2u);
  for (const auto& c : cmds) EXPECT_EQ(c.tenant, "globex");
  cf.status = SubmissionStatus::kAccepted;
  cf.tenant = "default";
  EXPECT_EQ(store_->queue().ListCommands(cf).value().size(), 1u);
  cf.tenant = "nobody";
  EXPECT_TRUE(store_->queue().ListCommands(cf).value().empty());
}

TEST_P(JobStoreTest, SuccessKeepsTheKeyForTheWindowAndFailureGivesItUp) {
  Accept(Job("job_a", {"ok", "bad", "gone"}));
  auto claimed = Claim();
  ASSERT_EQ(claimed.size(), 3u);
  Finish(claimed[0], SubmissionStatus::kSucceeded);
  Finish(claimed[1], SubmissionStatus::kFailed);
  Finish(claimed[2], SubmissionStatus::kDead);
  EXPECT_EQ(Pending(), 0);
  auto job = store_->jobs().GetJob("job_a").value();
  EXPECT_EQ(job->succeeded, 1);
  EXPECT_EQ(job->failed, 1);
  EXPECT_EQ(job->dead, 1);
  EXPECT_EQ(job->remaining(), 0);
  auto again = Accept(Job("job_b", {"ok", "bad", "gone"}));
  EXPECT_EQ(again.summary.accepted, 2) << "failed and dead items gave their keys up";
  EXPECT_EQ(again.summary.duplicate_positions, std::vector<int64_t>{0});
  // Past the dedup window the succeeded key is free again, before GC runs.
  clock_.Advance(60'001);
  EXPECT_EQ(Accept(Job("job_c", {"ok"})).summary.accepted, 1);
}

TEST_P(JobStoreTest, ABatchThatDoesNotFitStoresNothing) {
  Accept(Job("job_a", {"a", "b", "c"}, 4));
  auto full = Accept(Job("job_b", {"d", "e"}, 4));
  EXPECT_EQ(full.status, JobAcceptStatus::kFull);
  EXPECT_EQ(full.pending, 3);
  EXPECT_FALSE(store_->jobs().GetJob("job_b").value().has_value());
  EXPECT_EQ(Pending(), 3);
  auto claimed = Claim(1);
  Finish(claimed[0], SubmissionStatus::kSucceeded);
  EXPECT_EQ(Accept(Job("job_b", {"d"}, 4)).status, JobAcceptStatus::kAccepted);
}

TEST_P(JobStoreTest, ProducerSequences) {
  auto send = [&](const std::string& id, int64_t seq) {
    auto r = Job(id, {id});
    r.producer_id = "p";
    r.producer_seq = seq;
    return Accept(std::move(r));
  };
  EXPECT_EQ(send("job_1", 10).status, JobAcceptStatus::kAccepted) << "a new producer starts anywhere";
  auto dup = send("job_x", 10);
  EXPECT_EQ(dup.status, JobAcceptStatus::kProducerReplay);
  EXPECT_NE(dup.response.body.find("job_1"), std::string::npos);
  auto gap = send("job_y", 12);
  EXPECT_EQ(gap.status, JobAcceptStatus::kProducerGap);
  EXPECT_EQ(gap.expected_seq, 11);
  EXPECT_EQ(send("job_2", 11).status, JobAcceptStatus::kAccepted);
  EXPECT_FALSE(store_->jobs().GetJob("job_x").value().has_value());
  EXPECT_EQ(store_->jobs().GetJob("job_2").value()->producer_seq, 11);
}

TEST_P(JobStoreTest, ReplayHoldsBackItemsThatMayHaveBeenAppliedUnlessAllowed) {
  Accept(Job("job_a", {"k1", "k2"}));
  auto claimed = Claim();
  ASSERT_EQ(claimed.size(), 2u);
  Finish(claimed[0], SubmissionStatus::kDead, /*outcome_unknown=*/true);  // its answer was lost
  Finish(claimed[1], SubmissionStatus::kFailed);
  auto lost = store_->queue().GetCommand(claimed[0].id).value();
  EXPECT_EQ(lost->unknown_attempt, 1) << "the attempt whose outcome was unknown";
  auto n = ReplayJobSync(store_->jobs(), "job_a", /*allow_unknown=*/false);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->requeued, 1);
  EXPECT_EQ(n->held, 1);
  EXPECT_EQ(store_->queue().GetCommand(claimed[0].id).value().value().status, SubmissionStatus::kDead)
      << "held back: the master may have applied it";
  EXPECT_EQ(RedriveSync(store_->queue(), claimed[0].id, false).value(), ActionResult::kPossiblyApplied);
  auto forced = ReplayJobSync(store_->jobs(), "job_a", /*allow_unknown=*/true);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->requeued, 1);
  EXPECT_EQ(forced->held, 0);
  auto again = store_->queue().GetCommand(claimed[0].id).value();
  EXPECT_EQ(again->status, SubmissionStatus::kAccepted);
  EXPECT_EQ(again->unknown_attempt, 0) << "a new series of attempts";
}

TEST_P(JobStoreTest, ReplayRequeuesFailedItemsUnlessTheirKeyWasTaken) {
  Accept(Job("job_a", {"k1", "k2"}));
  auto claimed = Claim();
  Finish(claimed[0], SubmissionStatus::kFailed);
  Finish(claimed[1], SubmissionStatus::kDead);
  Accept(Job("job_b", {"k2"}));  // k2 was given up; another job holds it now
  auto n = ReplayJobSync(store_->jobs(), "job_a");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->requeued, 1);
  EXPECT_EQ(n->held, 0);
  auto job = store_->jobs().GetJob("job_a").value();
  EXPECT_EQ(job->queued, 1);
  CommandFilter f;
  f.job_id = "job_a";
  f.status = SubmissionStatus::kDuplicate;
  EXPECT_EQ(store_->queue().ListCommands(f).value().size(), 1u) << "k2 became a duplicate, never to be sent twice";
  EXPECT_EQ(Pending(), 2);
}

TEST_P(JobStoreTest, PauseIsDurableAndGcDeletesFinishedJobsAndExpiredKeys) {
  ASSERT_TRUE(SetPausedSync(store_->jobs(), kRoute, true).value());
  EXPECT_TRUE(store_->jobs().GetBuffer(kRoute).value().paused);
  Accept(Job("job_a", {"a"}));
  Accept(Job("job_b", {"b"}));
  auto claimed = Claim();
  ASSERT_EQ(claimed.size(), 2u) << "pausing is the worker's business; the store still hands items out";
  Finish(claimed[0], SubmissionStatus::kSucceeded);
  clock_.Advance(600'001);
  ASSERT_TRUE(CollectGarbageSync(*store_, 100).ok());
  EXPECT_FALSE(store_->jobs().GetJob("job_a").value().has_value()) << "finished and past retention";
  EXPECT_TRUE(store_->jobs().GetJob("job_b").value().has_value()) << "an unfinished job stays";
  EXPECT_EQ(Accept(Job("job_c", {"a"})).summary.accepted, 1);
  EXPECT_TRUE(store_->jobs().GetBuffer(kRoute).value().paused);
}


INSTANTIATE_TEST_SUITE_P(Backends, JobStoreTest, ::testing::ValuesIn(testing::AllBackends()),
                         [](const ::testing::TestParamInfo<testing::Backend>& i) {
                           return std::string(testing::BackendName(i.param));
                         });

}  // namespace
}  // namespace writ
