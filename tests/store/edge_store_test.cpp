// The edge routes' store contract, on SQLite and PostgreSQL with a fake
// clock: local writes and their queued changes (create, update, delete),
// coalescing into unsent changes only, preconditions, keys, both ids, and
// the record following its changes' outcomes; a dual copy's refresh
// (the master's states into the copy, the refresh's lease and cursor).
#include <gtest/gtest.h>

#include "patterns/copy/copy_store.h"
#include "patterns/local_copy/edge_store.h"
#include "patterns/registry.h"
#include "store/store.h"
#include "testing/store_fixture.h"

namespace writ {
namespace {

constexpr const char* kRoute = "/orders";

class EdgeStoreTest : public testing::StoreTest {
 protected:
  EdgeStore records() { return EdgeStore(store_->db()); }

  EdgeWrite Write(EdgeWrite::Kind kind, const std::string& id, const std::string& data, int64_t expected = 0) {
    EdgeWrite w;
    w.kind = kind;
    w.tenant = kDefaultTenant;
    w.route = kRoute;
    w.id = id;
    w.data = data;
    w.expected_version = expected;
    w.collection = "/api/orders";
    w.command.id = "sub_" + std::to_string(++commands_);
    w.command.upstream_key = "k" + std::to_string(commands_);
    w.respond = [](const EdgeRecord& r) { return StoredResponse{201, {}, "v" + std::to_string(r.version)}; };
    return w;
  }
  EdgeWriteResult Do(EdgeWrite w) {
    auto es = records();
    auto r = EdgeWriteSync(es, std::move(w));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : EdgeWriteResult{};
  }
  EdgeRecord Current(const std::string& id) {
    auto r = records().Get(kDefaultTenant, kRoute, id);
    EXPECT_TRUE(r.ok() && r->has_value()) << id;
    return r.ok() && r->has_value() ? **r : EdgeRecord{};
  }
  std::vector<Command> Changes() {
    CommandFilter f;
    f.route = kRoute;
    auto rows = store_->queue().ListCommands(f);
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<Command>{};
  }
  std::vector<Command> Claim() {
    auto c = ClaimCommandsSync(store_->queue(), kRoute, 10, 30'000);
    EXPECT_TRUE(c.ok());
    return c.ok() ? *c : std::vector<Command>{};
  }
  // Records `cmd`'s outcome as the worker does, the record following it.
  void Finish(const Command& cmd, SubmissionStatus status, int answer, const std::string& canonical = "",
              Headers headers = {}) {
    Answer(cmd, status, answer, answer ? R"({"detail":"from the master"})" : "", std::move(headers), canonical);
  }
  // Records `cmd`'s outcome with the master's answer `body`, under `policy`.
  void Answer(const Command& cmd, SubmissionStatus status, int answer, const std::string& body, Headers headers = {},
              const std::string& canonical = "", ConflictPolicy policy = ConflictPolicy::kManual) {
    AttemptOutcome o;
    o.id = cmd.id;
    o.fence = cmd.fence;
    o.status = status;
    o.response_status = answer;
    o.response_headers = std::move(headers);
    o.response_body = body;
    o.canonical_id = canonical;
    o.error = status == SubmissionStatus::kSucceeded ? "" : "it did not work";
    Store* s = store_.get();
    EdgeSyncRules rules{policy, "PUT"};
    o.on_terminal = [o, s, rules](sql::Conn& c) { return EdgeStore::OnChangeFinished(c, o, s->Now(), rules); };
    auto r = FinishAttemptSync(store_->queue(), o);
    ASSERT_TRUE(r.ok() && *r) << (r.ok() ? "fenced out" : r.status().message());
  }
  // A record created and synced as `ord_9` (master ETag "m1").
  void Synced(const std::string& id, const std::string& data) {
    Do(Write(EdgeWrite::kCreate, id, data));
    Finish(Claim()[0], SubmissionStatus::kSucceeded, 201, "ord_9", {{"ETag", "\"m1\""}});
    ASSERT_EQ(Current(id).sync_status, SyncStatus::kSynced);
  }
  // An update of a synced record that the master refuses with 412, with a
  // write that came meanwhile; returns the queued read of the master's version.
  Command Conflicted(const std::string& id, ConflictPolicy policy) {
    Do(Write(EdgeWrite::kReplace, id, R"({"total":2})"));
    auto update = Claim();
    EXPECT_EQ(update.size(), 1u);
    Do(Write(EdgeWrite::kReplace, id, R"({"total":3})"));  // queued behind the update on the wire
    Answer(update.at(0), SubmissionStatus::kFailed, 412, R"({"title":"changed"})", {}, "", policy);
    auto read = Claim();
    EXPECT_EQ(read.size(), 1u) << "only the read of the master's version is left; the later write was cancelled";
    if (read.empty()) return {};
    EXPECT_EQ(read[0].method, "GET");
    EXPECT_EQ(read[0].target, "/api/orders/{id}");
    return read[0];
  }
  EdgeResolveStatus Resolve(EdgeResolve::Action action, const std::string& id) {
    EdgeResolve req;
    req.action = action;
    req.tenant = kDefaultTenant;
    req.route = kRoute;
    req.id = id;
    req.command.id = "sub_r" + std::to_string(++commands_);
    auto r = records().Resolve(req);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : EdgeResolveStatus::kNotFound;
  }
  int commands_ = 0;
};

TEST_P(EdgeStoreTest, ACreateQueuesItsWholeStateAndUnsentChangesAreCoalesced) {
  auto c = Do(Write(EdgeWrite::kCreate, "tmp_1", R"({"total":1})"));
  ASSERT_EQ(c.status, EdgeWriteStatus::kDone);
  EXPECT_TRUE(c.queued);
  EXPECT_EQ(c.record.version, 1);
  EXPECT_EQ(c.record.sync_status, SyncStatus::kPending);
  EXPECT_EQ(c.record.pending, 1);
  EXPECT_EQ(c.response.body, "v1");
  for (int v = 2; v <= 50; ++v) {
    auto u = Do(Write(EdgeWrite::kReplace, "tmp_1", "{\"total\":" + std::to_string(v) + "}"));
    ASSERT_EQ(u.status, EdgeWriteStatus::kDone);
    EXPECT_TRUE(u.coalesced);
  }
  auto changes = Changes();
  ASSERT_EQ(changes.size(), 1u) << "50 writes to an unsent record: one create";
  EXPECT_EQ(changes[0].method, "POST");
  EXPECT_EQ(changes[0].target, "/api/orders");
  EXPECT_EQ(changes[0].body, R"({"total":50})") << "the latest whole state";
  EXPECT_EQ(changes[0].ordering_key, "tmp_1");
  EXPECT_EQ(Current("tmp_1").version, 50);
}

TEST_P(EdgeStoreTest, AChangeInFlightOrWithAnUnknownOutcomeIsNeverAltered) {
  Do(Write(EdgeWrite::kCreate, "tmp_1", R"({"total":1})"));
  auto held = Claim();
  ASSERT_EQ(held.size(), 1u);
  auto u = Do(Write(EdgeWrite::kReplace, "tmp_1", R"({"total":2})"));
  EXPECT_FALSE(u.coalesced) << "the create is being sent: its body stays";
  auto changes = Changes();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].body, R"({"total":1})");
  EXPECT_EQ(changes[1].method, "PUT");
  EXPECT_EQ(changes[1].target, "/api/orders/{id}") << "the master's id is put in when it is sent";
  EXPECT_EQ(Current("tmp_1").pending, 2);
  // The create's outcome is unknown: a retry may meet the key at the master.
  AttemptOutcome o;
  o.id = held[0].id;
  o.fence = held[0].fence;
  o.status = SubmissionStatus::kProcessing;
  o.outcome_unknown = true;
  o.next_attempt_at = store_->Now();
  ASSERT_TRUE(FinishAttemptSync(store_->queue(), o).value());
  // The update waits behind it (same record); a write coalesces into the
  // update, never into the create whose key the master may know.
  auto u2 = Do(Write(EdgeWrite::kReplace, "tmp_1", R"({"total":3})"));
  EXPECT_TRUE(u2.coalesced);
  changes = Changes();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].body, R"({"total":1})");
  EXPECT_EQ(changes[1].body, R"({"total":3})");
  auto next = Claim();
  ASSERT_EQ(next.size(), 1u) << "one change per record at a time";
  EXPECT_EQ(next[0].id, changes[0].id);
}

