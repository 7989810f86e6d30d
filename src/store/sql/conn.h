// Internal to the SQL stores (store/sql, store/sqlite, store/postgres): one
// database connection and its prepared statements, as the shared queries
// see them. Each backend implements Conn and StmtImpl in its own .cpp; the
// queries are written once, with `?N` placeholders (PostgreSQL's connection
// turns them into `$N`) and SQL both dialects accept, asking `dialect()`
// only where they must differ (row locks, notifications).
// Thread-safety: a Conn and its statements belong to one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/http_types.h"
#include "core/status.h"

namespace writ::sql {

enum class Dialect { kSqlite, kPostgres };

// Step() results.
inline constexpr int kRow = 100;
inline constexpr int kDone = 101;
inline constexpr int kError = 1;

class StmtImpl {
 public:
  virtual ~StmtImpl() = default;
  virtual void Bind(int i, const std::string& v) = 0;
  virtual void BindBlob(int i, const std::string& v) = 0;
  virtual void Bind(int i, int64_t v) = 0;
  virtual void BindNull(int i) = 0;
  virtual int Step() = 0;  // kRow, kDone or kError; the first Step executes
  virtual int64_t Int(int col) = 0;
  virtual bool IsNull(int col) = 0;
  virtual std::string Text(int col) = 0;  // text or blob bytes; "" for NULL
  virtual int Changes() = 0;              // rows a finished write changed
};

// A statement ready to bind and run; reset for reuse when it goes away.
class Stmt {
 public:
  explicit Stmt(std::unique_ptr<StmtImpl> impl) : impl_(std::move(impl)) {}
  Stmt& Bind(int i, const std::string& v) {
    impl_->Bind(i, v);
    return *this;
  }
  Stmt& BindBlob(int i, const std::string& v) {
    impl_->BindBlob(i, v);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    impl_->Bind(i, v);
    return *this;
  }
  Stmt& BindNull(int i) {
    impl_->BindNull(i);
    return *this;
  }
  int Step() { return impl_->Step(); }
  int64_t Int(int c) { return impl_->Int(c); }
  bool IsNull(int c) { return impl_->IsNull(c); }
  std::string Text(int c) { return impl_->Text(c); }
  int Changes() { return impl_->Changes(); }

 private:
  std::unique_ptr<StmtImpl> impl_;
};

class Conn {
 public:
  virtual ~Conn() = default;
  virtual Result<Stmt> Prepare(const std::string& sql) = 0;
  // Runs statements without parameters (schema, transaction control).
  virtual Status Exec(const std::string& sql) = 0;
  // The connection's last error as a Status (kUnavailable), prefixed.
  virtual Status Error(const std::string& what) = 0;
  virtual Dialect dialect() const = 0;
  bool postgres() const { return dialect() == Dialect::kPostgres; }
  // " FOR UPDATE" on PostgreSQL (rows read to be changed in the same
  // transaction, which other instances may change concurrently); "" on
  // SQLite, whose single writer makes it unnecessary.
  const char* ForUpdate() const { return postgres() ? " FOR UPDATE" : ""; }
  // True the first time `tag` is named in the current transaction: a batch
  // of many accepts for one route sends one notification, not one each.
  virtual bool FirstInTransaction(const std::string& /*tag*/) { return true; }
};

// Stored headers: "Name: value" lines. Names never hold ':' and values never
// hold line breaks (the HTTP parsers refuse both), so no escaping is needed.
std::string HeadersToText(const Headers& h);
Headers HeadersFromText(const std::string& s);

// Runs an INSERT/UPDATE/DELETE; returns the number of changed rows.
template <typename BindFn>
Result<int> Change(Conn& c, const std::string& sql, BindFn bind) {
  auto st = c.Prepare(sql);
  if (!st.ok()) return st.status();
  bind(*st);
  if (st->Step() != kDone) return c.Error("write");
  return st->Changes();
}

// A write's changed-row count as "did it change a row".
inline Result<bool> Changed(Result<int> n) {
  if (!n.ok()) return n.status();
  return *n > 0;
}

// Runs a query and reads every row with `read`.
template <typename T, typename BindFn>
Result<std::vector<T>> QueryRows(Conn& c, const std::string& sql, BindFn bind, T (*read)(Stmt&)) {
  auto st = c.Prepare(sql);
  if (!st.ok()) return st.status();
  bind(*st);
  std::vector<T> out;
  for (;;) {
    int rc = st->Step();
    if (rc == kRow) out.push_back(read(*st));
    else if (rc == kDone) break;
    else return c.Error("select");
  }
  return out;
}

}  // namespace writ::sql
