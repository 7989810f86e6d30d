// Sagas end to end: real mock master and writ processes over loopback. A trip
// (flight, hotel, car) is booked step by step, each step with a key derived
// from the saga and the step; a car the master refuses unwinds the hotel and
// the flight in reverse, each once; a cancel before the pivot compensates;
// bad input is refused with nothing stored; the key replays the same saga.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "core/json.h"
#include "testing/cluster.h"

namespace writ::testing {
namespace {

namespace json = boost::json;

// `three`: the hotel and the car are booked at masters of their own
// (upstreams "hotels" and "cars"); the flight at the route's.
RouteOptions Trips(const std::string& more = "", bool three = false) {
  RouteOptions r;
  r.path = "/trips";
  r.mode = "saga";
  r.extra =
      "async: {lease: 4s, poll_interval: 50ms, backoff_base: 20ms, backoff_max: 200ms, max_attempts: 25}\n"
      "saga:\n"
      "  compensation_retry: 200ms\n"
      "  steps:\n"
      "    - name: flight\n"
      "      path: /flights\n"
      "      body: {trip: \"{{/input/trip}}\", from: \"{{/input/from}}\"}\n"
      "      compensate: {method: DELETE, path: \"/flights/{{/steps/flight/body/id}}\"}\n"
      "    - name: hotel\n" +
      std::string(three ? "      upstream: hotels\n" : "") +
      "      path: /hotels\n"
      "      body: {trip: \"{{/input/trip}}\", flight: \"{{/steps/flight/body/id}}\", nights: \"{{/input/nights}}\"}\n"
      "      compensate: {method: DELETE, path: \"/hotels/{{/steps/hotel/body/id}}\"}\n"
      "    - name: car\n" +
      std::string(three ? "      upstream: cars\n" : "") +
      "      path: /cars\n"
      "      body: {trip: \"{{/input/trip}}\", invalid: \"{{/input/noCar}}\"}\n" +
      more;
  return r;
}

class SagaTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& master_flags = {"--honor-idempotency-key"}) {
    master_.Start(dir_.path(), master_flags);
    writ_.Start(dir_.path(), master_.port(), {Trips()});
  }
  // The flights at master_, the hotels and the cars at masters of their own
  // (upstreams "hotels" and "cars", for Trips(..., true)); `car_faults` for the cars'.
  void StartThreeMasters(MockMasterProcess& hotels, MockMasterProcess& cars, std::vector<std::string> car_faults) {
    master_.Start(dir_.path(), {"--honor-idempotency-key"});
    std::filesystem::create_directories(dir_.path() + "/hotels");
    std::filesystem::create_directories(dir_.path() + "/cars");
    hotels.Start(dir_.path() + "/hotels", {"--honor-idempotency-key"});
    car_faults.insert(car_faults.begin(), "--honor-idempotency-key");
    cars.Start(dir_.path() + "/cars", car_faults);
    writ_.add_upstream("hotels", hotels.port());
    writ_.add_upstream("cars", cars.port());
  }
  Response Book(const std::string& key, const std::string& body) {
    return Call(writ_.port(), "POST", "/trips", body, {{"Content-Type", "application/json"}, {"Idempotency-Key", key}});
  }
  json::value Saga(const std::string& id) { return ParseBody(Call(writ_.port(), "GET", "/v1/sagas/" + id)); }
  json::value Finished(const std::string& id) {
    json::value s;
    EXPECT_TRUE(Eventually(
        [&] {
          s = Saga(id);
          std::string st = Str(s, "status");
          return st != "running" && st != "compensating";
        },
        20'000))
        << json::serialize(s);
    return s;
  }
  int64_t AtMaster(const std::string& collection) {
    int64_t n = 0;
    auto log = ParseBody(Call(master_.port(), "GET", "/_log"));
    for (const auto& e : log.at("requests").as_array())
      if (Str(e, "method") == "POST" && Str(e, "path") == "/" + collection && e.at("status").as_int64() < 300) ++n;
    return n;
  }
  TempDir dir_;
  MockMasterProcess master_;
  WritProcess writ_;
};

TEST_F(SagaTest, ATripIsBookedStepByStepWithEarlierAnswersAndDerivedKeys) {
  Start();
  auto r = Book("trip-1", R"({"trip":"t-1","from":"OSL","nights":2,"noCar":false})");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = Str(ParseBody(r), "sagaId");
  auto location = FindHeader(r.headers, "Location");
  ASSERT_TRUE(location);
  EXPECT_EQ(std::string(*location), "/v1/sagas/" + id);
  auto s = Finished(id);
  EXPECT_EQ(Str(s, "status"), "succeeded") << json::serialize(s);
  std::string flight = Str(s.at("steps").at("flight").at("body"), "id");
  auto hotel = s.at("steps").at("hotel").at("body");
  EXPECT_EQ(Str(hotel, "flight"), flight) << "the hotel's body names the flight's answer";
  EXPECT_EQ(hotel.at("nights"), 2) << "a whole placeholder keeps the value's type";
  auto log = ParseBody(Call(master_.port(), "GET", "/_log"));
  std::vector<std::string> keys;
  for (const auto& e : log.at("requests").as_array())
    if (Str(e, "method") == "POST") keys.push_back(Str(e, "key"));
  EXPECT_EQ(keys, (std::vector<std::string>{"writ:" + id + ":flight", "writ:" + id + ":hotel", "writ:" + id + ":car"}));
  EXPECT_EQ(s.at("attempts").as_array().size(), 3u);

  auto late = Call(writ_.port(), "POST", "/v1/sagas/" + id + "/cancel");
  EXPECT_EQ(late.status, 409) << "a succeeded saga is not cancelled";
  EXPECT_EQ(ProblemType(late), "saga-state");
  // The same key: the same saga, nothing booked again.
  auto again = Book("trip-1", R"({"trip":"t-1","from":"OSL","nights":2,"noCar":false})");
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(Str(ParseBody(again), "sagaId"), id);
  EXPECT_EQ(AtMaster("flights"), 1);
  auto contract = ParseBody(Call(writ_.port(), "GET", "/.well-known/writ/routes"));
  EXPECT_EQ(contract.at("routes").at(0).at("promises").at("steps").as_array().size(), 3u);
}

TEST_F(SagaTest, ARefusedCarUnwindsTheHotelAndTheFlightInReverseOnce) {
  Start();
  auto r = Book("trip-2", R"({"trip":"t-2","from":"OSL","nights":1,"noCar":true})");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = Str(ParseBody(r), "sagaId");
  auto s = Finished(id);
  EXPECT_EQ(Str(s, "status"), "compensated") << json::serialize(s);
  EXPECT_NE(Str(s, "reason").find("step 'car' was refused (422)"), std::string::npos) << Str(s, "reason");
  std::vector<std::string> deletes;
  auto log = ParseBody(Call(master_.port(), "GET", "/_log"));
  for (const auto& e : log.at("requests").as_array())
    if (Str(e, "method") == "DELETE") deletes.push_back(Str(e, "path").substr(0, 7) + " " + Str(e, "key"));
  EXPECT_EQ(deletes, (std::vector<std::string>{"/hotels writ:" + id + ":hotel/compensate",
                                               "/flight writ:" + id + ":flight/compensate"}));
  auto stats = ParseBody(Call(master_.port(), "GET", "/_stats"));
  EXPECT_EQ(stats.at("records").as_int64(), 0) << "no flight or hotel left booked";
  EXPECT_EQ(stats.at("duplicateApplies").as_int64(), 0);
  auto list = ParseBody(Call(writ_.port(), "GET", "/v1/sagas?status=compensated"));
  ASSERT_EQ(list.at("sagas").as_array().size(), 1u);
}

TEST_F(SagaTest, AMasterThatFailsAndDropsAnswersStillBooksEachStepOnce) {
  Start({"--honor-idempotency-key", "--error-rate", "0.3", "--drop-after-commit", "0.2", "--seed", "7"});
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    auto r = Book("trip-f" + std::to_string(i), R"({"trip":"f)" + std::to_string(i) +
                                                    R"(","from":"OSL","nights":1,"noCar":)" +
                                                    (i % 3 == 0 ? "true" : "false") + "}");
    ASSERT_EQ(r.status, 202) << r.body;
    ids.push_back(Str(ParseBody(r), "sagaId"));
  }
  int succeeded = 0, compensated = 0;
  for (const auto& id : ids) {
    auto s = Finished(id);
    std::string st = Str(s, "status");
    succeeded += st == "succeeded";
    compensated += st == "compensated";
    EXPECT_TRUE(st == "succeeded" || st == "compensated") << json::serialize(s);
  }
  EXPECT_EQ(compensated, 4) << "trips 0, 3, 6, 9 have no car";
  auto stats = ParseBody(Call(master_.port(), "GET", "/_stats"));
  EXPECT_EQ(stats.at("duplicateApplies").as_int64(), 0);
  EXPECT_EQ(stats.at("records").as_int64(), 3 * succeeded) << "a compensated trip leaves nothing booked";
}

