// The saga's state machine (saga_machine.h): a trip of three steps (flight,
// hotel, car) driven by scripted answers. Forward success; a final failure
// at each step compensates the applied steps in reverse, each once; an
// unknown outcome is compensated too (its step first re-sent once, under its
// key, when its compensation needs its answer); compensations are re-sent when their
// budget is spent and park the saga when refused; nothing unwinds past the
// pivot; a cancel compensates once the step in flight is answered.
#include "patterns/saga/saga_machine.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/json.h"

namespace writ {
namespace {

namespace json = boost::json;

SagaRequestDef Req(const std::string& method, const std::string& path, const std::string& body = "") {
  SagaRequestDef r;
  r.method = method;
  r.path = SagaTemplate::Parse(path).value();
  if (!body.empty()) r.body = SagaBodyTemplate::Parse(ParseJsonStrict(body).value()).value();
  return r;
}

SagaDef Trip(int pivot = -1) {
  SagaDef d;
  for (const char* n : {"flight", "hotel", "car"}) {
    SagaStepDef s;
    s.name = n;
    s.request = Req("POST", std::string("/") + n + "s", R"({"trip":"{{/input/trip}}"})");
    s.compensate = Req("DELETE", std::string("/") + n + "s/{{/steps/" + n + "/body/id}}");
    d.steps.push_back(std::move(s));
  }
  if (pivot >= 0) d.steps[static_cast<size_t>(pivot)].pivot = true;
  return d;
}

SagaState Fresh() {
  SagaState s;
  s.context = json::object{{"input", json::object{{"trip", "t-1"}}}};
  return s;
}

SagaStepResult Ok(const std::string& id) {
  return {SagaStepResult::kSucceeded, false, 201, R"({"id":")" + id + "\"}", ""};
}
SagaStepResult Refused() { return {SagaStepResult::kRefused, false, 409, R"({"title":"sold out"})", ""}; }
SagaStepResult Spent(bool maybe) { return {SagaStepResult::kSpent, maybe, maybe ? 0 : 503, "", ""}; }
SagaStepResult Deleted() { return {SagaStepResult::kSucceeded, false, 204, "", ""}; }

// "METHOD path" of an action, "" when none.
std::string Of(const SagaAction& a) { return a.send ? a.method + " " + a.path : ""; }

TEST(SagaMachine, StepsRunInOrderWithEarlierAnswersAndTheSagaSucceeds) {
  SagaDef d = Trip();
  SagaState s = Fresh();
  auto a = SagaStart(d, s);
  EXPECT_EQ(Of(a), "POST /flights");
  EXPECT_EQ(a.body, R"({"trip":"t-1"})");
  EXPECT_EQ(a.key(), "flight");
  EXPECT_EQ(Of(SagaAdvance(d, s, Ok("F1"))), "POST /hotels");
  EXPECT_EQ(Of(SagaAdvance(d, s, Ok("H1"))), "POST /cars");
  EXPECT_EQ(Of(SagaAdvance(d, s, Ok("C1"))), "");
  EXPECT_EQ(s.status, SagaStatus::kSucceeded);
  EXPECT_EQ(s.context.at("steps").at("hotel").at("body").at("id"), "H1");
  EXPECT_EQ(s.context.at("steps").at("car").at("status"), 201);
  EXPECT_EQ(Of(SagaAdvance(d, s, Ok("late"))), "") << "a terminal saga takes nothing more";
}

TEST(SagaMachine, AFinalFailureAtEachStepCompensatesTheAppliedStepsInReverseOnce) {
  for (int failing = 0; failing < 3; ++failing) {
    SCOPED_TRACE("failing step " + std::to_string(failing));
    SagaDef d = Trip();
    SagaState s = Fresh();
    SagaAction a = SagaStart(d, s);
    const char* ids[] = {"F1", "H1", "C1"};
    for (int k = 0; k < failing; ++k) a = SagaAdvance(d, s, Ok(ids[k]));
    std::vector<std::string> undone;
    a = SagaAdvance(d, s, Refused());
    EXPECT_NE(s.reason.find("was refused (409)"), std::string::npos) << s.reason;
    while (a.send) {
      EXPECT_TRUE(a.compensation);
      EXPECT_EQ(a.key(), a.step + "/compensate");
      undone.push_back(Of(a));
      a = SagaAdvance(d, s, Deleted());
    }
    std::vector<std::string> expected;
    for (int k = failing - 1; k >= 0; --k)
      expected.push_back("DELETE /" + d.steps[static_cast<size_t>(k)].name + "s/" + ids[k]);
    EXPECT_EQ(undone, expected) << "the refused step is not compensated: it was not applied";
    EXPECT_EQ(s.status, SagaStatus::kCompensated);
  }
}

TEST(SagaMachine, AStepWithAnUnknownOutcomeIsCompensatedToo) {
  SagaDef d = Trip();
  // The car's compensation is built from the input, as a step that may end
  // unknown needs (its answer may never have come).
  d.steps[2].compensate = Req("DELETE", "/cars/by-trip/{{/input/trip}}");
  SagaState s = Fresh();
  SagaStart(d, s);
  SagaAdvance(d, s, Ok("F1"));
  SagaAdvance(d, s, Ok("H1"));
  auto a = SagaAdvance(d, s, Spent(true));
  EXPECT_NE(s.reason.find("its outcome unknown"), std::string::npos) << s.reason;
  EXPECT_EQ(Of(a), "DELETE /cars/by-trip/t-1");
  EXPECT_EQ(Of(a = SagaAdvance(d, s, Deleted())), "DELETE /hotels/H1");
  EXPECT_EQ(Of(a = SagaAdvance(d, s, Deleted())), "DELETE /flights/F1");
  SagaAdvance(d, s, Deleted());
  EXPECT_EQ(s.status, SagaStatus::kCompensated);

  // Spent with every attempt refused by a transient status: not applied, not compensated.
  SagaState t = Fresh();
  SagaStart(d, t);
  EXPECT_EQ(Of(SagaAdvance(d, t, Spent(false))), "");
  EXPECT_EQ(t.status, SagaStatus::kCompensated) << "nothing was applied";
}

TEST(SagaMachine, AStepWhoseAnswerWasLostIsSentOnceMoreForItBeforeItIsCompensated) {
  SagaDef d = Trip();  // each compensation names its step's own answer (/steps/<name>/body/id)
  SagaState s = Fresh();
  SagaStart(d, s);
  SagaAdvance(d, s, Ok("F1"));
  SagaAdvance(d, s, Ok("H1"));
  auto a = SagaAdvance(d, s, Spent(true));
  EXPECT_EQ(Of(a), "POST /cars") << "the car once more";
  EXPECT_FALSE(a.compensation);
  EXPECT_EQ(a.key(), "car") << "under the step's own key: a master honouring it answers as it did";
  EXPECT_TRUE(a.again) << "after a pause";
  EXPECT_EQ(s.status, SagaStatus::kCompensating);
  EXPECT_TRUE(s.recovering);
  EXPECT_NE(s.reason.find("re-sent once to learn its answer"), std::string::npos) << s.reason;
  EXPECT_EQ(Of(a = SagaAdvance(d, s, Ok("C1"))), "DELETE /cars/C1") << "then undone, with that answer";
  EXPECT_FALSE(s.recovering);
  EXPECT_EQ(Of(a = SagaAdvance(d, s, Deleted())), "DELETE /hotels/H1");
  EXPECT_EQ(Of(a = SagaAdvance(d, s, Deleted())), "DELETE /flights/F1");
  SagaAdvance(d, s, Deleted());
  EXPECT_EQ(s.status, SagaStatus::kCompensated);

  // The re-send's outcome unknown too (or refused): the compensation
  // cannot be built, and the saga is parked for an operator.
  for (const SagaStepResult& second : {Spent(true), Refused()}) {
    SagaState t = Fresh();
    SagaStart(d, t);
    EXPECT_EQ(Of(SagaAdvance(d, t, Spent(true))), "POST /flights");
    EXPECT_EQ(Of(SagaAdvance(d, t, second)), "") << "re-sent once only";
    EXPECT_EQ(t.status, SagaStatus::kCompensationFailed);
    EXPECT_NE(t.reason.find("the compensation of 'flight' cannot be built"), std::string::npos) << t.reason;
  }

  // Spent without any unknown attempt: not applied, nothing re-sent.
  SagaState u = Fresh();
  SagaStart(d, u);
  EXPECT_EQ(Of(SagaAdvance(d, u, Spent(false))), "");
  EXPECT_EQ(u.status, SagaStatus::kCompensated);
}

TEST(SagaMachine, ACompensationIsResentUntilItSucceedsAndParkedWhenRefused) {
  SagaDef d = Trip();
  SagaState s = Fresh();
  SagaStart(d, s);
  SagaAdvance(d, s, Ok("F1"));
  SagaAdvance(d, s, Ok("H1"));
  auto a = SagaAdvance(d, s, Refused());
  EXPECT_EQ(Of(a), "DELETE /hotels/H1");
  for (int i = 0; i < 5; ++i) {
    a = SagaAdvance(d, s, Spent(true));
    EXPECT_EQ(Of(a), "DELETE /hotels/H1") << "the same compensation again";
    EXPECT_TRUE(a.again) << "after a pause";
    EXPECT_EQ(s.status, SagaStatus::kCompensating);
  }
  EXPECT_EQ(Of(a = SagaAdvance(d, s, Deleted())), "DELETE /flights/F1");
  EXPECT_FALSE(a.again);
  a = SagaAdvance(d, s, {SagaStepResult::kRefused, false, 422, "", "the flight has departed"});
  EXPECT_EQ(Of(a), "");
  EXPECT_EQ(s.status, SagaStatus::kCompensationFailed);
  EXPECT_NE(s.reason.find("the compensation of 'flight' was refused (422): the flight has departed"), std::string::npos)
      << s.reason;
}

TEST(SagaMachine, NothingUnwindsPastThePivot) {
  SagaDef d = Trip(/*pivot=*/1);  // the hotel is the point of no return
  SagaState s = Fresh();
  SagaStart(d, s);
  SagaAdvance(d, s, Ok("F1"));
  EXPECT_FALSE(s.pivot_passed);
  SagaAdvance(d, s, Ok("H1"));
  EXPECT_TRUE(s.pivot_passed);
  EXPECT_FALSE(SagaCancel(d, s)) << "no cancel past the pivot";
  for (auto r : {Refused(), Spent(true), Spent(false)}) {
    auto a = SagaAdvance(d, s, r);
    EXPECT_EQ(Of(a), "POST /cars") << "forward recovery";
    EXPECT_TRUE(a.again);
    EXPECT_EQ(s.status, SagaStatus::kRunning);
  }
  SagaAdvance(d, s, Ok("C1"));
  EXPECT_EQ(s.status, SagaStatus::kSucceeded);

  // A failure of the pivot itself still unwinds what came before it.
  SagaState t = Fresh();
  SagaStart(d, t);
  SagaAdvance(d, t, Ok("F2"));
  EXPECT_EQ(Of(SagaAdvance(d, t, Refused())), "DELETE /flights/F2");
}

TEST(SagaMachine, ACancelCompensatesOnceTheStepInFlightIsAnswered) {
  SagaDef d = Trip();
  SagaState s = Fresh();
  SagaStart(d, s);
  SagaAdvance(d, s, Ok("F1"));
  ASSERT_TRUE(SagaCancel(d, s));  // while the hotel is in flight
  auto a = SagaAdvance(d, s, Ok("H1"));
  EXPECT_EQ(Of(a), "DELETE /hotels/H1") << "the step applied meanwhile is undone too";
  EXPECT_EQ(Of(a = SagaAdvance(d, s, Deleted())), "DELETE /flights/F1");
  SagaAdvance(d, s, Deleted());
  EXPECT_EQ(s.status, SagaStatus::kCancelled);
  EXPECT_FALSE(SagaCancel(d, s));
}

TEST(SagaMachine, AStepThatCannotBeBuiltCountsAsRefusedWithoutACall) {
  SagaDef d = Trip();
  d.steps[1].request = Req("POST", "/hotels/{{/input/missing}}");
  SagaState s = Fresh();
  SagaStart(d, s);
  auto a = SagaAdvance(d, s, Ok("F1"));
  EXPECT_EQ(Of(a), "DELETE /flights/F1");
  EXPECT_NE(s.reason.find("step 'hotel' cannot be built: '/input/missing' names nothing"), std::string::npos)
      << s.reason;
  // Steps without a compensation have nothing to undo.
  SagaDef e = Trip();
  e.steps[0].compensate.reset();
  SagaState t = Fresh();
  SagaStart(e, t);
  SagaAdvance(e, t, Ok("F1"));
  EXPECT_EQ(Of(SagaAdvance(e, t, Refused())), "");
  EXPECT_EQ(t.status, SagaStatus::kCompensated);
}

TEST(SagaMachine, StatusNamesRoundTrip) {
  for (auto st : {SagaStatus::kRunning, SagaStatus::kCompensating, SagaStatus::kSucceeded, SagaStatus::kCompensated,
                  SagaStatus::kCompensationFailed, SagaStatus::kCancelled})
    EXPECT_EQ(ParseSagaStatus(SagaStatusName(st)), st);
  EXPECT_FALSE(ParseSagaStatus("done"));
}

}  // namespace
}  // namespace writ
