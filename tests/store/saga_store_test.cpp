// The saga store's contract, on SQLite and PostgreSQL with a fake clock. A
// trip (flight, hotel, car) is started with a key and driven through the
// command queue as the worker drives it: each request is claimed, and its
// final outcome recorded with the saga's move in the same transaction.
//   * start: the saga, its key and its first request in one transaction; the
//     key again finds the same saga and queues nothing;
//   * a step's answer feeds the next request (its body and derived key);
//   * a refusal compensates the applied steps in reverse, each once, and the
//     step log shows every attempt (retries too);
//   * an outcome recorded under a lost lease moves nothing;
//   * a spent compensation is queued again after a pause; a refused one
//     parks the saga until an operator retries it or marks it resolved;
//   * a cancel is taken before the pivot only.
#include "patterns/saga/saga_store.h"

#include <gtest/gtest.h>

#include "core/json.h"
#include "store/command_queue.h"
#include "store/store.h"
#include "testing/store_fixture.h"

namespace writ {
namespace {

namespace json = boost::json;

constexpr const char* kRoute = "POST /trips";
constexpr Millis kLease = 5'000;

SagaRequestDef Req(const std::string& method, const std::string& path, const std::string& body = "") {
  SagaRequestDef r;
  r.method = method;
  r.path = SagaTemplate::Parse(path).value();
  if (!body.empty()) r.body = SagaBodyTemplate::Parse(ParseJsonStrict(body).value()).value();
  return r;
}

class SagaStoreTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    for (const char* n : {"flight", "hotel", "car"}) {
      SagaStepDef s;
      s.name = n;
      // The flight first; the others name the flight's booking.
      s.request = std::string(n) == "flight" ? Req("POST", "/flights", R"({"trip":"{{/input/trip}}"})")
                                             : Req("POST", std::string("/") + n + "s",
                                                   R"({"trip":"{{/input/trip}}","after":"{{/steps/flight/body/id}}"})");
      s.compensate = Req("DELETE", std::string("/") + n + "s/{{/steps/" + n + "/body/id}}");
      def_.steps.push_back(std::move(s));
    }
    queue_.target.route = kRoute;
    queue_.target.base_path = "/api";
    queue_.headers = {{"Content-Type", "application/json"}};
    queue_.upstream_key = [](const std::string& saga, const std::string& key) { return "writ-" + saga + "-" + key; };
    queue_.again_delay = 60'000;
    StoreTest::SetUp();
  }
  SagaStore sagas() { return SagaStore(store_->db()); }
  SagaStartResult Start(const std::string& key, const std::string& input = R"({"trip":"t-1"})",
                        const std::string& tenant = "default") {
    SagaStartRequest r;
    r.tenant = tenant;
    r.route = kRoute;
    r.key = {!key.empty(), key, "fp-" + key, "{}", 86'400'000};
    r.input = input;
    r.def = &def_;
    r.queue = &queue_;
    r.respond = [](const Saga& g) {
      return StoredResponse{202, {{"Location", "/v1/sagas/" + g.id}}, "{\"sagaId\":\"" + g.id + "\"}"};
    };
    auto out = Wait<SagaStartResult>([&](auto cb) { sagas().Start(r, cb); });
    EXPECT_TRUE(out.ok()) << out.status().message();
    return out.ok() ? *out : SagaStartResult{};
  }
  std::vector<Command> Claim() {
    auto r = ClaimCommandsSync(store_->queue(), kRoute, 10, kLease, false);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::vector<Command>{};
  }
  // Records `cmd`'s outcome as the worker does, the saga moving with it.
  bool Finish(const Command& cmd, SubmissionStatus st, int status, const std::string& body, int64_t fence = -1) {
    AttemptOutcome o;
    o.id = cmd.id;
    o.fence = fence >= 0 ? fence : cmd.fence;
    o.status = st;
    o.response_status = status;
    o.response_body = body;
    o.next_attempt_at = clock_.NowMs() + 1'000;
    const SagaDef* def = &def_;
    const SagaQueue* q = &queue_;
    FakeClock* clock = &clock_;
    AttemptOutcome copy = o;
    o.on_terminal = [copy, def, q, clock](sql::Conn& c) {
      return SagaStore::OnRequestFinished(c, copy, *def, *q, clock->NowMs());
    };
    o.on_retry = [copy, clock](sql::Conn& c) { return SagaStore::OnRequestRetried(c, copy, clock->NowMs()); };
    auto r = FinishAttemptSync(store_->queue(), o);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() && *r;
  }
  // The saga's events, in order: type, and the step where one is named.
  std::vector<std::string> Events(const std::string& id) {
    auto events = store_->queue().ListEvents(id, 0);
    EXPECT_TRUE(events.ok());
    std::vector<std::string> out;
    if (!events.ok()) return out;
    for (const auto& e : *events) {
      auto p = ParseJsonStrict(e.payload);
      std::string step;
      if (p.ok())
        if (const auto* s = p->at("data").as_object().if_contains("step")) step = " " + std::string(s->as_string());
      out.push_back(e.type + step);
    }
    return out;
  }
  Saga Get(const std::string& id) {
    auto g = sagas().Get(id);
    EXPECT_TRUE(g.ok() && g->has_value());
    return g.ok() && g->has_value() ? **g : Saga{};
  }
  SagaDef def_;
  SagaQueue queue_;
};