// A write that came while the create was being sent queued an update; the
// master was down (certainly not applied): the create takes the latest
// state and the update is folded into it, so the master gets one request.
TEST_P(EdgeStoreTest, AWriteDuringAFailedSendIsFoldedIntoTheRetry) {
  Do(Write(EdgeWrite::kCreate, "tmp_1", R"({"total":1})"));
  auto held = Claim();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_FALSE(Do(Write(EdgeWrite::kReplace, "tmp_1", R"({"total":2})")).coalesced);
  AttemptOutcome o;
  o.id = held[0].id;
  o.fence = held[0].fence;
  o.status = SubmissionStatus::kProcessing;
  o.next_attempt_at = store_->Now();
  o.error = "connection refused";
  o.on_retry = [o, this](sql::Conn& c) { return EdgeStore::OnChangeRetried(c, o, store_->Now()); };
  ASSERT_TRUE(FinishAttemptSync(store_->queue(), o).value());
  auto changes = Changes();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].method, "POST");
  EXPECT_EQ(changes[0].body, R"({"total":2})") << "the retry carries the latest state";
  EXPECT_EQ(changes[1].status, SubmissionStatus::kCancelled);
  EXPECT_EQ(changes[1].last_error, "folded into " + changes[0].id);
  EXPECT_EQ(Current("tmp_1").pending, 1);
  EXPECT_TRUE(Do(Write(EdgeWrite::kReplace, "tmp_1", R"({"total":3})")).coalesced);
}