TEST_F(SagaTest, ACancelBeforeThePivotCompensatesAndBadInputStoresNothing) {
  master_.Start(dir_.path(), {"--honor-idempotency-key", "--latency", "300ms"});
  writ_.Start(dir_.path(), master_.port(), {Trips()});
  auto r = Book("trip-c", R"({"trip":"t-c","from":"OSL","nights":1,"noCar":false})");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = Str(ParseBody(r), "sagaId");
  auto cancel = Call(writ_.port(), "POST", "/v1/sagas/" + id + "/cancel");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  auto s = Finished(id);
  EXPECT_EQ(Str(s, "status"), "cancelled") << json::serialize(s);
  EXPECT_EQ(ParseBody(Call(master_.port(), "GET", "/_stats")).at("records").as_int64(), 0);
  auto twice = Call(writ_.port(), "POST", "/v1/sagas/" + id + "/cancel");
  EXPECT_EQ(twice.status, 200) << "a cancel is idempotent";
  EXPECT_EQ(Str(ParseBody(twice), "status"), "cancelled");

  EXPECT_EQ(Book("bad-1", "{nope").status, 400);
  EXPECT_EQ(Book("bad-2", "[1,2]").status, 422);
  auto incomplete = Book("bad-3", R"({"trip":"t-x"})");
  EXPECT_EQ(incomplete.status, 422) << incomplete.body;
  EXPECT_EQ(ProblemType(incomplete), "input-incomplete");
  EXPECT_EQ(json::serialize(ParseBody(incomplete).at("missing")), R"(["/input/from","/input/nights","/input/noCar"])");
  EXPECT_EQ(Call(writ_.port(), "POST", "/trips", "{}", {{"Content-Type", "application/json"}}).status, 400)
      << "the key is required";
  auto list = ParseBody(Call(writ_.port(), "GET", "/v1/sagas"));
  EXPECT_EQ(list.at("sagas").as_array().size(), 1u) << "refused input stores no saga";
  EXPECT_EQ(Call(writ_.port(), "GET", "/v1/sagas/saga_nope").status, 404);
}