TEST_P(SagaStoreTest, StartCommitsTheSagaItsKeyAndItsFirstRequestOnce) {
  auto first = Start("k1");
  ASSERT_TRUE(first.created);
  EXPECT_EQ(first.response.status, 202);
  const Saga& g = first.saga;
  EXPECT_EQ(g.state.status, SagaStatus::kRunning);
  auto queued = Claim();
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].method, "POST");
  EXPECT_EQ(queued[0].target, "/api/flights");
  EXPECT_EQ(queued[0].body, R"({"trip":"t-1"})");
  EXPECT_EQ(queued[0].upstream_key, "writ-" + g.id + "-flight");
  EXPECT_EQ(queued[0].ordering_key, g.id);
  EXPECT_EQ(Get(g.id).command_id, queued[0].id);

  auto again = Start("k1");
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.existing.response.body, first.response.body) << "the same saga's answer";
  clock_.Advance(kLease + 1);
  EXPECT_EQ(Claim().size(), 1u) << "no second saga, no second request";
  auto bad = Wait<SagaStartResult>([&](auto cb) {
    SagaStartRequest r;
    r.tenant = "default";
    r.route = kRoute;
    r.input = "[1]";
    r.def = &def_;
    r.queue = &queue_;
    sagas().Start(r, cb);
  });
  EXPECT_FALSE(bad.ok());
  auto all = sagas().List(kRoute, std::nullopt, 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u) << "a refused input stores nothing";
  // A tenant's list holds its own sagas, `limit` of them, however many
  // newer ones other tenants have.
  std::string mine = Start("k-acme", R"({"trip":"t-2"})", "acme").saga.id;
  for (int i = 0; i < 3; ++i) Start("k-other-" + std::to_string(i), R"({"trip":"t-3"})", "globex");
  auto acme = sagas().List(kRoute, std::nullopt, 1, "acme");
  ASSERT_TRUE(acme.ok());
  ASSERT_EQ(acme->size(), 1u);
  EXPECT_EQ(acme->front().id, mine);
  EXPECT_EQ(sagas().List(kRoute, std::nullopt, 10, "globex")->size(), 3u);
  EXPECT_EQ(sagas().List("", std::nullopt, 10)->size(), 5u) << "every tenant's";
}

TEST_P(SagaStoreTest, AnswersFeedTheNextStepAndARefusalCompensatesInReverse) {
  std::string id = Start("k1").saga.id;
  auto c = Claim();
  ASSERT_EQ(c.size(), 1u);
  // A transient failure is retried (logged), then the flight is booked.
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kProcessing, 503, "busy"));
  clock_.Advance(1'000);
  c = Claim();
  ASSERT_EQ(c.size(), 1u);
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kSucceeded, 201, R"({"id":"F1"})"));
  c = Claim();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].target, "/api/hotels");
  EXPECT_EQ(c[0].body, R"({"trip":"t-1","after":"F1"})");
  EXPECT_EQ(c[0].upstream_key, "writ-" + id + "-hotel");
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kSucceeded, 201, R"({"id":"H1"})"));
  c = Claim();
  ASSERT_EQ(c.size(), 1u);
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kFailed, 409, R"({"title":"no cars"})"));
  Saga g = Get(id);
  EXPECT_EQ(g.state.status, SagaStatus::kCompensating);
  EXPECT_NE(g.state.reason.find("step 'car' was refused (409)"), std::string::npos) << g.state.reason;
  std::vector<std::string> undone;
  for (c = Claim(); !c.empty(); c = Claim()) {
    ASSERT_EQ(c.size(), 1u);
    undone.push_back(c[0].method + " " + c[0].target + " " + c[0].upstream_key);
    ASSERT_TRUE(Finish(c[0], SubmissionStatus::kSucceeded, 204, ""));
  }
  EXPECT_EQ(undone, (std::vector<std::string>{"DELETE /api/hotels/H1 writ-" + id + "-hotel/compensate",
                                              "DELETE /api/flights/F1 writ-" + id + "-flight/compensate"}));
  g = Get(id);
  EXPECT_EQ(g.state.status, SagaStatus::kCompensated);
  EXPECT_EQ(g.command_id, "");
  EXPECT_GT(g.finished_at, 0);
  auto log = sagas().Attempts(id);
  ASSERT_TRUE(log.ok());
  std::vector<std::string> lines;
  for (const auto& a : *log)
    lines.push_back(a.step + (a.compensation ? "/compensate " : " ") + std::to_string(a.attempt) + " " +
                    std::to_string(a.status) + " " + a.outcome);
  EXPECT_EQ(lines, (std::vector<std::string>{"flight 1 503 retry", "flight 2 201 succeeded", "hotel 1 201 succeeded",
                                             "car 1 409 refused", "hotel/compensate 1 204 succeeded",
                                             "flight/compensate 1 204 succeeded"}));
  auto listed = sagas().List(kRoute, SagaStatus::kCompensated, 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, id);
  // Its events, written with each move (the outbox: the relay sends them).
  EXPECT_EQ(Events(id), (std::vector<std::string>{"saga.started", "saga.step.succeeded flight",
                                                  "saga.step.succeeded hotel", "saga.compensating",
                                                  "saga.step.compensated hotel", "saga.step.compensated flight",
                                                  "saga.compensated"}));
}

