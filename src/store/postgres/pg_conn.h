// Internal to the PostgreSQL backend: sql::Conn on one libpq connection.
// Statements are prepared once per connection (per parameter types) and run
// with bound parameters only: integers as int8, text as text, blobs as
// binary bytea. Results come back as text; bytea columns are unescaped.
// Included only by store/postgres/*.cpp.
// Thread-safety: a PgConn belongs to one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "store/sql/conn.h"

namespace writ::pg {

class PgConn : public sql::Conn {
 public:
  ~PgConn() override;
  // Connects (libpq takes the password from PGPASSWORD or the 0600 file
  // PGPASSFILE / ~/.pgpass, never from argv).
  Status Open(const std::string& url);
  // Reconnects after the connection broke; prepared statements are redone.
  Status Reset();
  bool broken() const { return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK; }

  Result<sql::Stmt> Prepare(const std::string& sql) override;
  Status Exec(const std::string& sql) override;
  Status Error(const std::string& what) override;
  sql::Dialect dialect() const override { return sql::Dialect::kPostgres; }
  bool FirstInTransaction(const std::string& tag) override { return tx_tags_.insert(tag).second; }

  // SQLSTATE of the last failed statement ("" if none): 40P01 deadlock,
  // 40001 serialization failure, 08xxx connection, 57P01 admin shutdown.
  const std::string& sqlstate() const { return sqlstate_; }
  // Runs one parameterless query and returns the first column of its first row.
  Result<std::string> QueryValue(const std::string& sql);
  PGconn* raw() { return conn_; }

  // Used by PgStmt.
  Result<PGresult*> Execute(const std::string& sql, const std::vector<std::string>& values,
                            const std::vector<int>& lengths, const std::vector<int>& formats,
                            const std::vector<Oid>& types, const std::vector<bool>& nulls);

 private:
  void Note(PGresult* r);  // records the error of a failed result
  PGconn* conn_ = nullptr;
  std::string url_;
  std::map<std::string, std::string> prepared_;  // sql + types -> statement name
  std::string sqlstate_;
  std::string message_;
  std::set<std::string> tx_tags_;  // FirstInTransaction; cleared by Exec("BEGIN")
};

// "?N" placeholders as "$N" (the shared queries never hold '?' otherwise).
std::string ToDollarParams(const std::string& sql);

}  // namespace writ::pg
