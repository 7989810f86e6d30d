#include "testing/nats.h"

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <chrono>
#include <thread>

#include "store/sql/conn.h"
#include "testing/cluster.h"

namespace writ::testing {

namespace {

// Connects to `url`, retrying for up to `timeout_ms`; null if it never answers.
natsConnection* ConnectNats(const std::string& url, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    natsConnection* nc = nullptr;
    if (natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK) return nc;
    if (std::chrono::steady_clock::now() > deadline) return nullptr;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string Header(natsMsg* m, const char* key) {
  const char* v = nullptr;
  return natsMsgHeader_Get(m, key, &v) == NATS_OK && v ? v : "";
}

}  // namespace

void NatsServerProcess::Start(const std::string& dir) {
  dir_ = dir;
  port_ = RestartablePort();
  Launch();
}

void NatsServerProcess::Restart() { Launch(); }

void NatsServerProcess::Launch() {
  std::vector<std::string> args = {WRIT_NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", std::to_string(port_),
                                   "-sd", dir_ + "/jetstream"};
  auto p = ChildProcess::Spawn(args, dir_ + "/nats-server-" + std::to_string(starts_++) + ".log");
  ASSERT_TRUE(p.ok()) << p.status().message();
  proc_ = std::move(*p);
  natsConnection* nc = ConnectNats(url(), 15'000);
  ASSERT_NE(nc, nullptr) << "nats-server did not take connections on " << url();
  // JetStream answers once the server has recovered its streams.
  jsCtx* js = nullptr;
  jsAccountInfo* info = nullptr;
  bool ready = false;
  if (natsConnection_JetStream(&js, nc, nullptr) == NATS_OK)
    for (int i = 0; i < 100 && !ready; ++i) {
      ready = js_GetAccountInfo(&info, js, nullptr, nullptr) == NATS_OK;
      if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  if (info) jsAccountInfo_Destroy(info);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  ASSERT_TRUE(ready) << "JetStream is not ready on " << url();
}

std::vector<StreamMessage> ReadStream(const std::string& url, const std::string& stream) {
  std::vector<StreamMessage> out;
  natsConnection* nc = ConnectNats(url, 5'000);
  if (!nc) {
    ADD_FAILURE() << "cannot connect to " << url;
    return out;
  }
  jsCtx* js = nullptr;
  jsStreamInfo* si = nullptr;
  if (natsConnection_JetStream(&js, nc, nullptr) != NATS_OK ||
      js_GetStreamInfo(&si, js, stream.c_str(), nullptr, nullptr) != NATS_OK) {
    ADD_FAILURE() << "cannot read stream " << stream << ": " << nats_GetLastError(nullptr);
  } else {
    for (uint64_t seq = si->State.FirstSeq; seq != 0 && seq <= si->State.LastSeq; ++seq) {
      natsMsg* m = nullptr;
      if (js_GetMsg(&m, js, stream.c_str(), seq, nullptr, nullptr) != NATS_OK) continue;  // deleted
      StreamMessage sm;
      sm.seq = seq;
      sm.subject = natsMsg_GetSubject(m);
      sm.id = Header(m, "Nats-Msg-Id");
      sm.type = Header(m, "Writ-Event-Type");
      sm.submission = Header(m, "Writ-Submission-Id");
      sm.data.assign(natsMsg_GetData(m), natsMsg_GetDataLength(m));
      out.push_back(std::move(sm));
      natsMsg_Destroy(m);
    }
    jsStreamInfo_Destroy(si);
  }
  if (js) jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return out;
}

std::vector<EventRow> StoredEvents(const std::string& store_url) {
  auto store = OpenStoreReadOnly(store_url);
  std::vector<EventRow> rows;
  auto s = store->db().Read([&](sql::Conn& c) -> Status {
    auto r = sql::QueryRows<EventRow>(
        c,
        "SELECT seq, id, submission_id, type, CASE WHEN published_at IS NULL THEN 0 ELSE 1 END, "
        "CASE WHEN delivered_at IS NULL THEN 0 ELSE 1 END FROM events "
        "ORDER BY seq",
        [](sql::Stmt&) {}, +[](sql::Stmt& st) {
          return EventRow{st.Int(0), st.Text(1), st.Text(2), st.Text(3), st.Int(4) != 0, st.Int(5) != 0};
        });
    if (!r.ok()) return r.status();
    rows = std::move(*r);
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.message();
  return rows;
}

int64_t StreamDuplicateWindow(const std::string& url, const std::string& stream) {
  natsConnection* nc = ConnectNats(url, 5'000);
  if (!nc) return -1;
  jsCtx* js = nullptr;
  jsStreamInfo* si = nullptr;
  int64_t window = -1;
  if (natsConnection_JetStream(&js, nc, nullptr) == NATS_OK &&
      js_GetStreamInfo(&si, js, stream.c_str(), nullptr, nullptr) == NATS_OK) {
    window = si->Config->Duplicates / 1'000'000;
    jsStreamInfo_Destroy(si);
  }
  if (js) jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return window;
}

}  // namespace writ::testing