TEST_P(EdgeStoreTest, TheRecordFollowsItsChangesAndIsFoundByEitherId) {
  Do(Write(EdgeWrite::kCreate, "tmp_1", R"({"total":1})"));
  auto create = Claim();
  Do(Write(EdgeWrite::kReplace, "tmp_1", R"({"total":2})"));
  Finish(create[0], SubmissionStatus::kSucceeded, 201, "ord_9", {{"ETag", "\"m1\""}});
  auto r = Current("ord_9");
  EXPECT_EQ(r.id, "tmp_1") << "the canonical id resolves to the record";
  EXPECT_EQ(r.canonical_id, "ord_9");
  EXPECT_EQ(r.master_etag, "\"m1\"");
  EXPECT_EQ(r.sync_status, SyncStatus::kPending) << "the update is still queued";
  auto update = Claim();
  ASSERT_EQ(update.size(), 1u);
  Finish(update[0], SubmissionStatus::kSucceeded, 200);
  r = Current("tmp_1");
  EXPECT_EQ(r.sync_status, SyncStatus::kSynced);
  EXPECT_EQ(r.pending, 0);
  EXPECT_GT(r.synced_at, 0);
  // A 409 to an update is a conflict: the master's version is read.
  Do(Write(EdgeWrite::kReplace, "ord_9", R"({"total":3})"));
  Finish(Claim()[0], SubmissionStatus::kFailed, 409);
  r = Current("tmp_1");
  EXPECT_EQ(r.sync_status, SyncStatus::kConflict);
  EXPECT_EQ(r.answer_status, 409);
  EXPECT_EQ(r.answer_body, R"({"detail":"from the master"})");
  auto read = Claim();
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].method, "GET");
  Answer(read[0], SubmissionStatus::kFailed, 404, R"({"title":"gone"})");
  EXPECT_TRUE(Current("tmp_1").held) << "manual: the master no longer has it, an operator decides";
  EXPECT_EQ(Current("tmp_1").master_data, "null");
  Do(Write(EdgeWrite::kDelete, "tmp_1", ""));
  EXPECT_TRUE(Claim().empty()) << "a held record changes locally only";
  EXPECT_EQ(Resolve(EdgeResolve::kTakeLocal, "tmp_1"), EdgeResolveStatus::kDone);
  EXPECT_EQ(Current("tmp_1").sync_status, SyncStatus::kSynced) << "deleted on both sides";
  Do(Write(EdgeWrite::kCreate, "tmp_2", R"({"total":1})"));
  Finish(Claim()[0], SubmissionStatus::kSucceeded, 201, "ord_10");
  Do(Write(EdgeWrite::kDelete, "tmp_2", ""));
  auto del = Claim();
  ASSERT_EQ(del.size(), 1u);
  EXPECT_EQ(del[0].method, "DELETE");
  EXPECT_EQ(del[0].body, "");
  EXPECT_TRUE(Current("tmp_2").deleted);
  EXPECT_EQ(Do(Write(EdgeWrite::kReplace, "tmp_2", "{}")).status, EdgeWriteStatus::kNotFound) << "deleted";
}

