// Internal to the SQLite backend: one connection with a statement cache and
// small helpers. Included only by store/sqlite/*.cpp (never by other folders).
// Thread-safety: a Conn belongs to one thread at a time.
#pragma once

#include <sqlite3.h>

#include <map>
#include <string>

#include "core/http_types.h"
#include "core/status.h"

namespace writ::sqlite {

inline Status SqlError(sqlite3* db, const std::string& what) {
  return Status(Code::kUnavailable, what + ": " + sqlite3_errmsg(db));
}

// A prepared statement, reset on destruction so it can be reused.
class Stmt {
 public:
  Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindBlob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& BindNull(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  int Step() { return sqlite3_step(s_); }
  int64_t Int(int c) { return sqlite3_column_int64(s_, c); }
  bool IsNull(int c) { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  std::string Text(int c) {
    auto* p = static_cast<const char*>(sqlite3_column_blob(s_, c));
    return p ? std::string(p, sqlite3_column_bytes(s_, c)) : std::string();
  }

 private:
  sqlite3_stmt* s_;
};

// One SQLite connection with its statement cache. Not thread-safe.
class Conn {
 public:
  ~Conn() {
    for (auto& [sql, s] : cache_) sqlite3_finalize(s);
    if (db_) sqlite3_close(db_);
  }

  Status Open(const std::string& path, bool read_only) {
    int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    flags |= SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK)
      return SqlError(db_, "open " + path);
    sqlite3_busy_timeout(db_, 5000);
    return Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  }

  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      Status s(Code::kUnavailable, std::string(sql).substr(0, 60) + ": " + (err ? err : "?"));
      sqlite3_free(err);
      return s;
    }
    return Status::Ok();
  }

  Result<Stmt> Prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
        return SqlError(db_, "prepare");
      it = cache_.emplace(sql, s).first;
    }
    return Stmt(it->second);
  }

  sqlite3* db() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*> cache_;
};

// Stored headers: "Name: value" lines. Names never hold ':' and values never
// hold line breaks (the HTTP parsers refuse both), so no escaping is needed.
inline std::string HeadersToText(const Headers& h) {
  std::string out;
  for (const auto& [k, v] : h) {
    out += k;
    out += ": ";
    out += v;
    out += '\n';
  }
  return out;
}

inline Headers HeadersFromText(const std::string& s) {
  Headers h;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find('\n', pos);
    if (end == std::string::npos) end = s.size();
    size_t colon = s.find(": ", pos);
    if (colon != std::string::npos && colon < end) h.emplace_back(s.substr(pos, colon - pos), s.substr(colon + 2, end - colon - 2));
    pos = end + 1;
  }
  return h;
}

// Runs an UPDATE/DELETE; returns the number of changed rows.
template <typename BindFn>
Result<int> Change(Conn& c, const std::string& sql, BindFn bind) {
  auto st = c.Prepare(sql);
  if (!st.ok()) return st.status();
  bind(*st);
  if (st->Step() != SQLITE_DONE) return SqlError(c.db(), "write");
  return sqlite3_changes(c.db());
}

}  // namespace writ::sqlite