TEST_P(SagaStoreTest, AnOutcomeUnderALostLeaseMovesNothing) {
  std::string id = Start("k1").saga.id;
  auto first = Claim();
  ASSERT_EQ(first.size(), 1u);
  clock_.Advance(kLease + 1);  // its worker died; another takes it over
  auto second = Claim();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_FALSE(Finish(first[0], SubmissionStatus::kSucceeded, 201, R"({"id":"STALE"})"));
  EXPECT_EQ(Get(id).state.step, 0);
  EXPECT_TRUE(Claim().empty()) << "nothing queued by the late outcome";
  ASSERT_TRUE(Finish(second[0], SubmissionStatus::kSucceeded, 201, R"({"id":"F1"})"));
  Saga g = Get(id);
  EXPECT_EQ(g.state.step, 1);
  EXPECT_EQ(g.state.context.at("steps").at("flight").at("body").at("id"), "F1");
}

TEST_P(SagaStoreTest, ASpentCompensationIsQueuedAgainAndARefusedOneParksForAnOperator) {
  std::string id = Start("k1").saga.id;
  auto c = Claim();
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kSucceeded, 201, R"({"id":"F1"})"));
  c = Claim();
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kFailed, 422, "{}"));
  c = Claim();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].target, "/api/flights/F1");
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kDead, 503, ""));
  EXPECT_TRUE(Claim().empty()) << "queued again after a pause";
  clock_.Advance(queue_.again_delay);
  c = Claim();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].target, "/api/flights/F1");
  EXPECT_EQ(c[0].upstream_key, "writ-" + id + "-flight/compensate") << "the same key";
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kFailed, 422, ""));
  Saga g = Get(id);
  EXPECT_EQ(g.state.status, SagaStatus::kCompensationFailed);
  EXPECT_NE(g.state.reason.find("the compensation of 'flight' was refused (422)"), std::string::npos);
  auto parked = sagas().List(kRoute, SagaStatus::kCompensationFailed, 10);
  ASSERT_TRUE(parked.ok());
  EXPECT_EQ(parked->size(), 1u);

  // An operator fixed the master: the compensation goes again, at once.
  auto retried = Wait<Saga>([&](auto cb) { sagas().RetryCompensation(id, &def_, &queue_, false, cb); });
  ASSERT_TRUE(retried.ok()) << retried.status().message();
  EXPECT_EQ(retried->state.status, SagaStatus::kCompensating);
  c = Claim();
  ASSERT_EQ(c.size(), 1u);
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kFailed, 422, ""));
  // ... and refused again: marked resolved by hand.
  auto resolved = Wait<Saga>([&](auto cb) { sagas().MarkResolved(id, "refunded by phone", &queue_, cb); });
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->state.status, SagaStatus::kCompensated);
  EXPECT_NE(resolved->state.reason.find("resolved by an operator: refunded by phone"), std::string::npos);
  auto twice = Wait<Saga>([&](auto cb) { sagas().MarkResolved(id, "", &queue_, cb); });
  EXPECT_EQ(twice.status().code(), Code::kConflict);
  EXPECT_EQ(Events(id), (std::vector<std::string>{"saga.started", "saga.step.succeeded flight", "saga.compensating",
                                                  "saga.compensation_failed", "saga.compensating",
                                                  "saga.compensation_failed", "saga.compensated"}));
}

