// The command queue contract (async routes), on SQLite and PostgreSQL with a
// fake clock: accept atomicity, claim order, leases and fencing, ordering
// keys, retries, redrive, cancel, events, schema migration from version 1.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <future>
#include <thread>

#include "store/store.h"
#include "testing/cluster.h"
#include "testing/postgres.h"
#include "testing/store_fixture.h"

namespace writ {
namespace {

class CommandQueueTest : public testing::StoreTest {
 protected:
  std::string path() const { return dir_.path() + "/db/writ.db"; }

  AcceptRequest Accept(const std::string& id, const std::string& key = "", const std::string& ordering = "") {
    AcceptRequest a;
    a.command.id = id;
    a.command.tenant = "default";
    a.command.route = "POST /payments";
    a.command.idem_key = key;
    a.command.ordering_key = ordering;
    a.command.method = "POST";
    a.command.target = "/payments";
    a.command.headers = {{"Content-Type", "application/json"}};
    a.command.body = R"({"amount":1})";
    a.command.upstream_key = "writ-" + id;
    a.has_key = !key.empty();
    a.fingerprint = "fp-" + key;
    a.fingerprint_detail = "{}";
    a.response_headers = {{"Location", "/v1/submissions/" + id}};
    a.response_body = "{\"submissionId\":\"" + id + "\"}";
    return a;
  }
  std::vector<Command> Claim(int limit = 10, Millis lease = 5'000) {
    auto r = ClaimCommandsSync(store_->queue(), "POST /payments", limit, lease);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::vector<Command>{};
  }
  AttemptOutcome Outcome(const Command& c, SubmissionStatus s, Millis next = 0) {
    AttemptOutcome o;
    o.id = c.id;
    o.fence = c.fence;
    o.status = s;
    o.next_attempt_at = next;
    o.response_status = s == SubmissionStatus::kSucceeded ? 201 : 503;
    o.response_body = "{}";
    return o;
  }
  SubmissionStatus StatusOf(const std::string& id) { return store_->queue().GetCommand(id).value()->status; }
};

TEST_P(CommandQueueTest, AcceptStoresKeyCommandAndEventTogether) {
  auto r = AcceptSync(store_->queue(), Accept("sub_1", "k1"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->claimed);
  auto rec = store_->keys().Lookup({"default", "POST /payments", "k1"});
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->state, KeyState::kCompleted);
  EXPECT_EQ((*rec)->response.status, 202);
  EXPECT_EQ((*rec)->response.body, R"({"submissionId":"sub_1"})");
  auto events = store_->queue().ListEvents("sub_1", 0);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, "submission.accepted");
  // The event shows the row as stored: its status and acceptance time.
  EXPECT_NE((*events)[0].payload.find(R"("status":"accepted")"), std::string::npos) << (*events)[0].payload;
  EXPECT_NE((*events)[0].payload.find(R"("createdAt":")" + FormatTimestamp(clock_.NowMs())), std::string::npos);

  // The same key again: nothing new, the standing record comes back.
  auto again = AcceptSync(store_->queue(), Accept("sub_2", "k1"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->claimed);
  EXPECT_EQ(again->existing.response.body, R"({"submissionId":"sub_1"})");
  EXPECT_FALSE(store_->queue().GetCommand("sub_2").value().has_value());
}

TEST_P(CommandQueueTest, ClaimsOldestFirstWithLeaseAndFence) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(AcceptSync(store_->queue(), Accept("sub_" + std::to_string(i))).ok());
  auto first = Claim(3);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].id, "sub_0");
  EXPECT_EQ(first[2].id, "sub_2");
  EXPECT_EQ(first[0].attempts, 1);
  EXPECT_EQ(first[0].status, SubmissionStatus::kProcessing);
  auto rest = Claim(10);
  ASSERT_EQ(rest.size(), 2u) << "leased commands are not claimed twice";
  EXPECT_TRUE(Claim(10).empty());

