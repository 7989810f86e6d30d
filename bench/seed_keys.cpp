// S7 set-up: fills a Writ store with N completed idempotency records of a
// realistic size (36-character key, SHA-256 fingerprint, a 3-field
// fingerprint detail, a 201 answer with Location and a ~90-byte JSON body),
// all expiring `expires_in_ms` from now, in transactions of 10,000.
//   bench_seed_keys DB_PATH N EXPIRES_IN_MS
//   bench_seed_keys DB_PATH expire          (every record expired now, for GC)
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/hash.h"
#include "patterns/registry.h"
#include "store/store.h"

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[2]) == "expire") {
    sqlite3* db = nullptr;
    if (sqlite3_open(argv[1], &db) != SQLITE_OK) return 1;
    sqlite3_busy_timeout(db, 10'000);
    long long now = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
    std::string sql = "UPDATE idem_keys SET expires_at = " + std::to_string(now - 1);
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : 1;
  }
  if (argc != 4) {
    std::fprintf(stderr, "usage: bench_seed_keys DB_PATH N EXPIRES_IN_MS\n");
    return 2;
  }
  std::string path = argv[1];
  long n = std::atol(argv[2]);
  long long expires_in = std::atoll(argv[3]);
  {
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
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "INSERT INTO idem_keys (tenant, route, key, state, fingerprint, fingerprint_detail, fence, attempts, "
      "created_at, updated_at, lease_until, expires_at, status, headers, body) VALUES ('default', 'POST /orders', "
      "?1, 'completed', ?2, ?3, 1, 1, ?4, ?4, 0, ?5, 201, ?6, ?7)";
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "%s\n", sqlite3_errmsg(db));
    return 1;
  }
  long long now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  std::string detail = R"({"method":"8a1c","path":"77f0","/amount":"5e2b","/currency":"c01d"})";
  for (long i = 0; i < n; ++i) {
    if (i % 10'000 == 0) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    std::string key = writ::RandomId().substr(0, 32) + "-" + std::to_string(i % 1000);
    std::string fp = writ::Sha256Hex(key);
    std::string headers = "Content-Type: application/json\nLocation: /orders/ord_" + std::to_string(i) + "\n";
    std::string body = R"({"amount":1250,"currency":"EUR","customer":"c-17","id":"ord_)" + std::to_string(i) +
                       R"(","status":"created"})";
    sqlite3_bind_text(st, 1, key.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, fp.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, detail.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, now + expires_in);
    sqlite3_bind_text(st, 6, headers.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 7, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
      std::fprintf(stderr, "%s\n", sqlite3_errmsg(db));
      return 1;
    }
    sqlite3_reset(st);
    if (i % 10'000 == 9'999 || i == n - 1) sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  sqlite3_finalize(st);
  sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return 0;
}