TEST_F(SagaTest, StepsOnThreeMastersGoEachToItsOwnAndUnwindThere) {
  MockMasterProcess hotels, cars;
  StartThreeMasters(hotels, cars, {"--error-rate", "0.3", "--seed", "3"});
  writ_.Start(dir_.path(), master_.port(), {Trips("", true)});
  auto booked = Book("trip-3a", R"({"trip":"t-3a","from":"OSL","nights":1,"noCar":false})");
  auto refused = Book("trip-3b", R"({"trip":"t-3b","from":"OSL","nights":1,"noCar":true})");
  ASSERT_EQ(booked.status, 202) << booked.body;
  ASSERT_EQ(refused.status, 202) << refused.body;
  std::string ok_id = Str(ParseBody(booked), "sagaId"), bad_id = Str(ParseBody(refused), "sagaId");
  EXPECT_EQ(Str(Finished(ok_id), "status"), "succeeded");
  auto s = Finished(bad_id);
  EXPECT_EQ(Str(s, "status"), "compensated") << json::serialize(s);
  // Each master saw only its own collection: POSTs of both trips, and the
  // refused trip's compensation.
  auto paths = [](const MockMasterProcess& m) {
    std::vector<std::string> out;
    auto log = ParseBody(Call(m.port(), "GET", "/_log"));
    for (const auto& e : log.at("requests").as_array())
      if (e.at("status").as_int64() < 500) out.push_back(Str(e, "method") + " " + Str(e, "path").substr(0, 7));
    return out;
  };
  EXPECT_EQ(paths(master_), (std::vector<std::string>{"POST /flight", "POST /flight", "DELETE /flight"}));
  EXPECT_EQ(paths(hotels), (std::vector<std::string>{"POST /hotels", "POST /hotels", "DELETE /hotels"}));
  auto car_paths = paths(cars);
  EXPECT_EQ(car_paths, (std::vector<std::string>{"POST /cars", "POST /cars"}));
  for (auto* m : {&master_, &hotels, &cars}) EXPECT_EQ(m->Stat("duplicateApplies"), 0);
  EXPECT_EQ(master_.Stat("records") + hotels.Stat("records") + cars.Stat("records"), 3)
      << "the booked trip's three, nothing of the compensated one";
  // The steps of the other masters are queued under "{route}@{upstream}".
  auto subs = ParseBody(Call(writ_.port(), "GET", "/v1/submissions?limit=100"));
  std::map<std::string, int> by_route;
  for (const auto& item : subs.at("items").as_array()) ++by_route[Str(item, "route")];
  EXPECT_EQ(by_route, (std::map<std::string, int>{{"POST /trips", 3}, {"POST /trips@hotels", 3}, {"POST /trips@cars", 2}}))
      << json::serialize(subs);
}

