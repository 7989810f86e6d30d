#include "store/postgres/pg_conn.h"

#include <cstdlib>
#include <memory>

namespace writ::pg {
namespace {

constexpr Oid kInt8 = 20;
constexpr Oid kText = 25;
constexpr Oid kBytea = 17;

struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultFree>;

class PgStmt : public sql::StmtImpl {
 public:
  PgStmt(PgConn& conn, std::string sql) : conn_(conn), sql_(std::move(sql)) {}
  ~PgStmt() override = default;

  void Bind(int i, const std::string& v) override { Set(i, v, kText, 0); }
  void BindBlob(int i, const std::string& v) override { Set(i, v, kBytea, 1); }
  void Bind(int i, int64_t v) override { Set(i, std::to_string(v), kInt8, 0); }
  void BindNull(int i) override {
    Grow(i);
    nulls_[i - 1] = true;
    types_[i - 1] = 0;
  }

  int Step() override {
    if (!result_) {
      auto r = conn_.Execute(sql_, values_, lengths_, formats_, types_, nulls_);
      if (!r.ok()) return sql::kError;
      result_.reset(*r);
      rows_ = PQntuples(result_.get());
      row_ = -1;
    }
    ++row_;
    return row_ < rows_ ? sql::kRow : sql::kDone;
  }
  int64_t Int(int c) override {
    if (IsNull(c)) return 0;
    return std::strtoll(PQgetvalue(result_.get(), row_, c), nullptr, 10);
  }
  bool IsNull(int c) override { return PQgetisnull(result_.get(), row_, c) != 0; }
  std::string Text(int c) override {
    if (IsNull(c)) return "";
    const char* v = PQgetvalue(result_.get(), row_, c);
    if (PQftype(result_.get(), c) != kBytea) return std::string(v, PQgetlength(result_.get(), row_, c));
    size_t n = 0;
    unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(v), &n);
    std::string out(reinterpret_cast<const char*>(bytes), n);
    PQfreemem(bytes);
    return out;
  }
  int Changes() override { return result_ ? std::atoi(PQcmdTuples(result_.get())) : 0; }

 private:
  void Grow(int i) {
    size_t n = static_cast<size_t>(i);
    if (values_.size() < n) {
      values_.resize(n);
      lengths_.resize(n, 0);
      formats_.resize(n, 0);
      types_.resize(n, 0);
      nulls_.resize(n, true);
    }
  }
  void Set(int i, std::string v, Oid type, int format) {
    Grow(i);
    values_[i - 1] = std::move(v);
    lengths_[i - 1] = static_cast<int>(values_[i - 1].size());
    formats_[i - 1] = format;
    types_[i - 1] = type;
    nulls_[i - 1] = false;
  }

  PgConn& conn_;
  std::string sql_;
  std::vector<std::string> values_;
  std::vector<int> lengths_, formats_;
  std::vector<Oid> types_;
  std::vector<bool> nulls_;
  ResultPtr result_;
  int rows_ = 0, row_ = -1;
};

// The highest $N a statement uses: its parameter count.
int ParamCount(const std::string& sql) {
  int n = 0;
  for (size_t i = 0; i + 1 < sql.size(); ++i) {
    if (sql[i] != '$' || sql[i + 1] < '0' || sql[i + 1] > '9') continue;
    n = std::max(n, std::atoi(sql.c_str() + i + 1));
  }
  return n;
}

}  // namespace

std::string ToDollarParams(const std::string& sql) {
  std::string out = sql;
  for (size_t i = 0; i + 1 < out.size(); ++i)
    if (out[i] == '?' && out[i + 1] >= '0' && out[i + 1] <= '9') out[i] = '$';
  return out;
}

PgConn::~PgConn() {
  if (conn_) PQfinish(conn_);
}

