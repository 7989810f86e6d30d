// Internal to the SQLite backend: sql::Conn on one sqlite3 connection with
// its statement cache. Included only by store/sqlite/*.cpp.
// Thread-safety: a SqliteConn belongs to one thread at a time.
#pragma once

#include <sqlite3.h>

#include <map>
#include <string>

#include "store/sql/conn.h"

namespace writ::sqlite {

class SqliteStmt : public sql::StmtImpl {
 public:
  SqliteStmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~SqliteStmt() override {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  void Bind(int i, const std::string& v) override {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindBlob(int i, const std::string& v) override {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t v) override { sqlite3_bind_int64(s_, i, v); }
  void BindNull(int i) override { sqlite3_bind_null(s_, i); }
  int Step() override {
    int rc = sqlite3_step(s_);
    return rc == SQLITE_ROW ? sql::kRow : rc == SQLITE_DONE ? sql::kDone : sql::kError;
  }
  int64_t Int(int c) override { return sqlite3_column_int64(s_, c); }
  bool IsNull(int c) override { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  std::string Text(int c) override {
    auto* p = static_cast<const char*>(sqlite3_column_blob(s_, c));
    return p ? std::string(p, sqlite3_column_bytes(s_, c)) : std::string();
  }
  int Changes() override { return sqlite3_changes(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

class SqliteConn : public sql::Conn {
 public:
  ~SqliteConn() override {
    for (auto& [sql, s] : cache_) sqlite3_finalize(s);
    if (db_) sqlite3_close(db_);
  }

  Status Open(const std::string& path, bool read_only) {
    int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    flags |= SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) return Error("open " + path);
    sqlite3_busy_timeout(db_, 5000);
    return Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  }

  Status Exec(const std::string& sql) override {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      Status s(Code::kUnavailable, sql.substr(0, 60) + ": " + (err ? err : "?"));
      sqlite3_free(err);
      return s;
    }
    return Status::Ok();
  }

  Result<sql::Stmt> Prepare(const std::string& sql) override {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
        return Error("prepare");
      it = cache_.emplace(sql, s).first;
    }
    return sql::Stmt(std::make_unique<SqliteStmt>(db_, it->second));
  }

  Status Error(const std::string& what) override {
    return Status(Code::kUnavailable, what + ": " + (db_ ? sqlite3_errmsg(db_) : "no connection"));
  }
  sql::Dialect dialect() const override { return sql::Dialect::kSqlite; }
  sqlite3* db() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace writ::sqlite
