// The NATS JetStream sink end to end: a real nats-server -js, mock master
// and writ processes over loopback, on both stores. Every event reaches the
// stream once, under its id, in order per submission; a nats-server
// restarted under load loses nothing; writ starts without NATS and catches
// up; the webhook and the NATS sink keep their own delivery state.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "store/postgres/pg_conn.h"
#include "store/sql/conn.h"
#include "testing/cluster.h"
#include "testing/nats.h"
#include "testing/postgres.h"

namespace writ::testing {
namespace {

namespace json = boost::json;

RouteOptions NatsRoute(const std::string& sinks = "sinks: {nats: {}}") {
  RouteOptions r;
  r.path = "/orders";
  r.mode = "async";
  r.extra = "async: {lease: 4s, poll_interval: 50ms, backoff_base: 20ms, backoff_max: 200ms}\n" + sinks + "\n";
  return r;
}

std::string NatsBlock(const std::string& url, const std::string& extra = "") {
  return "nats:\n  url: " + url + "\n  duplicate_window: 2m\n  timeout: 1s\n  max_backoff: 1s\n" + extra;
}

// Checks the stream against the store: every event once, under its id, on
// its subject, and each submission's events in the order the store wrote them.
void ExpectStreamMatchesStore(const std::vector<StreamMessage>& msgs, const std::vector<EventRow>& rows) {
  std::map<std::string, int> seen;
  std::map<std::string, std::vector<std::string>> order;  // submission -> event ids at the consumer
  for (const auto& m : msgs) {
    ++seen[m.id];
    order[m.submission].push_back(m.id);
    EXPECT_EQ(m.subject, "writ.events.POST_orders." + m.type);
    auto data = json::parse(m.data).as_object();
    EXPECT_EQ(data["type"].as_string(), m.type) << "the payload is the webhook's";
    EXPECT_EQ(data["data"].as_object()["submissionId"].as_string(), m.submission);
  }
  std::map<std::string, std::vector<std::string>> written;
  for (const auto& r : rows) {
    EXPECT_EQ(seen[r.id], 1) << "event " << r.id << " (" << r.type << ") seen " << seen[r.id] << " times";
    EXPECT_TRUE(r.published) << r.id;
    written[r.submission].push_back(r.id);
  }
  EXPECT_EQ(msgs.size(), rows.size());
  EXPECT_EQ(order, written) << "each submission's events in the order they were written";
}

class NatsSink : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    nats_.Start(dir_.path());
    master_.Start(dir_.path());
    writ_.set_store_url(FreshStoreUrl(GetParam(), dir_.path()));
  }
  std::vector<StreamMessage> WaitForStream(size_t n, Millis timeout = 20'000) {
    std::vector<StreamMessage> msgs;
    Eventually(
        [&] {
          msgs = ReadStream(nats_.url(), "WRIT_EVENTS");
          return msgs.size() >= n;
        },
        timeout);
    return msgs;
  }
  // Posts `n` orders (the odd ones invalid: refused finally) and waits until
  // each has finished and every event is published.
  std::vector<EventRow> PostAndSettle(int from, int n) {
    for (int i = from; i < from + n; ++i) {
      std::string body = "{\"n\":" + std::to_string(i) + (i % 2 ? ",\"invalid\":true}" : "}");
      EXPECT_EQ(PostJson(writ_.port(), "/orders", "order-" + std::to_string(i), body).status, 202);
    }
    std::vector<EventRow> rows;
    EXPECT_TRUE(Eventually(
        [&] {
          rows = StoredEvents(writ_.store_url());
          int finished = 0;
          bool all_published = true;
          for (const auto& r : rows) {
            finished += r.type == "submission.succeeded" || r.type == "submission.failed";
            all_published = all_published && r.published;
          }
          return finished == from + n && all_published;
        },
        30'000));
    return rows;
  }

  TempDir dir_;
  NatsServerProcess nats_;
  MockMasterProcess master_;
  WritProcess writ_;
};

TEST_P(NatsSink, EveryEventReachesTheStreamOnceUnderItsIdInOrder) {
  writ_.set_top_extra(NatsBlock(nats_.url()));
  writ_.Start(dir_.path(), master_.port(), {NatsRoute()});
  auto rows = PostAndSettle(0, 20);
  auto msgs = WaitForStream(rows.size());
  ExpectStreamMatchesStore(msgs, rows);
  std::set<std::string> types;
  for (const auto& m : msgs) types.insert(m.type);
  for (const char* t : {"submission.accepted", "submission.succeeded", "submission.failed"})
    EXPECT_TRUE(types.count(t)) << t;
  EXPECT_EQ(StreamDuplicateWindow(nats_.url(), "WRIT_EVENTS"), 120'000) << "created with nats.duplicate_window";
  auto metrics = Call(writ_.admin_port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("writ_nats_published_total{route=\"POST /orders\"} " + std::to_string(rows.size())),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("writ_nats_lag_seconds 0"), std::string::npos);
}

// nats-server stopped and started again while clients keep writing: the
// relay reconnects, every event lands once, in order per submission.
TEST_P(NatsSink, AServerRestartedUnderLoadLosesNothing) {
  writ_.set_top_extra(NatsBlock(nats_.url()));
  writ_.Start(dir_.path(), master_.port(), {NatsRoute()});
  std::atomic<int> next{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&] {
      while (!stop) {
        int i = next++;
        std::string body = "{\"n\":" + std::to_string(i) + (i % 5 == 0 ? ",\"invalid\":true}" : "}");
        auto r = PostJson(writ_.port(), "/orders", "order-" + std::to_string(i), body);
        EXPECT_EQ(r.status, 202) << r.body;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  ASSERT_TRUE(Eventually([&] { return next.load() >= 100; }));
  nats_.Kill();  // kill -9: what JetStream acknowledged is on disk
  // Down longer than nats.timeout: rounds fail and are tried again.
  std::this_thread::sleep_for(std::chrono::milliseconds(2'500));
  auto waiting = Call(writ_.admin_port(), "GET", "/metrics").body;
  nats_.Restart();
  int at_restart = next.load();
  ASSERT_TRUE(Eventually([&] { return next.load() >= at_restart + 100; }));
  stop = true;
  for (auto& c : clients) c.join();
  auto rows = PostAndSettle(next.load(), 0);
  auto msgs = WaitForStream(rows.size());
  ExpectStreamMatchesStore(msgs, rows);
  EXPECT_NE(waiting.find("writ_nats_publish_failures_total"), std::string::npos)
      << "publishes failed while the server was down";
  EXPECT_NE(writ_.ReadLog().find("nats publish failed"), std::string::npos);
}

// writ starts with NATS unreachable: writes are accepted and processed, the
// events wait (lag grows), and are published once the server is up.
TEST_P(NatsSink, WritStartsWithoutNatsAndCatchesUp) {
  nats_.Stop();
  writ_.set_top_extra(NatsBlock(nats_.url()));
  writ_.Start(dir_.path(), master_.port(), {NatsRoute()});
  for (int i = 0; i < 6; ++i)
    ASSERT_EQ(PostJson(writ_.port(), "/orders", "early-" + std::to_string(i), "{\"n\":1}").status, 202);
  std::this_thread::sleep_for(std::chrono::milliseconds(1'500));
  for (const auto& r : StoredEvents(writ_.store_url())) EXPECT_FALSE(r.published) << "no server yet";
  nats_.Restart();
  std::vector<EventRow> rows;
  ASSERT_TRUE(Eventually(
      [&] {
        rows = StoredEvents(writ_.store_url());
        int done = 0;
        for (const auto& r : rows) done += r.published && r.type == "submission.succeeded";
        return done == 6;
      },
      30'000));
  rows = StoredEvents(writ_.store_url());
  ExpectStreamMatchesStore(WaitForStream(rows.size()), rows);
  EXPECT_NE(writ_.ReadLog().find("nats connect failed"), std::string::npos);
}

// A route with a webhook and a NATS sink: the receiver is down, NATS is up.
// The events are published at once and wait for the webhook; when the
// receiver is back it gets each one.
TEST_P(NatsSink, WebhookAndNatsKeepTheirOwnDeliveryState) {
  TempDir receiver_dir;
  MockMasterProcess receiver;
  uint16_t receiver_port = RestartablePort();
  writ_.set_top_extra(NatsBlock(nats_.url()));
  writ_.Start(dir_.path(), master_.port(),
              {NatsRoute("sinks:\n  nats: {}\n  webhook: {url: 'http://127.0.0.1:" + std::to_string(receiver_port) +
                         "/hooks', secret: whsec_c2VjcmV0LXNlY3JldA==, timeout: 500ms}")});
  ASSERT_EQ(PostJson(writ_.port(), "/orders", "both-1", "{\"n\":1}").status, 202);
  std::vector<EventRow> rows;
  ASSERT_TRUE(Eventually([&] {
    rows = StoredEvents(writ_.store_url());
    return rows.size() == 3 && rows.back().published;
  }));
  for (const auto& r : rows) {
    EXPECT_TRUE(r.published) << r.type;
    EXPECT_FALSE(r.delivered) << r.type << ": the receiver is down";
  }
  receiver.Start(receiver_dir.path(), {}, receiver_port);
  ASSERT_TRUE(Eventually(
      [&] {
        rows = StoredEvents(writ_.store_url());
        for (const auto& r : rows)
          if (!r.delivered) return false;
        return true;
      },
      20'000));
  EXPECT_EQ(WaitForStream(3).size(), 3u) << "published once, not again with the webhook";
}

// Domain events: each succeeded order writes order.created (the master's
// answer as payload) to the outbox table with the outcome, in Debezium's
// columns; the relay publishes each once on its own subject.
// PostgreSQL hands out an event's seq when it is inserted, not when it
// commits, so an event may commit after the relay has read past its seq.
// The relay still publishes it, once, and before its submission's later
// events.
TEST_P(NatsSink, AnEventCommittedAfterLaterOnesIsPublishedInItsOrder) {
  if (GetParam() != Backend::kPostgres) GTEST_SKIP() << "SQLite commits events in seq order";
  writ_.set_top_extra(NatsBlock(nats_.url()));
  writ_.Start(dir_.path(), master_.port(), {NatsRoute()});
  auto first = PostAndSettle(0, 1);
  ASSERT_FALSE(first.empty());
  const std::string submission = first[0].submission;
  auto insert = [&](const std::string& id, const std::string& type) {
    return "INSERT INTO events (id, submission_id, route, type, payload, created_at, deliver) VALUES ('" + id +
           "', '" + submission + "', 'POST /orders', '" + type + "', '{\"type\":\"" + type + "\"}', 0, 2)";
  };
  pg::PgConn late;
  ASSERT_TRUE(late.Open(writ_.store_url()).ok());
  ASSERT_TRUE(late.Exec("BEGIN").ok());
  ASSERT_TRUE(late.Exec(insert("evt_late", "test.late")).ok());  // its seq is taken, it is not visible
  // Later events commit and are published while it is open: the relay reads past its seq.
  auto rows = PostAndSettle(1, 4);
  ASSERT_EQ(WaitForStream(rows.size()).size(), rows.size());
  ASSERT_TRUE(late.Exec("COMMIT").ok());
  pg::PgConn next;  // the submission's next event, written once the late one committed
  ASSERT_TRUE(next.Open(writ_.store_url()).ok());
  ASSERT_TRUE(next.Exec(insert("evt_next", "test.next")).ok());
  auto msgs = WaitForStream(rows.size() + 2);
  std::vector<std::string> order;
  for (const auto& m : msgs)
    if (m.submission == submission) order.push_back(m.type);
  ASSERT_GE(order.size(), 2u);
  EXPECT_EQ(std::vector<std::string>(order.end() - 2, order.end()), (std::vector<std::string>{"test.late", "test.next"}))
      << "the late event, once, before the one after it";
  EXPECT_EQ(msgs.size(), rows.size() + 2) << "nothing twice";
}

TEST_P(NatsSink, DomainEventsLandInTheOutboxTableAndOnTheirSubject) {
  writ_.set_top_extra(NatsBlock(nats_.url(), "  subjects: [writ.events.>, orders.>]\n"));
  writ_.Start(dir_.path(), master_.port(),
              {NatsRoute("sinks: {nats: {}}\nevents: [{on: succeeded, type: order.created, subject: orders.created}]")});
  PostAndSettle(0, 6);  // the odd ones are refused: no order.created
  struct Row {
    std::string id, aggregatetype, aggregateid, type, payload;
    bool published;
  };
  std::vector<Row> rows;
  ASSERT_TRUE(Eventually([&] {
    auto store = OpenStoreReadOnly(writ_.store_url());
    rows.clear();
    auto s = store->db().Read([&](sql::Conn& c) -> Status {
      auto r = sql::QueryRows<Row>(
          c,
          "SELECT id, aggregatetype, aggregateid, type, payload, CASE WHEN published_at IS NULL THEN 0 ELSE 1 END "
          "FROM outbox ORDER BY seq",
          [](sql::Stmt&) {}, +[](sql::Stmt& st) {
            return Row{st.Text(0), st.Text(1), st.Text(2), st.Text(3), st.Text(4), st.Int(5) != 0};
          });
      if (r.ok()) rows = std::move(*r);
      return r.status();
    });
    return s.ok() && rows.size() == 3 && rows.back().published;
  }));
  std::map<std::string, std::string> by_id;  // outbox id -> payload
  for (const auto& r : rows) {
    EXPECT_EQ(r.aggregatetype, "POST_orders");
    EXPECT_EQ(r.type, "order.created");
    auto payload = json::parse(r.payload).as_object();
    EXPECT_EQ(r.aggregateid, payload["id"].as_string()) << "the master's id (the canonical id)";
    EXPECT_TRUE(payload.contains("n")) << r.payload << ": the master's answer";
    by_id[r.id] = r.payload;
  }
  std::map<std::string, int> seen;
  for (const auto& m : WaitForStream(18 + 3)) {
    if (m.subject != "orders.created") continue;
    ++seen[m.id];
    EXPECT_EQ(m.type, "order.created");
    EXPECT_EQ(m.data, by_id[m.id]);
  }
  EXPECT_EQ(seen.size(), 3u);
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id;
}

INSTANTIATE_TEST_SUITE_P(Stores, NatsSink, ::testing::ValuesIn(AllBackends()),
                         [](const auto& info) { return std::string(BackendName(info.param)); });

}  // namespace
}  // namespace writ::testing