Status PgConn::Open(const std::string& url) {
  url_ = url;
  conn_ = PQconnectdb(url.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) return Error("connect");
  // Statements never wait on a lock for long; a stuck batch is retried.
  return Exec("SET lock_timeout = '10s'; SET idle_in_transaction_session_timeout = '60s'");
}

Status PgConn::Reset() {
  prepared_.clear();
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  return Open(url_);
}

void PgConn::Note(PGresult* r) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  sqlstate_ = state ? state : (broken() ? "08006" : "");
  message_ = r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : (conn_ ? PQerrorMessage(conn_) : "no connection");
  while (!message_.empty() && (message_.back() == '\n' || message_.back() == ' ')) message_.pop_back();
}

Status PgConn::Error(const std::string& what) {
  std::string msg = message_.empty() && conn_ ? PQerrorMessage(conn_) : message_;
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return Status(Code::kUnavailable, what + ": " + (msg.empty() ? "database unavailable" : msg));
}

Status PgConn::Exec(const std::string& sql) {
  if (!conn_) return Status(Code::kUnavailable, "no database connection");
  if (sql == "BEGIN") tx_tags_.clear();
  ResultPtr r(PQexec(conn_, sql.c_str()));
  auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Note(r.get());
    return Error(sql.substr(0, 60));
  }
  sqlstate_.clear();
  message_.clear();
  return Status::Ok();
}

Result<std::string> PgConn::QueryValue(const std::string& sql) {
  if (!conn_) return Status(Code::kUnavailable, "no database connection");
  ResultPtr r(PQexec(conn_, sql.c_str()));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    Note(r.get());
    return Error(sql.substr(0, 60));
  }
  if (PQntuples(r.get()) < 1 || PQgetisnull(r.get(), 0, 0)) return std::string();
  return std::string(PQgetvalue(r.get(), 0, 0));
}

Result<sql::Stmt> PgConn::Prepare(const std::string& sql) {
  return sql::Stmt(std::make_unique<PgStmt>(*this, ToDollarParams(sql)));
}

Result<PGresult*> PgConn::Execute(const std::string& sql, const std::vector<std::string>& values,
                                  const std::vector<int>& lengths, const std::vector<int>& formats,
                                  const std::vector<Oid>& types, const std::vector<bool>& nulls) {
  if (!conn_) {
    message_ = "no database connection";
    sqlstate_ = "08006";
    return Status(Code::kUnavailable, message_);
  }
  int n = std::max(ParamCount(sql), static_cast<int>(values.size()));
  std::vector<Oid> all_types(static_cast<size_t>(n), 0);
  for (size_t i = 0; i < types.size(); ++i) all_types[i] = types[i];
  // One prepared statement per SQL text and parameter types.
  std::string signature = sql;
  for (Oid t : all_types) signature += "|" + std::to_string(t);
  auto it = prepared_.find(signature);
  if (it == prepared_.end()) {
    std::string name = "w" + std::to_string(prepared_.size());
    ResultPtr p(PQprepare(conn_, name.c_str(), sql.c_str(), n, all_types.data()));
    if (PQresultStatus(p.get()) != PGRES_COMMAND_OK) {
      Note(p.get());
      return Error("prepare");
    }
    it = prepared_.emplace(signature, name).first;
  }
  std::vector<const char*> ptrs(static_cast<size_t>(n), nullptr);
  std::vector<int> lens(static_cast<size_t>(n), 0), fmts(static_cast<size_t>(n), 0);
  for (size_t i = 0; i < values.size(); ++i) {
    if (nulls[i]) continue;
    ptrs[i] = values[i].data();
    lens[i] = lengths[i];
    fmts[i] = formats[i];
  }
  PGresult* r = PQexecPrepared(conn_, it->second.c_str(), n, ptrs.data(), lens.data(), fmts.data(), 0);
  auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Note(r);
    PQclear(r);
    return Error("statement");
  }
  sqlstate_.clear();
  message_.clear();
  return r;
}

}  // namespace writ::pg