  // The holder of sub_0 dies; after its lease the command is claimed again
  // with a new fence, and the old holder's late outcome is refused.
  clock_.Advance(5'001);
  auto retaken = Claim(1);
  ASSERT_EQ(retaken.size(), 1u);
  EXPECT_EQ(retaken[0].id, "sub_0");
  EXPECT_EQ(retaken[0].attempts, 2);
  EXPECT_GT(retaken[0].fence, first[0].fence);
  EXPECT_FALSE(*FinishAttemptSync(store_->queue(), Outcome(first[0], SubmissionStatus::kSucceeded)));
  EXPECT_TRUE(*FinishAttemptSync(store_->queue(), Outcome(retaken[0], SubmissionStatus::kSucceeded)));
  EXPECT_EQ(StatusOf("sub_0"), SubmissionStatus::kSucceeded);
}

TEST_P(CommandQueueTest, HeartbeatKeepsTheLease) {
  ASSERT_TRUE(AcceptSync(store_->queue(), Accept("sub_1")).ok());
  auto c = Claim(1);
  ASSERT_EQ(c.size(), 1u);
  clock_.Advance(4'000);
  auto n = [&] {
    std::promise<Result<int>> p;
    store_->queue().ExtendLeases({{c[0].id, c[0].fence}}, 5'000, [&](Result<int> r) { p.set_value(r); });
    return p.get_future().get();
  }();
  EXPECT_EQ(*n, 1);
  clock_.Advance(4'000);
  EXPECT_TRUE(Claim(1).empty()) << "an extended lease is still held";
  clock_.Advance(1'001);
  EXPECT_EQ(Claim(1).size(), 1u);
}

TEST_P(CommandQueueTest, RetryWaitsForItsTimeThenDeadAndRedrive) {
  ASSERT_TRUE(AcceptSync(store_->queue(), Accept("sub_1")).ok());
  auto c = Claim(1);
  ASSERT_TRUE(*FinishAttemptSync(store_->queue(), Outcome(c[0], SubmissionStatus::kProcessing, clock_.NowMs() + 1'000)));
  auto waiting = store_->queue().GetCommand("sub_1").value();
  EXPECT_EQ(waiting->status, SubmissionStatus::kProcessing);
  EXPECT_EQ(waiting->lease_until, 0);
  EXPECT_EQ(waiting->next_attempt_at, clock_.NowMs() + 1'000);
  EXPECT_TRUE(Claim(1).empty());
  clock_.Advance(1'000);
  c = Claim(1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].attempts, 2);
  ASSERT_TRUE(*FinishAttemptSync(store_->queue(), Outcome(c[0], SubmissionStatus::kDead)));
  EXPECT_EQ(StatusOf("sub_1"), SubmissionStatus::kDead);
  EXPECT_TRUE(Claim(1).empty());

  EXPECT_EQ(*RedriveSync(store_->queue(), "sub_1", false), ActionResult::kDone);
  auto redriven = store_->queue().GetCommand("sub_1").value();
  EXPECT_EQ(redriven->status, SubmissionStatus::kAccepted);
  EXPECT_EQ(redriven->attempts, 0);
  EXPECT_EQ(redriven->redrives, 1);
  EXPECT_EQ(redriven->budget_from, clock_.NowMs());
  EXPECT_EQ(*RedriveSync(store_->queue(), "sub_1", false), ActionResult::kWrongState);
  EXPECT_EQ(*RedriveSync(store_->queue(), "sub_x", false), ActionResult::kNotFound);
  EXPECT_EQ(Claim(1).size(), 1u);
}

// A probe found a dead command that may have been applied: it becomes
// succeeded with the master's record and an event; a command dead for a
// known reason, or not dead, is not changed that way.
TEST_P(CommandQueueTest, ADeadPossiblyAppliedCommandResolvedAppliedSucceedsWithItsEvent) {
  ASSERT_TRUE(AcceptSync(store_->queue(), Accept("sub_1")).ok());
  ASSERT_TRUE(AcceptSync(store_->queue(), Accept("sub_2")).ok());
  auto c = Claim(2);
  ASSERT_EQ(c.size(), 2u);
  ASSERT_EQ(c[0].id, "sub_1");
  ASSERT_TRUE(*FinishAttemptSync(store_->queue(), Outcome(c[0], SubmissionStatus::kDead)));
  auto lost = Outcome(c[1], SubmissionStatus::kDead);
  lost.outcome_unknown = true;
  ASSERT_TRUE(*FinishAttemptSync(store_->queue(), lost));
  // What a probe pass lists: only the possibly applied one, however many
  // refused ones come before it.
  CommandFilter probe_list;
  probe_list.status = SubmissionStatus::kDead;
  probe_list.possibly_applied = true;
  probe_list.limit = 1;
  auto listed = store_->queue().ListCommands(probe_list);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, "sub_2");
  probe_list.possibly_applied = false;
  EXPECT_EQ(store_->queue().ListCommands(probe_list)->front().id, "sub_1") << "the refused one first";
  auto resolve = [&](const std::string& id) {
    return Wait<ActionResult>([&](auto cb) {
      store_->queue().ResolveApplied(id, 200, {{"Writ-Reconstructed", "probe"}}, R"({"id":"pay_9"})", "pay_9", false,
                                     60'000, cb);
    });
  };
  EXPECT_EQ(*resolve("sub_1"), ActionResult::kWrongState) << "dead for a known reason: nothing to find";
  size_t before = store_->queue().ListEvents("sub_2", 0)->size();
  EXPECT_EQ(*resolve("sub_2"), ActionResult::kDone);
  auto done = store_->queue().GetCommand("sub_2").value();
  EXPECT_EQ(done->status, SubmissionStatus::kSucceeded);
  EXPECT_EQ(done->response_status, 200);
  EXPECT_EQ(done->response_body, R"({"id":"pay_9"})");
  EXPECT_EQ(done->canonical_id, "pay_9");
  EXPECT_EQ(done->finished_at, clock_.NowMs());
  auto events = store_->queue().ListEvents("sub_2", 0).value();
  ASSERT_EQ(events.size(), before + 1);
  EXPECT_EQ(events.back().type, "submission.succeeded");
  EXPECT_EQ(*resolve("sub_2"), ActionResult::kWrongState) << "once";
}

TEST_P(CommandQueueTest, CancelOnlyBeforeTheFirstAttempt) {
  ASSERT_TRUE(AcceptSync(store_->queue(), Accept("sub_1")).ok());
  ASSERT_TRUE(AcceptSync(store_->queue(), Accept("sub_2")).ok());
  EXPECT_EQ(*CancelSync(store_->queue(), "sub_2", false, 60'000), ActionResult::kDone);
  EXPECT_EQ(StatusOf("sub_2"), SubmissionStatus::kCancelled);
  auto c = Claim(10);
  ASSERT_EQ(c.size(), 1u) << "a cancelled command is never claimed";
  EXPECT_EQ(*CancelSync(store_->queue(), "sub_1", false, 60'000), ActionResult::kWrongState);
  EXPECT_EQ(*CancelSync(store_->queue(), "sub_2", false, 60'000), ActionResult::kWrongState);
}

TEST_P(CommandQueueTest, OrderingKeyReleasesTheNextOnlyWhenThePreviousFinished) {
  ASSERT_TRUE(AcceptSync(store_->queue(), Accept("a1", "", "acct-a")).ok());
  ASSERT_TRUE(AcceptSync(store_->queue(), Accept("b1", "", "acct-b")).ok());
  ASSERT_TRUE(AcceptSync(store_->queue(), Accept("a2", "", "acct-a")).ok());
  ASSERT_TRUE(AcceptSync(store_->queue(), Accept("free", "", "")).ok());
  auto c = Claim(10);
  std::vector<std::string> ids;
  for (auto& x : c) ids.push_back(x.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"a1", "b1", "free"}));
  // a1 waits for a retry: a2 still waits behind it.
  ASSERT_TRUE(*FinishAttemptSync(store_->queue(), Outcome(c[0], SubmissionStatus::kProcessing, clock_.NowMs() + 100)));
  EXPECT_TRUE(Claim(10).empty());
  clock_.Advance(100);
  auto retry = Claim(10);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].id, "a1");
  ASSERT_TRUE(*FinishAttemptSync(store_->queue(), Outcome(retry[0], SubmissionStatus::kSucceeded)));
  auto next = Claim(10);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, "a2");
}

// A claim leases all its commands in one statement and writes their events
// in INSERTs of at most 32 rows: 70 commands span three of them.
TEST_P(CommandQueueTest, ALargeClaimLeasesEveryCommandOnceWithOneEventEach) {
  for (int i = 0; i < 70; ++i) ASSERT_TRUE(AcceptSync(store_->queue(), Accept("sub_" + std::to_string(i))).ok());
  auto claimed = Claim(100);
  ASSERT_EQ(claimed.size(), 70u);
  for (const auto& c : claimed) {
    EXPECT_EQ(c.attempts, 1);
    EXPECT_EQ(StatusOf(c.id), SubmissionStatus::kProcessing);
    auto events = store_->queue().ListEvents(c.id, 0).value();
    ASSERT_EQ(events.size(), 2u) << c.id;
    EXPECT_EQ(events[1].type, "submission.processing");
    EXPECT_NE(events[1].payload.find("\"submissionId\":\"" + c.id + "\""), std::string::npos) << events[1].payload;
  }
  EXPECT_TRUE(Claim(100).empty());  // all leased: nothing due
}

TEST_P(CommandQueueTest, EveryStateChangeWritesAnEventForDeliveryWhenAsked) {
  AcceptRequest a = Accept("sub_1");
  a.notify = true;
  ASSERT_TRUE(AcceptSync(store_->queue(), a).ok());
  auto c = ClaimCommandsSync(store_->queue(), "POST /payments", 1, 5'000, true).value();
  AttemptOutcome o = Outcome(c[0], SubmissionStatus::kSucceeded);
  o.notify = true;
  ASSERT_TRUE(*FinishAttemptSync(store_->queue(), o));
  auto events = store_->queue().ListEvents("sub_1", 0).value();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, "submission.accepted");
  EXPECT_EQ(events[1].type, "submission.processing");
  EXPECT_EQ(events[2].type, "submission.succeeded");
  EXPECT_NE(events[2].payload.find("\"status\":\"succeeded\""), std::string::npos);
  // One submission's events go one at a time, in order: the next is due
  // only once the one before it was delivered.
  auto mark = [&](int64_t seq, bool delivered, Millis next_at) {
    std::promise<Result<bool>> p;
    store_->queue().MarkEvent(seq, delivered, next_at, delivered ? "" : "receiver answered 503",
                              [&](Result<bool> r) { p.set_value(r); });
    EXPECT_TRUE(*p.get_future().get());
  };
  auto due = store_->queue().DueEvents(10).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, events[0].id);
  mark(due[0].seq, true, 0);
  due = store_->queue().DueEvents(10).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, events[1].id);
  mark(due[0].seq, false, clock_.NowMs() + 1'000);
  EXPECT_TRUE(store_->queue().DueEvents(10).value().empty())
      << "succeeded waits behind processing, which is not due yet";
  // Another submission's events are not held back by this one.
  AcceptRequest b = Accept("sub_2");
  b.notify = true;
  ASSERT_TRUE(AcceptSync(store_->queue(), b).ok());
  due = store_->queue().DueEvents(10).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].submission_id, "sub_2");
  clock_.Advance(1'000);
  due = store_->queue().DueEvents(10).value();
  ASSERT_EQ(due.size(), 2u);  // sub_2's accepted and sub_1's processing, retried
  const StatusEvent& retried = due[0].submission_id == "sub_1" ? due[0] : due[1];
  EXPECT_EQ(retried.id, events[1].id);
  mark(retried.seq, true, 0);
  due = store_->queue().DueEvents(10).value();
  ASSERT_EQ(due.size(), 2u);
  EXPECT_TRUE(due[0].id == events[2].id || due[1].id == events[2].id) << "then the next";
}

TEST_P(CommandQueueTest, TheNatsSinkKeepsItsOwnStateAndOrderPerSubmission) {
  // The route's sinks as bits: a webhook and NATS.
  for (const char* id : {"sub_1", "sub_2"}) {
    AcceptRequest a = Accept(id);
    a.notify = kWebhookSink | kNatsSink;
    ASSERT_TRUE(AcceptSync(store_->queue(), a).ok());
  }
  auto c = ClaimCommandsSync(store_->queue(), "POST /payments", 2, 5'000, kWebhookSink | kNatsSink).value();
  ASSERT_EQ(c.size(), 2u);
  const std::vector<std::string> routes = {"POST /payments"};
  auto publish = [&](const std::vector<StatusEvent>& events, const std::string& error) {
    std::vector<int64_t> seqs;
    for (const auto& e : events) seqs.push_back(e.seq);
    auto n = Wait<int>([&](auto cb) { store_->queue().MarkPublished(false, seqs, error, cb); });
    EXPECT_EQ(*n, static_cast<int>(seqs.size()));
  };
  auto after = [&](int64_t seq, int limit) { return store_->queue().UnpublishedEventsAfter(routes, seq, limit).value(); };
  auto page = after(0, 10);
  ASSERT_EQ(page.rows.size(), 4u) << "each submission's accepted and processing events";
  EXPECT_TRUE(page.before.empty());
  for (size_t i = 1; i < page.rows.size(); ++i) EXPECT_LT(page.rows[i - 1].seq, page.rows[i].seq) << "oldest first";
  EXPECT_EQ(page.rows[0].type, "submission.accepted");
  EXPECT_EQ(page.rows[0].submission_id, "sub_1");
  EXPECT_EQ(page.rows[1].type, "submission.accepted");
  EXPECT_EQ(page.rows[2].type, "submission.processing");
  EXPECT_TRUE(store_->queue().UnpublishedEventsAfter({"POST /other"}, 0, 10).value().rows.empty())
      << "only the relay's routes";
  const std::vector<StatusEvent> all = page.rows;
  EXPECT_EQ(after(0, 1).rows.size(), 1u) << "at most limit";
  // Reading on: the rows after the cursor, and the seqs at or before it
  // that still wait (the relay's own, or one that committed late).
  page = after(all[1].seq, 10);
  ASSERT_EQ(page.rows.size(), 2u);
  EXPECT_EQ(page.rows[0].id, all[2].id);
  EXPECT_EQ(page.before, (std::vector<int64_t>{all[0].seq, all[1].seq}));
  publish({all[0]}, "nats: timeout");
  EXPECT_EQ(after(all[1].seq, 10).before.size(), 2u) << "a failed try changes nothing";
  publish({all[0]}, "");
  EXPECT_EQ(after(all[1].seq, 10).before, std::vector<int64_t>{all[1].seq}) << "published: no longer waits";
  EXPECT_EQ(after(0, 10).rows.size(), 3u);
  // The webhook's state is its own: the accepted events are published, not delivered.
  auto due = store_->queue().DueEvents(10).value();
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].type, "submission.accepted");
  // A finished submission stays while an event waits for NATS.
  for (const auto& cmd : c) {
    AttemptOutcome o = Outcome(cmd, SubmissionStatus::kSucceeded);
    o.retention = 1'000;
    o.notify = kWebhookSink | kNatsSink;
    ASSERT_TRUE(*FinishAttemptSync(store_->queue(), o));
  }
  for (int i = 0; i < 3; ++i) {  // sub_2's webhooks, one at a time
    auto due_now = store_->queue().DueEvents(10).value();  // kept: a loop over a temporary's value() dangles
    for (const auto& e : due_now) {
      if (e.submission_id != "sub_2") continue;
      std::promise<Result<bool>> p;
      store_->queue().MarkEvent(e.seq, true, 0, "", [&](Result<bool> r) { p.set_value(r); });
      ASSERT_TRUE(*p.get_future().get());
    }
  }
  clock_.Advance(1'000);
  EXPECT_EQ(*CollectGarbageSync(*store_, 100), 0) << "sub_2's events wait for NATS";
  publish(after(0, 100).rows, "");
  EXPECT_TRUE(after(0, 100).rows.empty());
  EXPECT_EQ(*CollectGarbageSync(*store_, 100), 1) << "sub_2; sub_1 still waits for its webhook";
}

TEST_P(CommandQueueTest, ListPagesWithCursorAndFilters) {
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(AcceptSync(store_->queue(), Accept("sub_" + std::to_string(i))).ok());
  auto c = Claim(2);
  ASSERT_TRUE(*FinishAttemptSync(store_->queue(), Outcome(c[0], SubmissionStatus::kDead)));
  CommandFilter f;
  f.limit = 3;
  auto p1 = store_->queue().ListCommands(f).value();
  ASSERT_EQ(p1.size(), 3u);
  f.after_seq = p1.back().seq;
  auto p2 = store_->queue().ListCommands(f).value();
  ASSERT_EQ(p2.size(), 3u);
  EXPECT_EQ(p2[0].id, "sub_3");
  f.status = SubmissionStatus::kDead;
  f.after_seq = 0;
  auto dead = store_->queue().ListCommands(f).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, "sub_0");
  auto stats = store_->queue().QueueStats().value();
  int64_t accepted = 0, processing = 0, dead_n = 0;
  for (auto& s : stats) {
    if (s.status == SubmissionStatus::kAccepted) accepted = s.count;
    if (s.status == SubmissionStatus::kProcessing) processing = s.count;
    if (s.status == SubmissionStatus::kDead) dead_n = s.count;
  }
  EXPECT_EQ(accepted, 5);
  EXPECT_EQ(processing, 1);
  EXPECT_EQ(dead_n, 1);
}

TEST_P(CommandQueueTest, PendingCommandsAreCountedPerTenant) {
  for (int i = 0; i < 5; ++i) {
    auto a = Accept("sub_" + std::to_string(i));
    a.command.tenant = i < 3 ? "acme" : "globex";
    ASSERT_TRUE(AcceptSync(store_->queue(), a).ok());
  }
  auto c = Claim(5);  // processing counts as pending too
  ASSERT_EQ(c.size(), 5u);
  for (const auto& cmd : c)
    if (cmd.id == "sub_0" || cmd.id == "sub_3")
      ASSERT_TRUE(*FinishAttemptSync(store_->queue(), Outcome(cmd, SubmissionStatus::kSucceeded)));
  auto pending = store_->queue().PendingByTenant().value();
  EXPECT_EQ(pending, (std::map<std::string, int64_t>{{"acme", 2}, {"globex", 1}}));
}

TEST_P(CommandQueueTest, FinishedCommandsAreCollectedAfterRetentionOnceTheirWebhooksAreDone) {
  AcceptRequest a = Accept("sub_1", "k1");
  a.notify = true;
  ASSERT_TRUE(AcceptSync(store_->queue(), a).ok());
  ASSERT_TRUE(AcceptSync(store_->queue(), Accept("sub_2")).ok());
  ASSERT_TRUE(AcceptSync(store_->queue(), Accept("sub_3")).ok());
  auto c = Claim(3);
  ASSERT_EQ(c.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    AttemptOutcome o = Outcome(c[i], SubmissionStatus::kSucceeded);
    o.retention = 10'000;
    o.notify = i == 0;
    ASSERT_TRUE(*FinishAttemptSync(store_->queue(), o));
  }
  // sub_3 is still processing: never collected.
  clock_.Advance(9'999);
  EXPECT_EQ(*CollectGarbageSync(*store_, 100), 0);
  clock_.Advance(1);
  // sub_2 goes with its events; sub_1 waits for its webhook deliveries.
  EXPECT_EQ(*CollectGarbageSync(*store_, 100), 1);
  EXPECT_FALSE(store_->queue().GetCommand("sub_2").value().has_value());
  EXPECT_TRUE(store_->queue().ListEvents("sub_2", 0).value().empty());
  EXPECT_TRUE(store_->queue().GetCommand("sub_1").value().has_value());
  for (int delivered = 0; delivered < 2; ++delivered) {  // one at a time, in order
    auto due = store_->queue().DueEvents(100);
    ASSERT_TRUE(due.ok());
    ASSERT_EQ(due->size(), 1u);
    std::promise<Result<bool>> p;
    store_->queue().MarkEvent(due->front().seq, true, 0, "", [&](Result<bool> r) { p.set_value(r); });
    ASSERT_TRUE(*p.get_future().get());
  }
  EXPECT_TRUE(store_->queue().DueEvents(100).value().empty());
  EXPECT_EQ(*CollectGarbageSync(*store_, 100), 1);
  EXPECT_FALSE(store_->queue().GetCommand("sub_1").value().has_value());
  EXPECT_TRUE(store_->queue().GetCommand("sub_3").value().has_value());
  // The idempotency record keeps its own retention.
  EXPECT_TRUE(store_->keys().Lookup({"default", "POST /payments", "k1"}).value().has_value());
}

TEST_P(CommandQueueTest, AcceptedCommandsSurviveReopen) {
  ASSERT_TRUE(AcceptSync(store_->queue(), Accept("sub_1", "k1")).ok());
  Open();
  EXPECT_TRUE(store_->queue().GetCommand("sub_1").value().has_value());
  EXPECT_EQ(Claim(1).size(), 1u);
}

// SQLite's own migration path (PostgreSQL databases start at `writ migrate`).
class SqliteCommandQueueTest : public CommandQueueTest {
 protected:
  testing::Backend backend() const override { return testing::Backend::kSqlite; }
};

TEST_F(SqliteCommandQueueTest, Version1StoreIsMigratedInPlace) {
  store_.reset();
  std::filesystem::remove_all(dir_.path() + "/db");
  std::filesystem::create_directories(dir_.path() + "/db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE idem_keys (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, route TEXT NOT NULL,"
                         " key TEXT NOT NULL, state TEXT NOT NULL, fingerprint TEXT NOT NULL, fingerprint_detail TEXT"
                         " NOT NULL, fence INTEGER NOT NULL, attempts INTEGER NOT NULL, created_at INTEGER NOT NULL,"
                         " updated_at INTEGER NOT NULL, lease_until INTEGER NOT NULL, expires_at INTEGER, status"
                         " INTEGER NOT NULL DEFAULT 0, headers TEXT NOT NULL DEFAULT '', body BLOB NOT NULL DEFAULT"
                         " x''); CREATE UNIQUE INDEX idem_keys_scope ON idem_keys(tenant, route, key);"
                         " INSERT INTO idem_keys (tenant, route, key, state, fingerprint, fingerprint_detail, fence,"
                         " attempts, created_at, updated_at, lease_until) VALUES ('default','POST /orders','old',"
                         "'completed','fp','{}',1,1,0,0,0); PRAGMA user_version=1;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Open();
  EXPECT_TRUE(store_->keys().Lookup({"default", "POST /orders", "old"}).value().has_value());
  EXPECT_TRUE(AcceptSync(store_->queue(), Accept("sub_1")).value().claimed);
}


INSTANTIATE_TEST_SUITE_P(Backends, CommandQueueTest, ::testing::ValuesIn(testing::AllBackends()),
                         [](const ::testing::TestParamInfo<testing::Backend>& i) {
                           return std::string(testing::BackendName(i.param));
                         });

}  // namespace
}  // namespace writ
