// S5 peer: the rows a buffered job stores, inserted straight into SQLite in
// one C++ transaction (WAL, synchronous=FULL, the commands table Writ
// creates, with its indexes), timed from BEGIN to the durable COMMIT.
//   bench_raw_insert DB_PATH ROWS   -> prints "rows/s"
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "patterns/registry.h"
#include "store/store.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench_raw_insert DB_PATH ROWS\n");
    return 2;
  }
  std::string path = argv[1];
  long rows = std::atol(argv[2]);
  {  // Writ's schema, so the rows land in the same table with the same indexes.
    writ::StoreOptions o;
    o.url = "sqlite:" + path;
    o.schema = writ::AllSchemaSteps();
    auto s = writ::OpenStore(o);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.status().message().c_str());
      return 1;
    }
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return 1;
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "INSERT INTO commands (id, tenant, route, idem_key, method, target, headers, body, upstream_key, status, "
      "next_attempt_at, due_at, created_at, updated_at, budget_from, job_id, item_pos, item_key) "
      "VALUES (?1,'default','bulk','','POST','/products/_bulk','Content-Type: application/json\n',?2,?3,'accepted',"
      "?4,?4,?4,?4,?4,'job_raw',?5,?6)";
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "%s\n", sqlite3_errmsg(db));
    return 1;
  }
  auto t0 = std::chrono::steady_clock::now();
  long long now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  for (long i = 0; i < rows; ++i) {
    std::string sku = "raw-" + std::to_string(i);
    std::string id = "job_raw-" + std::to_string(i);
    std::string body = "{\"sku\":\"" + sku + "\",\"name\":\"bench product\",\"price\":1250,\"stock\":7}";
    std::string key = "writ-" + sku;
    sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, key.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, i);
    sqlite3_bind_text(st, 6, sku.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
      std::fprintf(stderr, "%s\n", sqlite3_errmsg(db));
      return 1;
    }
    sqlite3_reset(st);
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sqlite3_finalize(st);
  sqlite3_close(db);
  std::printf("%.0f\n", static_cast<double>(rows) / secs);
  return 0;
}