// The car's master applies each booking and loses every answer: the car's
// outcome is unknown, and its compensation needs its id. Writ sends the
// car once more under the same key (the master, honouring it, answers as it
// did), then cancels the car with that id, the hotel and the flight.
TEST_F(SagaTest, ACarWhoseAnswerWasLostIsAskedForAgainUnderItsKeyThenUndone) {
  MockMasterProcess hotels, cars;
  StartThreeMasters(hotels, cars, {"--drop-after-commit", "1"});
  RouteOptions route = Trips("      compensate: {method: DELETE, path: \"/cars/{{/steps/car/body/id}}\"}\n", true);
  route.extra.replace(route.extra.find("max_attempts: 25"), 16, "max_attempts: 3");
  route.extra.replace(route.extra.find("compensation_retry: 200ms"), 25, "compensation_retry: 1s");
  writ_.Start(dir_.path(), master_.port(), {route});
  auto r = Book("trip-lost", R"({"trip":"t-lost","from":"OSL","nights":1,"noCar":false})");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = Str(ParseBody(r), "sagaId");
  // The car's budget spent on lost answers: the saga compensates, and
  // first asks for the car again (after compensation_retry).
  json::value s;
  ASSERT_TRUE(Eventually([&] { return Str(s = Saga(id), "status") == "compensating"; }, 20'000)) << json::serialize(s);
  EXPECT_NE(Str(s, "reason").find("re-sent once to learn its answer"), std::string::npos) << json::serialize(s);
  EXPECT_EQ(cars.Stat("records"), 1) << "applied once, its answer lost";
  ASSERT_EQ(Call(cars.port(), "POST", "/_faults", R"({"dropAfterCommit":0})").status, 200);
  s = Finished(id);
  EXPECT_EQ(Str(s, "status"), "compensated") << json::serialize(s);
  for (auto* m : {&master_, &hotels, &cars}) {
    EXPECT_EQ(m->Stat("records"), 0) << "nothing left booked";
    EXPECT_EQ(m->Stat("duplicateApplies"), 0);
  }
  // The step log: the car's tries, its re-send (a step, not a compensation)
  // answered, then the three compensations in reverse.
  std::vector<std::string> log;
  for (const auto& a : s.at("attempts").as_array())
    if (Str(a, "outcome") != "retry")
      log.push_back(Str(a, "step") + (a.at("compensation").as_bool() ? " undo " : " ") + Str(a, "outcome"));
  EXPECT_EQ(log, (std::vector<std::string>{"flight succeeded", "hotel succeeded", "car spent", "car succeeded",
                                           "car undo succeeded", "hotel undo succeeded", "flight undo succeeded"}))
      << json::serialize(s);
}

// A refund the master refuses parks the saga for an operator: listed, on
// /metrics, sent again at once by retry-compensation, closed by
// mark-resolved. Every move is an event in the saga's stream and, with
// notify:, a signed webhook, in order.
TEST_F(SagaTest, AParkedCompensationIsAnOperatorsAndEveryMoveIsAnEvent) {
  MockMasterProcess receiver;
  std::filesystem::create_directories(dir_.path() + "/receiver");
  receiver.Start(dir_.path() + "/receiver");
  master_.Start(dir_.path(), {"--honor-idempotency-key"});
  RouteOptions orders;
  orders.path = "/orders";
  orders.mode = "saga";
  orders.extra =
      "async: {lease: 4s, poll_interval: 50ms, backoff_base: 20ms, backoff_max: 200ms, max_attempts: 5}\n"
      "notify: {url: 'http://127.0.0.1:" + std::to_string(receiver.port()) + "/hooks', secret: 'whsec_dGVzdHNlY3JldA=='}\n"
      "saga:\n"
      "  compensation_retry: 200ms\n"
      "  steps:\n"
      "    - name: pay\n"
      "      path: /payments\n"
      "      body: {order: \"{{/input/order}}\"}\n"
      "      compensate: {method: POST, path: /refunds, body: {payment: \"{{/steps/pay/body/id}}\", invalid: true}}\n"
      "    - name: ship\n"
      "      path: /shipments\n"
      "      body: {order: \"{{/input/order}}\", invalid: true}\n";
  writ_.Start(dir_.path(), master_.port(), {orders});
  auto r = Call(writ_.port(), "POST", "/orders", R"({"order":"o-1"})",
                {{"Content-Type", "application/json"}, {"Idempotency-Key", "o-1"}});
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = Str(ParseBody(r), "sagaId");
  auto s = Finished(id);
  ASSERT_EQ(Str(s, "status"), "compensation_failed") << json::serialize(s);
  EXPECT_NE(Str(s, "reason").find("the compensation of 'pay' was refused (422)"), std::string::npos);
  auto parked = ParseBody(Call(writ_.admin_port(), "GET", "/v1/sagas?status=compensation_failed"));
  ASSERT_EQ(parked.at("sagas").as_array().size(), 1u);
  auto metrics = Call(writ_.admin_port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("writ_sagas{route=\"POST /orders\",status=\"compensation_failed\"} 1"), std::string::npos)
      << metrics.substr(0, 2000);

  // Its requests are the saga's: the submissions API does not go around it.
  std::string ship = Str(Saga(id).at("attempts").at(1), "submissionId");
  auto redrive = Call(writ_.admin_port(), "POST", "/v1/submissions/" + ship + "/retry");
  EXPECT_EQ(redrive.status, 409) << redrive.body;
  EXPECT_EQ(ProblemType(redrive), "submission-owned-by-saga");
  EXPECT_NE(redrive.body.find("/v1/sagas/" + id + "/retry-compensation"), std::string::npos) << redrive.body;
  std::string cli;
  EXPECT_EQ(RunWrit({"submissions", "retry", "--config", writ_.config_path(), ship}, &cli), 1);
  EXPECT_NE(cli.find("a request of saga " + id), std::string::npos) << cli;
  // A client may not act for an operator.
  EXPECT_EQ(Call(writ_.port(), "POST", "/v1/sagas/" + id + "/mark-resolved").status, 404)
      << "operator actions are on the admin listener";
  auto refund_posts = [&] {
    int n = 0;
    auto log = ParseBody(Call(master_.port(), "GET", "/_log"));
    for (const auto& e : log.at("requests").as_array()) n += Str(e, "path") == "/refunds";
    return n;
  };
  EXPECT_EQ(refund_posts(), 1);
  auto retried = Call(writ_.admin_port(), "POST", "/v1/sagas/" + id + "/retry-compensation");
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(Str(ParseBody(retried), "status"), "compensating");
  s = Finished(id);
  EXPECT_EQ(Str(s, "status"), "compensation_failed") << "refused again";
  EXPECT_EQ(refund_posts(), 2) << "sent again at once, with the same key";
  // The same from the command line, beside the running server.
  std::string out;
  ASSERT_EQ(RunWrit({"sagas", "list", "--config", writ_.config_path(), "--status", "compensation_failed"}, &out), 0)
      << out;
  EXPECT_NE(out.find(id + "\tPOST /orders\tcompensation_failed"), std::string::npos) << out;
  ASSERT_EQ(RunWrit({"sagas", "retry-compensation", "--config", writ_.config_path(), id}, &out), 0) << out;
  EXPECT_NE(out.find(id + ": compensating"), std::string::npos) << out;
  s = Finished(id);
  EXPECT_EQ(refund_posts(), 3) << "the server's worker took the CLI's request";
  EXPECT_EQ(RunWrit({"sagas", "retry-compensation", "--config", writ_.config_path(), "saga_nope"}, &out), 1);
  EXPECT_NE(out.find("saga_nope: no such saga"), std::string::npos) << out;
  out.clear();
  ASSERT_EQ(RunWrit({"sagas", "show", "--config", writ_.config_path(), id}, &out), 0) << out;
  auto shown = ParseJsonStrict(out.substr(out.find("{\"sagaId"), out.find('\n', out.find("{\"sagaId")) - out.find("{\"sagaId")));
  ASSERT_TRUE(shown.ok()) << out;
  EXPECT_EQ(shown->at("attempts").as_array().size(), 5u) << out;
  auto resolved = Call(writ_.admin_port(), "POST", "/v1/sagas/" + id + "/mark-resolved", R"({"note":"refunded by hand"})");
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  EXPECT_EQ(Str(ParseBody(resolved), "status"), "compensated");
  EXPECT_NE(Str(ParseBody(resolved), "reason").find("refunded by hand"), std::string::npos);
  EXPECT_EQ(Call(writ_.admin_port(), "POST", "/v1/sagas/" + id + "/mark-resolved").status, 409);

  const std::vector<std::string> moves = {
      "saga.started",      "saga.step.succeeded",     "saga.compensating", "saga.compensation_failed",
      "saga.compensating", "saga.compensation_failed", "saga.compensating", "saga.compensation_failed",
      "saga.compensated"};
  // The saga's stream: every event, then 204 once it has ended and all is seen.
  auto stream = Call(writ_.port(), "GET", "/v1/sagas/" + id + "/events");
  ASSERT_EQ(stream.status, 200) << stream.body;
  std::vector<std::string> seen;
  std::map<std::string, std::string> ids;  // event id -> type
  std::string last;
  std::istringstream lines(stream.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("event: ", 0) == 0) {
      seen.push_back(line.substr(7));
      ids[last] = seen.back();
    }
    if (line.rfind("id: ", 0) == 0) last = line.substr(4);
  }
  EXPECT_EQ(seen, moves) << stream.body;
  EXPECT_EQ(Call(writ_.port(), "GET", "/v1/sagas/" + id + "/events", "", {{"Last-Event-ID", last}}).status, 204);
  // The webhooks: every event at least once, under its id, in the saga's
  // order (the next one waits until the one before it was delivered).
  std::map<std::string, std::string> hooks;  // webhook-id -> type
  std::vector<std::string> arrived;          // types, in the order first delivered
  EXPECT_TRUE(Eventually(
      [&] {
        hooks.clear();
        arrived.clear();
        auto log = ParseBody(Call(receiver.port(), "GET", "/_log"));
        for (const auto& e : log.at("requests").as_array()) {
          auto body = ParseJsonStrict(Str(e, "body"));
          if (!body.ok() || e.at("status").as_int64() != 201) continue;
          if (hooks.emplace(Str(e, "webhook-id"), Str(*body, "type")).second) arrived.push_back(Str(*body, "type"));
        }
        return hooks.size() >= ids.size();
      },
      10'000));
  EXPECT_EQ(hooks, ids);
  EXPECT_EQ(arrived, seen) << "webhooks in the saga's order";
}

}  // namespace
}  // namespace writ::testing