TEST_P(EdgeStoreTest, ManualConflictKeepsBothVersionsUntilAnOperatorTakesOne) {
  Synced("tmp_1", R"({"total":1})");
  Command read = Conflicted("tmp_1", ConflictPolicy::kManual);
  EXPECT_EQ(Current("tmp_1").sync_status, SyncStatus::kConflict);
  EXPECT_EQ(Resolve(EdgeResolve::kTakeMaster, "tmp_1"), EdgeResolveStatus::kNotHeld) << "its version is not read yet";
  Answer(read, SubmissionStatus::kSucceeded, 200, R"({"id":"ord_9","total":9})", {{"ETag", "\"m5\""}});
  auto r = Current("tmp_1");
  EXPECT_TRUE(r.held);
  EXPECT_EQ(r.sync_status, SyncStatus::kConflict);
  EXPECT_EQ(r.master_data, R"({"id":"ord_9","total":9})");
  EXPECT_EQ(r.master_etag, "\"m5\"");
  EXPECT_EQ(r.data, R"({"total":3})") << "the local state has the later write";
  // Writes while held change the local copy only.
  auto w = Do(Write(EdgeWrite::kReplace, "tmp_1", R"({"total":4})"));
  EXPECT_FALSE(w.queued);
  EXPECT_EQ(w.record.sync_status, SyncStatus::kConflict);
  EXPECT_TRUE(Claim().empty());
  EXPECT_EQ(Resolve(EdgeResolve::kResync, "tmp_1"), EdgeResolveStatus::kHeld);
  // Take local: the latest local state goes out over the master's ETag.
  EXPECT_EQ(Resolve(EdgeResolve::kTakeLocal, "tmp_1"), EdgeResolveStatus::kDone);
  auto put = Claim();
  ASSERT_EQ(put.size(), 1u);
  EXPECT_EQ(put[0].method, "PUT");
  EXPECT_EQ(put[0].body, R"({"total":4})");
  EXPECT_FALSE(put[0].upstream_key.empty());
  Finish(put[0], SubmissionStatus::kSucceeded, 200, "", {{"ETag", "\"m6\""}});
  r = Current("tmp_1");
  EXPECT_EQ(r.sync_status, SyncStatus::kSynced);
  EXPECT_FALSE(r.held);
  EXPECT_EQ(r.master_data, "");
  EXPECT_EQ(Resolve(EdgeResolve::kTakeLocal, "tmp_1"), EdgeResolveStatus::kNotHeld);
  // Again, and this time the master's version is taken; the local one is history.
  read = Conflicted("tmp_1", ConflictPolicy::kManual);
  Answer(read, SubmissionStatus::kSucceeded, 200, R"({"id":"ord_9","total":7})", {{"ETag", "\"m8\""}});
  int64_t before = Current("tmp_1").version;
  EXPECT_EQ(Resolve(EdgeResolve::kTakeMaster, "tmp_1"), EdgeResolveStatus::kDone);
  r = Current("tmp_1");
  EXPECT_EQ(r.data, R"({"id":"ord_9","total":7})");
  EXPECT_EQ(r.version, before + 1);
  EXPECT_EQ(r.sync_status, SyncStatus::kSynced);
  EXPECT_EQ(r.master_etag, "\"m8\"");
  EXPECT_TRUE(Claim().empty()) << "nothing to send: the copy is the master's";
  auto history = records().History(r);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ(history->at(0).data, R"({"total":3})");
  EXPECT_EQ(history->at(0).version, before);
  EXPECT_EQ(history->at(0).reason, "take-master");
}

