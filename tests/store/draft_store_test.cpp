// The drafts' store contract, on SQLite and PostgreSQL with a fake clock:
// versions and conditional updates, keyed saves, the submit state machine
// (sync and async), erasure (the bytes leave a SQLite file) and GC.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "patterns/draft/draft_store.h"
#include "patterns/registry.h"
#include "store/store.h"
#include "testing/store_fixture.h"

namespace writ {
namespace {

constexpr const char* kRoute = "/applications/drafts";
constexpr Millis kRetention = 60'000;

class DraftStoreTest : public testing::StoreTest {
 protected:
  std::vector<SchemaStep> Schema() const override { return AllSchemaSteps(); }
  DraftStore drafts() { return DraftStore(store_->db()); }

  DraftSave Save(const std::string& id, const std::string& data, int64_t expected = 0, bool create = false) {
    DraftSave s;
    s.tenant = kDefaultTenant;
    s.route = kRoute;
    s.id = id;
    s.create = create;
    s.expected_version = expected;
    s.data = data;
    s.changed = "[]";
    s.retention = kRetention;
    s.keep_versions = 3;
    s.respond = [](const Draft& d) { return StoredResponse{create_status(d), {}, "v" + std::to_string(d.version)}; };
    return s;
  }
  static int create_status(const Draft& d) { return d.version == 1 ? 201 : 200; }
  DraftResult Create(const std::string& id, const std::string& data) {
    auto ds = drafts();
    auto r = SaveDraftSync(ds, Save(id, data, 0, true));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : DraftResult{};
  }
  DraftResult Update(const std::string& id, const std::string& data, int64_t expected) {
    auto ds = drafts();
    auto r = SaveDraftSync(ds, Save(id, data, expected));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : DraftResult{};
  }
  DraftKey Key(const std::string& key, const std::string& fp = "fp") {
    return DraftKey{true, key, fp, "{}", 60'000};
  }
  Result<DraftResult> Begin(const std::string& id, int64_t version, const std::string& key) {
    DraftSubmitBegin b;
    b.tenant = kDefaultTenant;
    b.route = kRoute;
    b.id = id;
    b.expected_version = version;
    b.key = Key(key);
    b.lease = 5'000;
    auto ds = drafts();
    return Wait<DraftResult>([&](auto cb) { ds.BeginSubmit(b, cb); });
  }
  Result<bool> Finish(const std::string& id, const std::string& key, int64_t fence, DraftSubmitFinish::Outcome o,
                      int status = 201) {
    DraftSubmitFinish f;
    f.tenant = kDefaultTenant;
    f.route = kRoute;
    f.id = id;
    f.key = key;
    f.fence = fence;
    f.outcome = o;
    f.answer = {status, {}, "{\"id\":\"app_1\"}"};
    f.canonical_id = "app_1";
    f.submitted_retention = 120'000;
    auto ds = drafts();
    return Wait<bool>([&](auto cb) { ds.FinishSubmit(f, cb); });
  }
  Draft Current(const std::string& id) {
    auto d = drafts().Get(kDefaultTenant, kRoute, id);
    EXPECT_TRUE(d.ok() && d->has_value());
    return d.ok() && d->has_value() ? **d : Draft{};
  }
};

TEST_P(DraftStoreTest, VersionsBumpByOneAndStaleWritesAreRefused) {
  auto c = Create("d_1", R"({"a":1})");
  ASSERT_EQ(c.status, DraftWrite::kDone);
  EXPECT_EQ(c.draft.version, 1);
  EXPECT_EQ(c.response.body, "v1");
  EXPECT_EQ(Update("d_1", R"({"a":2})", 1).draft.version, 2);
  auto stale = Update("d_1", R"({"a":3})", 1);
  EXPECT_EQ(stale.status, DraftWrite::kStale);
  EXPECT_EQ(stale.draft.version, 2) << "the refusal carries the current version";
  EXPECT_EQ(Current("d_1").data, R"({"a":2})") << "a stale write changes nothing";
  EXPECT_EQ(Update("d_1", R"({"a":3})", 0).draft.version, 3) << "expected 0: any version";
  EXPECT_EQ(Update("d_nope", "{}", 1).status, DraftWrite::kNotFound);
  // Scoped by tenant and route: another route cannot see it.
  EXPECT_FALSE(drafts().Get(kDefaultTenant, "/other", "d_1").value().has_value());
  EXPECT_FALSE(drafts().Get("acme", kRoute, "d_1").value().has_value());
}

TEST_P(DraftStoreTest, KeepsTheLastVersionsNewestFirst) {
  Create("d_1", R"({"v":1})");
  for (int v = 2; v <= 5; ++v) Update("d_1", "{\"v\":" + std::to_string(v) + "}", v - 1);
  auto versions = drafts().Versions(kDefaultTenant, kRoute, "d_1", 100);
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 3u) << "keep_versions: 3";
  EXPECT_EQ((*versions)[0].version, 5);
  EXPECT_EQ((*versions)[0].data, R"({"v":5})");
  EXPECT_EQ((*versions)[2].version, 3);
}

TEST_P(DraftStoreTest, AKeyedSaveReplaysItsFirstAnswerAfterTheVersionMoved) {
  Create("d_1", "{}");
  auto first = Save("d_1", R"({"a":1})", 1);
  first.key = Key("k1");
  auto ds = drafts();
  auto r = SaveDraftSync(ds, first);
  ASSERT_EQ(r->status, DraftWrite::kDone);
  Update("d_1", R"({"a":2})", 2);  // another tab moves the draft on
  auto again = SaveDraftSync(ds, first);
  ASSERT_EQ(again->status, DraftWrite::kKeyExists);
  EXPECT_EQ(again->existing.state, KeyState::kCompleted);
  EXPECT_EQ(again->existing.response.body, "v2") << "the first answer, not a 412";
  EXPECT_EQ(Current("d_1").version, 3) << "the retry applied nothing";
  // A keyed save that is refused leaves no record: a retry is judged afresh.
  auto stale = Save("d_1", R"({"a":9})", 1);
  stale.key = Key("k2");
  EXPECT_EQ(SaveDraftSync(ds, stale)->status, DraftWrite::kStale);
  EXPECT_FALSE(store_->keys().Lookup({kDefaultTenant, kRoute, "d_1:k2"}).value().has_value());
}

TEST_P(DraftStoreTest, ACreateBeyondTheTenantsLiveDraftsIsRefusedAndStoresNothing) {
  auto ds = drafts();
  auto create = [&](const std::string& id, const std::string& tenant, const std::string& route, const char* key) {
    auto s = Save(id, "{}", 0, true);
    s.tenant = tenant;
    s.route = route;
    s.max_live = 2;
    if (key) s.key = Key(key);
    auto r = SaveDraftSync(ds, s);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : DraftResult{};
  };
  EXPECT_EQ(create("d_1", kDefaultTenant, kRoute, nullptr).status, DraftWrite::kDone);
  EXPECT_EQ(create("d_2", kDefaultTenant, "/other/drafts", nullptr).status, DraftWrite::kDone)
      << "the limit is the tenant's, across routes";
  auto refused = create("d_3", kDefaultTenant, kRoute, "k3");
  ASSERT_EQ(refused.status, DraftWrite::kQuota);
  EXPECT_EQ(refused.live, 2);
  EXPECT_FALSE(drafts().Get(kDefaultTenant, kRoute, "d_3").value().has_value()) << "nothing stored";
  EXPECT_FALSE(store_->keys().Lookup({kDefaultTenant, kRoute, "create:k3"}).value().has_value())
      << "the key is given back: a retry is judged afresh";
  EXPECT_EQ(create("d_4", "acme", kRoute, nullptr).status, DraftWrite::kDone) << "another tenant has its own count";
  EXPECT_EQ(Update("d_1", R"({"a":1})", 1).status, DraftWrite::kDone) << "saves of existing drafts are not limited";
  // A submitted draft is no longer live: it frees a place.
  auto begun = Begin("d_1", 2, "s1");
  ASSERT_TRUE(begun.ok());
  EXPECT_EQ(create("d_5", kDefaultTenant, kRoute, nullptr).status, DraftWrite::kQuota) << "submitting is live";
  ASSERT_TRUE(Finish("d_1", "s1", begun->fence, DraftSubmitFinish::kSucceeded).value());
  EXPECT_EQ(create("d_5", kDefaultTenant, kRoute, "k3").status, DraftWrite::kDone);
}

TEST_P(DraftStoreTest, SyncSubmitFreezesTheDraftAndRecordsTheOutcome) {
  Create("d_1", R"({"a":1})");
  auto b = Begin("d_1", 1, "s1");
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->status, DraftWrite::kDone);
  EXPECT_EQ(b->fence, 1);
  EXPECT_EQ(Current("d_1").status, DraftStatus::kSubmitting);
  EXPECT_EQ(Update("d_1", "{}", 1).status, DraftWrite::kFrozen) << "saves are refused while submitting";
  EXPECT_EQ(Begin("d_1", 1, "s2")->status, DraftWrite::kNotOpen) << "another key cannot start a second submit";
  auto ds = drafts();
  EXPECT_EQ(EraseDraftSync(ds, kDefaultTenant, kRoute, "d_1")->status, DraftWrite::kFrozen);
  ASSERT_TRUE(*Finish("d_1", "s1", 1, DraftSubmitFinish::kSucceeded));
  Draft d = Current("d_1");
  EXPECT_EQ(d.status, DraftStatus::kSubmitted);
  EXPECT_EQ(d.canonical_id, "app_1");
  EXPECT_EQ(d.answer_status, 201);
  EXPECT_EQ(d.expires_at, clock_.NowMs() + 120'000) << "submitted_retention";
  auto replay = Begin("d_1", 1, "s1");
  EXPECT_EQ(replay->status, DraftWrite::kKeyExists);
  EXPECT_EQ(replay->existing.state, KeyState::kCompleted);
}

TEST_P(DraftStoreTest, RefusalReopensTheDraftAndAResubmitGetsANewUpstreamKey) {
  Create("d_1", R"({"a":1})");
  auto b = Begin("d_1", 1, "s1");
  std::string first_key = DraftStore::UpstreamKey(b->draft);
  ASSERT_TRUE(*Finish("d_1", "s1", 1, DraftSubmitFinish::kRefused, 422));
  Draft d = Current("d_1");
  EXPECT_EQ(d.status, DraftStatus::kOpen);
  EXPECT_EQ(d.answer_status, 422);
  EXPECT_EQ(d.submit_seq, 1);
  auto again = Begin("d_1", 1, "s2");
  ASSERT_EQ(again->status, DraftWrite::kDone);
  EXPECT_NE(DraftStore::UpstreamKey(again->draft), first_key) << "the master must not replay the refusal";
}

TEST_P(DraftStoreTest, ATransientEndReleasesAndACrashedHolderIsTakenOverOrParked) {
  Create("d_1", R"({"a":1})");
  auto b = Begin("d_1", 1, "s1");
  std::string upstream_key = DraftStore::UpstreamKey(b->draft);
  ASSERT_TRUE(*Finish("d_1", "s1", 1, DraftSubmitFinish::kRelease));
  EXPECT_EQ(Current("d_1").status, DraftStatus::kOpen);
  EXPECT_FALSE(store_->keys().Lookup({kDefaultTenant, kRoute, "d_1:s1"}).value().has_value());
  // A holder that died: its lease expires and the same key takes over, with
  // the same upstream key (the master dedupes the resend).
  auto again = Begin("d_1", 1, "s1");
  ASSERT_EQ(again->status, DraftWrite::kDone);
  EXPECT_EQ(Begin("d_1", 1, "s1")->status, DraftWrite::kKeyExists) << "a live lease: 409";
  clock_.Advance(5'001);
  auto take = Begin("d_1", 1, "s1");
  ASSERT_EQ(take->status, DraftWrite::kDone);
  EXPECT_TRUE(take->took_over);
  EXPECT_EQ(take->fence, 2);
  EXPECT_EQ(DraftStore::UpstreamKey(take->draft), upstream_key);
  EXPECT_FALSE(*Finish("d_1", "s1", 1, DraftSubmitFinish::kSucceeded)) << "the old holder is fenced out";
  EXPECT_EQ(Current("d_1").status, DraftStatus::kSubmitting);
  // At most once: an expired holder is parked, never resent.
  clock_.Advance(5'001);
  DraftSubmitBegin park;
  park.tenant = kDefaultTenant;
  park.route = kRoute;
  park.id = "d_1";
  park.key = Key("s1");
  park.park_on_takeover = true;
  auto ds = drafts();
  auto parked = Wait<DraftResult>([&](auto cb) { ds.BeginSubmit(park, cb); });
  EXPECT_EQ(parked->status, DraftWrite::kKeyExists);
  EXPECT_EQ(parked->existing.state, KeyState::kUnknown);
}

TEST_P(DraftStoreTest, AnUnknownOutcomeKeepsTheDraftFrozenForAResendUnderTheSameKey) {
  Create("d_1", R"({"a":1})");
  auto b = Begin("d_1", 1, "s1");
  std::string upstream_key = DraftStore::UpstreamKey(b->draft);
  ASSERT_TRUE(*Finish("d_1", "s1", 1, DraftSubmitFinish::kRetry));
  EXPECT_EQ(Current("d_1").status, DraftStatus::kSubmitting) << "maybe applied: no edit may follow";
  EXPECT_EQ(Update("d_1", R"({"a":2})", 1).status, DraftWrite::kFrozen);
  EXPECT_EQ(Begin("d_1", 1, "other")->status, DraftWrite::kNotOpen) << "another key would be a second submission";
  auto again = Begin("d_1", 1, "s1");
  ASSERT_EQ(again->status, DraftWrite::kDone) << "the same key resends at once (its key was freed)";
  EXPECT_EQ(DraftStore::UpstreamKey(again->draft), upstream_key) << "under the same upstream key";
  // The resend meets a transient refusal: that says nothing about the first
  // attempt, which may have applied, so the draft stays frozen.
  ASSERT_TRUE(*Finish("d_1", "s1", again->fence, DraftSubmitFinish::kRelease));
  EXPECT_EQ(Current("d_1").status, DraftStatus::kSubmitting);
  EXPECT_EQ(Begin("d_1", 1, "s1")->status, DraftWrite::kDone) << "and the same key resends again";
}

TEST_P(DraftStoreTest, AfterATakeoverOnlyAFinalAnswerReopensTheDraft) {
  Create("d_1", R"({"a":1})");
  ASSERT_EQ(Begin("d_1", 1, "s1")->status, DraftWrite::kDone);
  clock_.Advance(5'001);  // the holder died, perhaps after the master applied
  auto take = Begin("d_1", 1, "s1");
  ASSERT_TRUE(take->took_over);
  ASSERT_TRUE(*Finish("d_1", "s1", take->fence, DraftSubmitFinish::kRelease));
  EXPECT_EQ(Current("d_1").status, DraftStatus::kSubmitting) << "the dead holder's attempt may have applied";
  auto again = Begin("d_1", 1, "s1");
  ASSERT_TRUE(*Finish("d_1", "s1", again->fence, DraftSubmitFinish::kRefused, 422));
  EXPECT_EQ(Current("d_1").status, DraftStatus::kOpen) << "a final refusal does";
}

TEST_P(DraftStoreTest, AsyncSubmitQueuesTheRecordAndTheDraftFollowsItsSubmission) {
  Create("d_1", R"({"a":1})");
  DraftSubmitAccept a;
  a.tenant = kDefaultTenant;
  a.route = kRoute;
  a.id = "d_1";
  a.expected_version = 1;
  a.key = Key("s1");
  a.command.id = "sub_1";
  a.command.tenant = kDefaultTenant;
  a.command.route = kRoute;
  a.command.method = "POST";
  a.command.target = "/applications";
  a.respond = [](const Draft&, const Command& c) { return StoredResponse{202, {}, c.id}; };
  auto ds = drafts();
  auto r = Wait<DraftResult>([&](auto cb) { ds.AcceptSubmit(a, cb); });
  ASSERT_EQ(r->status, DraftWrite::kDone);
  auto cmd = store_->queue().GetCommand("sub_1").value();
  ASSERT_TRUE(cmd.has_value()) << "the command commits with the frozen draft";
  EXPECT_EQ(cmd->body, R"({"a":1})");
  EXPECT_EQ(cmd->upstream_key, DraftStore::UpstreamKey(r->draft));
  EXPECT_EQ(Current("d_1").submission_id, "sub_1");
  EXPECT_EQ(Wait<DraftResult>([&](auto cb) { ds.AcceptSubmit(a, cb); })->existing.response.body, "sub_1")
      << "a retry replays the 202";
  // The worker's terminal outcome moves the draft in the same transaction.
  auto claimed = ClaimCommandsSync(store_->queue(), kRoute, 1, 10'000);
  ASSERT_EQ(claimed->size(), 1u);
  AttemptOutcome o;
  o.id = "sub_1";
  o.fence = (*claimed)[0].fence;
  o.status = SubmissionStatus::kSucceeded;
  o.canonical_id = "app_9";
  o.response_status = 201;
  Millis now = clock_.NowMs();
  o.on_terminal = [&](sql::Conn& c) { return DraftStore::OnSubmissionFinished(c, o, now, 1'000); };
  ASSERT_TRUE(*FinishAttemptSync(store_->queue(), o));
  EXPECT_EQ(Current("d_1").status, DraftStatus::kSubmitted);
  EXPECT_EQ(Current("d_1").canonical_id, "app_9");

  // A submission cancelled before its first attempt reopens its draft.
  Create("d_2", R"({"b":1})");
  a.id = "d_2";
  a.key = Key("s2");
  a.command.id = "sub_2";
  ASSERT_EQ(Wait<DraftResult>([&](auto cb) { ds.AcceptSubmit(a, cb); })->status, DraftWrite::kDone);
  ASSERT_EQ(*CancelSync(store_->queue(), "sub_2", false, 60'000), ActionResult::kDone);
  EXPECT_EQ(Current("d_2").status, DraftStatus::kOpen) << "never attempted, so never applied";
  EXPECT_EQ(Update("d_2", R"({"b":2})", 1).status, DraftWrite::kDone) << "and it can be saved again";
}

TEST_P(DraftStoreTest, EraseAndGcRemoveTheDraftItsVersionsAndItsReplayRecords) {
  Create("d_1", R"({"a":1})");
  auto keyed = Save("d_1", R"({"a":2})", 1);
  keyed.key = Key("k1");
  auto ds = drafts();
  ASSERT_EQ(SaveDraftSync(ds, keyed)->status, DraftWrite::kDone);
  EXPECT_EQ(EraseDraftSync(ds, kDefaultTenant, kRoute, "d_1", 1)->status, DraftWrite::kStale);
  ASSERT_EQ(EraseDraftSync(ds, kDefaultTenant, kRoute, "d_1", 2)->status, DraftWrite::kDone);
  EXPECT_FALSE(drafts().Get(kDefaultTenant, kRoute, "d_1").value().has_value());
  EXPECT_TRUE(drafts().Versions(kDefaultTenant, kRoute, "d_1", 10).value().empty());
  EXPECT_FALSE(store_->keys().Lookup({kDefaultTenant, kRoute, "d_1:k1"}).value().has_value());
  EXPECT_EQ(EraseDraftSync(ds, kDefaultTenant, kRoute, "d_1")->status, DraftWrite::kNotFound);

  // GC erases idle drafts past their retention, never one submitting.
  store_->AddCollector(&DraftStore::EraseExpired, true);
  Create("d_idle", "{}");
  Create("d_busy", "{}");
  ASSERT_EQ(Begin("d_busy", 1, "s")->status, DraftWrite::kDone);
  clock_.Advance(kRetention - 1);
  ASSERT_TRUE(CollectGarbageSync(*store_, 100).ok());
  EXPECT_TRUE(drafts().Get(kDefaultTenant, kRoute, "d_idle").value().has_value());
  clock_.Advance(1);
  ASSERT_TRUE(CollectGarbageSync(*store_, 100).ok());
  EXPECT_FALSE(drafts().Get(kDefaultTenant, kRoute, "d_idle").value().has_value());
  EXPECT_TRUE(drafts().Get(kDefaultTenant, kRoute, "d_busy").value().has_value());
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// SQLite: after an erasure (and after GC of an idle draft) the draft's
// content is in neither the database file nor its WAL.
TEST_P(DraftStoreTest, ErasedBytesLeaveTheSqliteFileAndItsWal) {
  if (backend() != testing::Backend::kSqlite) GTEST_SKIP() << "PostgreSQL: see the README on erasure and VACUUM";
  std::string path = url_.substr(7);
  const std::string canary = "CANARY-7f3e9a1c-erase-me";
  Create("d_1", "{\"notes\":\"" + canary + " v1\"}");
  for (int v = 2; v <= 4; ++v) Update("d_1", "{\"notes\":\"" + canary + " v" + std::to_string(v) + "\"}", v - 1);
  auto keyed = Save("d_1", "{\"notes\":\"" + canary + " keyed\"}", 4);
  keyed.key = Key("k1");
  keyed.respond = [](const Draft& d) { return StoredResponse{200, {}, d.data}; };  // the answer holds the content
  auto ds = drafts();
  ASSERT_EQ(SaveDraftSync(ds, keyed)->status, DraftWrite::kDone);
  std::string before = FileBytes(path) + FileBytes(path + "-wal");
  ASSERT_NE(before.find(canary), std::string::npos) << "the canary must be on disk first";

  ASSERT_EQ(EraseDraftSync(ds, kDefaultTenant, kRoute, "d_1")->status, DraftWrite::kDone);
  ASSERT_TRUE(CollectGarbageSync(*store_, 100).ok());
  std::string after = FileBytes(path) + FileBytes(path + "-wal");
  EXPECT_EQ(after.find(canary), std::string::npos) << "erased bytes remain in the database file or its WAL";

  // The same for a draft erased by GC after its retention.
  store_->AddCollector(&DraftStore::EraseExpired, true);
  Create("d_2", "{\"notes\":\"" + canary + " idle\"}");
  ASSERT_NE((FileBytes(path) + FileBytes(path + "-wal")).find(canary), std::string::npos);
  clock_.Advance(kRetention);
  ASSERT_TRUE(CollectGarbageSync(*store_, 100).ok());
  after = FileBytes(path) + FileBytes(path + "-wal");
  EXPECT_EQ(after.find(canary), std::string::npos) << "GC left the idle draft's bytes on disk";
}

INSTANTIATE_TEST_SUITE_P(Backends, DraftStoreTest, ::testing::ValuesIn(testing::AllBackends()),
                         [](const ::testing::TestParamInfo<testing::Backend>& i) {
                           return std::string(testing::BackendName(i.param));
                         });

}  // namespace
}  // namespace writ
