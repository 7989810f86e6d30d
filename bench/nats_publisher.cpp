// S12's peer and helper (bench/run.sh s12):
//   bench_nats_publisher publish URL STREAM SUBJECT COUNT SIZE
//     publishes COUNT messages of SIZE bytes to JetStream (SUBJECT in STREAM) as fast as libnats
//     can (js_PublishMsgAsync, each with a unique Nats-Msg-Id, up to 4096
//     unacknowledged), waits until every one is acknowledged, and prints
//     "<count> <seconds>"; the way `nats bench --js --pub` publishes.
//   bench_nats_publisher events SQLITE_PATH
//     prints how many events of a writ store wait for or went to a NATS sink.
//   bench_nats_publisher published-span SQLITE_PATH
//     prints "<count> <first> <last>": how many of them are marked published,
//     and the first and last mark's time (ms), the relay's own clock.
//   bench_nats_publisher stream-bytes URL STREAM
//     prints the stream's "<messages> <bytes>".
#include <nats/nats.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

std::atomic<long> acked{0}, failed{0};

void OnAck(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr*, void*) {
  (pa ? acked : failed)++;
  natsMsg_Destroy(msg);
}

int Fail(const char* what, natsStatus s) {
  std::fprintf(stderr, "%s: %s %s\n", what, natsStatus_GetText(s), nats_GetLastError(nullptr));
  return 1;
}

int Publish(const char* url, const char* subject, long count, int size) {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  if (natsStatus s = natsConnection_ConnectTo(&nc, url); s != NATS_OK) return Fail("connect", s);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.AckHandler = &OnAck;
  jo.PublishAsync.MaxPending = 4096;
  if (natsStatus s = natsConnection_JetStream(&js, nc, &jo); s != NATS_OK) return Fail("jetstream", s);
  std::string body(static_cast<size_t>(size), 'x');
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < count; ++i) {
    natsMsg* m = nullptr;
    char id[64];
    std::snprintf(id, sizeof id, "peer-%ld-%ld", static_cast<long>(t0.time_since_epoch().count()), i);
    natsMsg_Create(&m, subject, nullptr, body.data(), size);
    natsMsgHeader_Set(m, "Nats-Msg-Id", id);
    if (natsStatus s = js_PublishMsgAsync(js, &m, nullptr); s != NATS_OK) return Fail("publish", s);
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 60'000;
  if (natsStatus s = js_PublishAsyncComplete(js, &po); s != NATS_OK) return Fail("complete", s);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%ld %.4f\n", acked.load(), secs);
  if (failed.load() > 0) std::fprintf(stderr, "%ld publishes failed\n", failed.load());
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return failed.load() > 0;
}

int StreamBytes(const char* url, const char* stream) {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  jsStreamInfo* si = nullptr;
  if (natsStatus s = natsConnection_ConnectTo(&nc, url); s != NATS_OK) return Fail("connect", s);
  if (natsStatus s = natsConnection_JetStream(&js, nc, nullptr); s != NATS_OK) return Fail("jetstream", s);
  if (natsStatus s = js_GetStreamInfo(&si, js, stream, nullptr, nullptr); s != NATS_OK) return Fail("stream", s);
  std::printf("%llu %llu\n", static_cast<unsigned long long>(si->State.Msgs),
              static_cast<unsigned long long>(si->State.Bytes));
  jsStreamInfo_Destroy(si);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return 0;
}

// Prints the one row of `sql` over a writ store, its columns space-separated.
int QueryStore(const char* path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s\n", path, sqlite3_errmsg(db));
    sqlite3_close(db);
    return 1;
  }
  for (int i = 0; i < sqlite3_column_count(st); ++i)
    std::printf(i ? " %lld" : "%lld", static_cast<long long>(sqlite3_column_int64(st, i)));
  std::printf("\n");
  sqlite3_finalize(st);
  sqlite3_close(db);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "publish" && argc == 7) return Publish(argv[2], argv[4], std::atol(argv[5]), std::atoi(argv[6]));
  if (mode == "events" && argc == 3)
    return QueryStore(argv[2], "SELECT COUNT(*) FROM events WHERE deliver IN (2,3)");
  if (mode == "published-span" && argc == 3)
    return QueryStore(argv[2],
                      "SELECT COUNT(*), MIN(published_at), MAX(published_at) FROM events "
                      "WHERE deliver IN (2,3) AND published_at IS NOT NULL");
  if (mode == "stream-bytes" && argc == 4) return StreamBytes(argv[2], argv[3]);
  std::fprintf(stderr,
               "usage: %s publish URL STREAM SUBJECT COUNT SIZE | events SQLITE_PATH | published-span SQLITE_PATH | "
               "stream-bytes URL STREAM\n",
               argv[0]);
  return 2;
}