TEST_P(EdgeStoreTest, MasterWinsReplacesTheLocalCopyAndKeepsTheLoserInHistory) {
  Synced("tmp_1", R"({"total":1})");
  Command read = Conflicted("tmp_1", ConflictPolicy::kMasterWins);
  EXPECT_EQ(Current("tmp_1").sync_status, SyncStatus::kPending) << "resolving by itself";
  Answer(read, SubmissionStatus::kSucceeded, 200, R"({"id":"ord_9","total":9})", {{"ETag", "\"m5\""}}, "",
         ConflictPolicy::kMasterWins);
  auto r = Current("tmp_1");
  EXPECT_EQ(r.sync_status, SyncStatus::kSynced);
  EXPECT_EQ(r.data, R"({"id":"ord_9","total":9})");
  EXPECT_EQ(r.master_etag, "\"m5\"");
  EXPECT_FALSE(r.held);
  auto history = records().History(r);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ(history->at(0).data, R"({"total":3})");
  EXPECT_EQ(history->at(0).reason, "master_wins");
  // The master deleted it: so does the copy.
  read = Conflicted("tmp_1", ConflictPolicy::kMasterWins);
  Answer(read, SubmissionStatus::kFailed, 404, R"({"title":"gone"})", {}, "", ConflictPolicy::kMasterWins);
  r = Current("tmp_1");
  EXPECT_TRUE(r.deleted);
  EXPECT_EQ(r.sync_status, SyncStatus::kSynced);
}

TEST_P(EdgeStoreTest, LocalWinsSendsTheLocalStateOnceMoreThenHolds) {
  Synced("tmp_1", R"({"total":1})");
  Command read = Conflicted("tmp_1", ConflictPolicy::kLocalWins);
  Answer(read, SubmissionStatus::kSucceeded, 200, R"({"id":"ord_9","total":9})", {{"ETag", "\"m5\""}}, "",
         ConflictPolicy::kLocalWins);
  auto r = Current("tmp_1");
  EXPECT_EQ(r.sync_status, SyncStatus::kPending);
  EXPECT_EQ(r.master_etag, "\"m5\"") << "the re-send carries the master's new ETag";
  EXPECT_TRUE(r.resent);
  auto put = Claim();
  ASSERT_EQ(put.size(), 1u);
  EXPECT_EQ(put[0].method, "PUT");
  EXPECT_EQ(put[0].body, R"({"total":3})");
  // The master changed it again meanwhile: held for an operator.
  Answer(put[0], SubmissionStatus::kFailed, 412, "{}", {}, "", ConflictPolicy::kLocalWins);
  read = Claim().at(0);
  Answer(read, SubmissionStatus::kSucceeded, 200, R"({"id":"ord_9","total":10})", {{"ETag", "\"m6\""}}, "",
         ConflictPolicy::kLocalWins);
  r = Current("tmp_1");
  EXPECT_TRUE(r.held);
  EXPECT_EQ(r.sync_status, SyncStatus::kConflict);
  EXPECT_NE(r.reason.find("again"), std::string::npos) << r.reason;
  EXPECT_TRUE(Claim().empty());
}

TEST_P(EdgeStoreTest, ResyncQueuesADeadOrRejectedRecordAgain) {
  Do(Write(EdgeWrite::kCreate, "tmp_1", R"({"total":1})"));
  Finish(Claim()[0], SubmissionStatus::kDead, 503);
  EXPECT_EQ(Current("tmp_1").sync_status, SyncStatus::kDead);
  EXPECT_EQ(Resolve(EdgeResolve::kTakeLocal, "tmp_1"), EdgeResolveStatus::kNotHeld);
  EXPECT_EQ(Resolve(EdgeResolve::kResync, "tmp_1"), EdgeResolveStatus::kDone);
  EXPECT_EQ(Current("tmp_1").sync_status, SyncStatus::kPending);
  auto again = Claim();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].method, "POST") << "never created at the master";
  EXPECT_EQ(again[0].body, R"({"total":1})");
  EXPECT_EQ(Resolve(EdgeResolve::kResync, "tmp_1"), EdgeResolveStatus::kNotUnsynced) << "pending already";
  EXPECT_EQ(Resolve(EdgeResolve::kResync, "nope"), EdgeResolveStatus::kNotFound);
}

