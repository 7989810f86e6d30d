// S8 peer (bench/run.sh s8): draft saves done straight on SQLite in C++:
// an UPSERT of a 2 KiB document with its version bumped, over a pool of
// drafts, WAL and synchronous=FULL, committing every BATCH saves (1: each
// save durable on its own, as a plain service would; 64: as if 64 clients'
// saves shared one commit, as Writ's group commit lets them).
//   bench_raw_upsert DB_PATH SAVES BATCH DRAFTS   -> prints "saves/s"
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: bench_raw_upsert DB_PATH SAVES BATCH DRAFTS\n");
    return 2;
  }
  std::string path = argv[1];
  long saves = std::atol(argv[2]), batch = std::atol(argv[3]), drafts = std::atol(argv[4]);
  if (saves < 1 || batch < 1 || drafts < 1) return 2;
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return 1;
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE IF NOT EXISTS drafts (id TEXT PRIMARY KEY, version INTEGER NOT NULL, data BLOB NOT NULL,"
               " updated_at INTEGER NOT NULL)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "INSERT INTO drafts (id, version, data, updated_at) VALUES (?1, 1, ?2, ?3) "
      "ON CONFLICT (id) DO UPDATE SET version = version + 1, data = excluded.data, updated_at = excluded.updated_at";
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "%s\n", sqlite3_errmsg(db));
    return 1;
  }
  std::string body = "{\"applicant\":{\"name\":\"Ada Lovelace\",\"email\":\"ada@example.com\"},\"notes\":\"";
  body += std::string(2048 - body.size() - 2, 'x') + "\"}";
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < saves; ++i) {
    if (i % batch == 0) sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    std::string id = "d_raw_" + std::to_string(i % drafts);
    long long now = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
    sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now);
    if (sqlite3_step(st) != SQLITE_DONE) {
      std::fprintf(stderr, "%s\n", sqlite3_errmsg(db));
      return 1;
    }
    sqlite3_reset(st);
    if (i % batch == batch - 1 || i == saves - 1) sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.0f\n", static_cast<double>(saves) / secs);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return 0;
}