// An ended saga is kept for the route's retention, then the garbage
// collector deletes it with its step log and events; a parked one
// (compensation_failed) stays until an operator acts.
TEST_P(SagaStoreTest, EndedSagasExpireWithTheirLogAndEventsParkedOnesStay) {
  queue_.retention = 3'600'000;
  store_->AddCollector(&SagaStore::CollectExpired);
  std::string ended = Start("k1").saga.id;
  auto c = Claim();
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kSucceeded, 201, R"({"id":"F1"})"));
  c = Claim();
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kFailed, 409, "{}"));
  c = Claim();
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kSucceeded, 204, ""));  // the flight undone
  Saga g = Get(ended);
  ASSERT_EQ(g.state.status, SagaStatus::kCompensated);
  EXPECT_EQ(g.expires_at, g.finished_at + queue_.retention);
  std::string parked = Start("k2").saga.id;
  c = Claim();
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kSucceeded, 201, R"({"id":"F2"})"));
  c = Claim();
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kFailed, 409, "{}"));
  c = Claim();
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kFailed, 422, "{}"));
  ASSERT_EQ(Get(parked).state.status, SagaStatus::kCompensationFailed);
  EXPECT_EQ(Get(parked).expires_at, 0);
  auto collect = [&] { return Wait<int>([&](auto cb) { store_->CollectGarbage(100, cb); }); };
  ASSERT_TRUE(collect().ok());
  EXPECT_TRUE(sagas().Get(ended).value().has_value()) << "kept for its retention";
  clock_.Advance(queue_.retention + 1);
  ASSERT_TRUE(collect().ok());
  EXPECT_FALSE(sagas().Get(ended).value().has_value()) << "deleted after it";
  EXPECT_TRUE(sagas().Attempts(ended).value().empty()) << "with its step log";
  EXPECT_TRUE(Events(ended).empty()) << "and its events";
  EXPECT_TRUE(sagas().Get(parked).value().has_value()) << "a parked saga waits for its operator";
  EXPECT_FALSE(Events(parked).empty());
  // Resolved: it ends, and expires in its turn.
  auto resolved = Wait<Saga>([&](auto cb) { sagas().MarkResolved(parked, "", &queue_, cb); });
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->expires_at, resolved->finished_at + queue_.retention);
}

// A compensation answered 404 or 410: what it would undo is not there
// (the step never applied, or the compensation did already): done.
TEST_P(SagaStoreTest, ACompensationAnsweredNotFoundIsDone) {
  std::string id = Start("k1").saga.id;
  auto c = Claim();
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kSucceeded, 201, R"({"id":"F1"})"));
  c = Claim();
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kFailed, 409, "{}"));
  c = Claim();
  ASSERT_EQ(c.size(), 1u);
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kFailed, 404, "{}"));
  EXPECT_EQ(Get(id).state.status, SagaStatus::kCompensated);
}

TEST_P(SagaStoreTest, ACancelIsTakenBeforeThePivotOnly) {
  std::string id = Start("k1").saga.id;
  auto c = Claim();
  auto cancelled = Wait<Saga>([&](auto cb) { sagas().Cancel(id, cb); });
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().message();
  EXPECT_TRUE(cancelled->state.cancel_requested);
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kSucceeded, 201, R"({"id":"F1"})"));
  c = Claim();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].target, "/api/flights/F1") << "the flight booked meanwhile is undone";
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kSucceeded, 204, ""));
  EXPECT_EQ(Get(id).state.status, SagaStatus::kCancelled);

  def_.steps[0].pivot = true;
  std::string other = Start("k2").saga.id;
  c = Claim();
  ASSERT_TRUE(Finish(c[0], SubmissionStatus::kSucceeded, 201, R"({"id":"F2"})"));
  auto refused = Wait<Saga>([&](auto cb) { sagas().Cancel(other, cb); });
  EXPECT_EQ(refused.status().code(), Code::kConflict);
  EXPECT_NE(refused.status().message().find("passed its pivot"), std::string::npos);
  auto none = Wait<Saga>([&](auto cb) { sagas().Cancel("saga_nope", cb); });
  EXPECT_EQ(none.status().code(), Code::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, SagaStoreTest, ::testing::ValuesIn(testing::AllBackends()),
                         [](const ::testing::TestParamInfo<testing::Backend>& i) {
                           return std::string(testing::BackendName(i.param));
                         });

}  // namespace
}  // namespace writ