// A master that answers two creates with one id (it lost its data, or it
// thinks they are one record): the second record is a conflict, not an
// error that would retry the change forever.
TEST_P(EdgeStoreTest, AnIdTheMasterGaveAnotherRecordIsAConflict) {
  Do(Write(EdgeWrite::kCreate, "tmp_1", "{}"));
  Do(Write(EdgeWrite::kCreate, "tmp_2", "{}"));
  auto both = Claim();
  ASSERT_EQ(both.size(), 2u);
  Finish(both[0], SubmissionStatus::kSucceeded, 201, "ord_1");
  Finish(both[1], SubmissionStatus::kSucceeded, 201, "ord_1");
  EXPECT_EQ(Current("ord_1").id, both[0].ordering_key);
  auto second = Current(both[1].ordering_key);
  EXPECT_EQ(second.sync_status, SyncStatus::kConflict);
  EXPECT_EQ(second.canonical_id, "");
  EXPECT_NE(second.reason.find("which record '" + both[0].ordering_key + "' already has"), std::string::npos)
      << second.reason;
}

TEST_P(EdgeStoreTest, ARefusedCreateIsRejectedAndAWriteCreatesItAnew) {
  Do(Write(EdgeWrite::kCreate, "tmp_1", R"({"total":-1})"));
  Finish(Claim()[0], SubmissionStatus::kFailed, 422);
  auto r = Current("tmp_1");
  EXPECT_EQ(r.sync_status, SyncStatus::kRejected);
  EXPECT_EQ(r.answer_status, 422);
  Do(Write(EdgeWrite::kReplace, "tmp_1", R"({"total":1})"));
  auto again = Claim();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].method, "POST") << "never created: the fix is sent as a create";
  EXPECT_EQ(Current("tmp_1").sync_status, SyncStatus::kPending);
  // Refused without a call (a record it references never reached the
  // master): blocked, with the reason.
  Finish(again[0], SubmissionStatus::kFailed, 0);
  EXPECT_EQ(Current("tmp_1").sync_status, SyncStatus::kBlocked);
  EXPECT_EQ(Current("tmp_1").reason, "it did not work");
  // Deleted before the master ever had it: nothing to send.
  Do(Write(EdgeWrite::kDelete, "tmp_1", ""));
  EXPECT_EQ(Claim().size(), 0u);
  EXPECT_EQ(Current("tmp_1").sync_status, SyncStatus::kSynced);
}

TEST_P(EdgeStoreTest, PreconditionsIdsAndKeysRefuseWithoutChangingAnything) {
  Do(Write(EdgeWrite::kCreate, "o1", R"({"a":1})"));
  auto taken = Do(Write(EdgeWrite::kCreate, "o1", R"({"a":2})"));
  EXPECT_EQ(taken.status, EdgeWriteStatus::kIdTaken);
  auto stale = Do(Write(EdgeWrite::kReplace, "o1", R"({"a":3})", 7));
  EXPECT_EQ(stale.status, EdgeWriteStatus::kStale);
  EXPECT_EQ(stale.record.version, 1);
  EXPECT_EQ(Do(Write(EdgeWrite::kReplace, "nope", "{}")).status, EdgeWriteStatus::kNotFound);
  EXPECT_EQ(Current("o1").data, R"({"a":1})");
  EXPECT_EQ(Changes().size(), 1u);
  // Another tenant has its own ids.
  auto other = Write(EdgeWrite::kCreate, "o1", R"({"b":1})");
  other.tenant = "acme";
  EXPECT_EQ(Do(other).status, EdgeWriteStatus::kDone);
  EXPECT_FALSE(records().Get("acme", kRoute, "o1").value().value().data.empty());
  // A keyed create replays its first answer; a refused keyed write leaves no record.
  auto keyed = Write(EdgeWrite::kCreate, "o2", R"({"a":1})");
  keyed.key = {true, "k1", "fp", "{}", 60'000};
  EXPECT_EQ(Do(keyed).status, EdgeWriteStatus::kDone);
  keyed.id = "o3";
  auto replay = Do(keyed);
  ASSERT_EQ(replay.status, EdgeWriteStatus::kKeyExists);
  EXPECT_EQ(replay.existing.response.body, "v1");
  EXPECT_FALSE(records().Get(kDefaultTenant, kRoute, "o3").value().has_value());
  auto refused = Write(EdgeWrite::kReplace, "o1", "{}", 9);
  refused.key = {true, "k2", "fp", "{}", 60'000};
  EXPECT_EQ(Do(refused).status, EdgeWriteStatus::kStale);
  EXPECT_FALSE(store_->keys().Lookup({kDefaultTenant, kRoute, "o1:k2"}).value().has_value());
  // Lists by sync status, without deleted records.
  EdgeFilter f;
  f.tenant = kDefaultTenant;
  f.route = kRoute;
  f.status = SyncStatus::kPending;
  EXPECT_EQ(records().List(f).value().size(), 2u);
  auto counts = records().Counts(kRoute);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->pending, 3);
}

// A dual copy's refresh (ApplyMaster): each master state by what the copy
// holds. New -> inserted (synced, the master's id both ways); same version
// -> unchanged; changed -> taken; local writes pending -> left for their
// If-Match; synced after the read began -> read again; deleted -> deleted.
TEST_P(EdgeStoreTest, TheMastersStatesApplyByWhatTheCopyHolds) {
  auto apply = [&](std::vector<MasterState> items, Millis read_since) {
    auto es = records();
    auto r = Wait<MasterApply>(
        [&](auto cb) { es.ApplyMaster(kDefaultTenant, kRoute, "/api/orders", items, read_since, nullptr, cb); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : MasterApply{};
  };
  Millis t0 = store_->Now();
  auto a = apply(
      {{"c1", R"({"n":1})", false, "\"m1\""}, {"c2", R"({"n":2})", false, "\"m1\""}, {"c3", "", true, "\"m2\""}}, t0);
  EXPECT_EQ(a.inserted, 2);
  EXPECT_EQ(a.unchanged, 1) << "a deletion of a record the copy never had";
  auto c1 = Current("c1");
  EXPECT_EQ(c1.canonical_id, "c1");
  EXPECT_EQ(c1.sync_status, SyncStatus::kSynced);
  EXPECT_TRUE(c1.from_master);
  EXPECT_EQ(c1.master_etag, "\"m1\"");
  EXPECT_TRUE(Changes().empty()) << "nothing goes back to the master";

  clock_.Advance(1000);
  a = apply({{"c1", R"({"n":1})", false, "\"m1\""}, {"c2", R"({"n":20})", false, "\"m2\""}}, store_->Now());
  EXPECT_EQ(a.unchanged, 1);
  EXPECT_EQ(a.updated, 1);
  EXPECT_EQ(Current("c2").data, R"({"n":20})");
  EXPECT_EQ(Current("c2").version, 2) << "a client's If-Match of the old version is stale now";

  // A local write pending: the item waits; the change carries If-Match m1.
  Do(Write(EdgeWrite::kReplace, "c1", R"({"n":100})"));
  a = apply({{"c1", R"({"n":5})", false, "\"m3\""}}, store_->Now());
  EXPECT_EQ(a.deferred, 1);
  EXPECT_EQ(Current("c1").data, R"({"n":100})");
  EXPECT_EQ(Current("c1").master_etag, "\"m1\"");
  EXPECT_EQ(Current("c1").master_newer, "\"m3\"") << "the deferred state is owed a second look";
  auto deferred = [&] {
    auto ids = records().DeferredMasterStates(kDefaultTenant, kRoute, 10);
    EXPECT_TRUE(ids.ok());
    return ids.ok() ? *ids : std::vector<std::string>{};
  };
  EXPECT_TRUE(deferred().empty()) << "not while the local write is pending";
  // The master takes it; a page read before that answer may be older.
  Millis read = store_->Now();
  clock_.Advance(1000);
  Finish(Claim()[0], SubmissionStatus::kSucceeded, 200, "", {{"ETag", "\"m4\""}});
  EXPECT_EQ(deferred(), std::vector<std::string>{"c1"}) << "answered: the refresh reads it again";
  a = apply({{"c1", R"({"n":5})", false, "\"m3\""}}, read);
  ASSERT_EQ(a.recheck.size(), 1u);
  EXPECT_EQ(a.recheck[0], "c1");
  EXPECT_EQ(Current("c1").data, R"({"n":100})");
  a = apply({{"c1", R"({"n":100,"id":"c1"})", false, "\"m4\""}}, store_->Now());
  EXPECT_EQ(a.unchanged, 1) << "the master's echo of the local write";
  EXPECT_EQ(Current("c1").master_newer, "");
  EXPECT_TRUE(deferred().empty()) << "the copy holds the master's state again";

  a = apply({{"c2", "", true, "\"m5\""}}, store_->Now());
  EXPECT_EQ(a.updated, 1);
  EXPECT_TRUE(Current("c2").deleted);

  // A local create whose answer names a record the refresh loaded meanwhile:
  // the loaded copy gives way to the local record (no conflict, one record).
  Do(Write(EdgeWrite::kCreate, "tmp_1", R"({"n":7})"));
  auto create = Claim();
  ASSERT_EQ(create.size(), 1u);
  a = apply({{"c7", R"({"n":7,"id":"c7"})", false, "\"m1\""}}, store_->Now());
  EXPECT_EQ(a.inserted, 1);
  Finish(create[0], SubmissionStatus::kSucceeded, 201, "c7", {{"ETag", "\"m1\""}});
  auto mine = Current("c7");
  EXPECT_EQ(mine.id, "tmp_1");
  EXPECT_EQ(mine.sync_status, SyncStatus::kSynced);
  EdgeFilter f;
  f.route = kRoute;
  f.limit = 100;
  auto all = records().List(f);
  ASSERT_TRUE(all.ok());
  int c7 = 0;
  for (const auto& r : *all) c7 += r.canonical_id == "c7";
  EXPECT_EQ(c7, 1);
}

// A refresh pass holds a lease (one instance at a time), moves its cursor
// with the page it applies, and makes the copy as fresh as its start; a
// full load takes the lease away, and the old pass's next page fails
// without applying anything.
TEST_P(EdgeStoreTest, ACopysRefreshLeasesMovesItsCursorAndLoadsFromTheStart) {
  CopyStore copy(store_->db());
  auto lease = [&](const std::string& owner) {
    auto r = Wait<CopyState>([&](auto cb) { copy.Lease(kRoute, owner, 60'000, cb); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : CopyState{};
  };
  auto page = [&](const std::string& owner, const std::string& id, const std::string& cursor) {
    auto es = records();
    Store* s = store_.get();
    return Wait<MasterApply>([&](auto cb) {
      es.ApplyMaster(
          kDefaultTenant, kRoute, "/api/orders", {{id, "{}", false, "\"m1\""}}, s->Now(),
          [&, s](sql::Conn& c) { return CopyStore::Advance(c, kRoute, owner, cursor, 1, s->Now(), 60'000); }, cb);
    });
  };
  Millis start = store_->Now();
  EXPECT_EQ(lease("a").owner, "a");
  clock_.Advance(10);
  EXPECT_EQ(lease("b").owner, "a") << "a pass is under way";
  ASSERT_TRUE(page("a", "c1", "17").ok());
  auto done = Wait<CopyState>([&](auto cb) { copy.Finish(kRoute, "a", "", cb); });
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->as_of, start);
  EXPECT_EQ(done->cursor, "17");
  EXPECT_EQ(done->total_items, 1);
  EXPECT_EQ(done->owner, "");

  EXPECT_EQ(lease("a").owner, "a");
  ASSERT_TRUE(copy.RequestLoad(kRoute).ok());
  auto after = page("a", "c2", "18");
  EXPECT_FALSE(after.ok()) << "the load took the lease";
  auto missing = records().Get(kDefaultTenant, kRoute, "c2");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value()) << "the page was not applied";
  auto st = copy.Get(kRoute);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->cursor, "");
  EXPECT_TRUE(st->loading);
  EXPECT_EQ(st->as_of, start) << "the copy is as fresh as before";
  EXPECT_EQ(lease("b").owner, "b");
}

INSTANTIATE_TEST_SUITE_P(Backends, EdgeStoreTest, ::testing::ValuesIn(testing::AllBackends()),
                         [](const ::testing::TestParamInfo<testing::Backend>& i) {
                           return std::string(testing::BackendName(i.param));
                         });

}  // namespace
}  // namespace writ
