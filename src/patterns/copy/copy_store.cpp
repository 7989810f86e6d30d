#include "patterns/copy/copy_store.h"

#include "store/sql/conn.h"

namespace writ {

using namespace sql;  // Conn, Stmt, Change, QueryRows

namespace {

const char* const kSqliteSchema = R"sql(
CREATE TABLE IF NOT EXISTS copy_state (
  route TEXT PRIMARY KEY,
  cursor TEXT NOT NULL DEFAULT '',        -- where the next page of the master's changes starts
  as_of INTEGER NOT NULL DEFAULT 0,       -- every master change before this is in the copy
  pass_started INTEGER NOT NULL DEFAULT 0,
  last_success INTEGER NOT NULL DEFAULT 0,
  last_attempt INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  loading INTEGER NOT NULL DEFAULT 0,     -- 1: a full load is requested or under way
  pass_items INTEGER NOT NULL DEFAULT 0,
  pass_pages INTEGER NOT NULL DEFAULT 0,
  total_items INTEGER NOT NULL DEFAULT 0,
  owner TEXT NOT NULL DEFAULT '',         -- the instance running a pass
  lease_until INTEGER NOT NULL DEFAULT 0
);
)sql";

const char* const kPostgresSchema = R"sql(
CREATE TABLE IF NOT EXISTS copy_state (
  route TEXT PRIMARY KEY,
  cursor TEXT NOT NULL DEFAULT '',
  as_of BIGINT NOT NULL DEFAULT 0,
  pass_started BIGINT NOT NULL DEFAULT 0,
  last_success BIGINT NOT NULL DEFAULT 0,
  last_attempt BIGINT NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  loading BIGINT NOT NULL DEFAULT 0,
  pass_items BIGINT NOT NULL DEFAULT 0,
  pass_pages BIGINT NOT NULL DEFAULT 0,
  total_items BIGINT NOT NULL DEFAULT 0,
  owner TEXT NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0
);
)sql";

CopyState ReadState(Stmt& s) {
  CopyState st;
  st.route = s.Text(0);
  st.cursor = s.Text(1);
  st.as_of = s.Int(2);
  st.pass_started = s.Int(3);
  st.last_success = s.Int(4);
  st.last_attempt = s.Int(5);
  st.last_error = s.Text(6);
  st.loading = s.Int(7) != 0;
  st.pass_items = s.Int(8);
  st.pass_pages = s.Int(9);
  st.total_items = s.Int(10);
  st.owner = s.Text(11);
  st.lease_until = s.Int(12);
  return st;
}

Result<CopyState> Select(Conn& c, const std::string& route) {
  auto rows = QueryRows<CopyState>(
      c,
      "SELECT route, cursor, as_of, pass_started, last_success, last_attempt, last_error, "
      "loading, pass_items, pass_pages, total_items, owner, lease_until FROM copy_state "
      "WHERE route=?1",
      [&](Stmt& s) { s.Bind(1, route); }, &ReadState);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    CopyState st;
    st.route = route;
    return st;
  }
  return std::move(rows->front());
}

Status Ensure(Conn& c, const std::string& route) {
  auto n = Change(c, "INSERT INTO copy_state (route) VALUES (?1) ON CONFLICT (route) DO NOTHING",
                  [&](Stmt& s) { s.Bind(1, route); });
  return n.ok() ? Status::Ok() : n.status();
}

}  // namespace

SchemaStep CopyStore::Schema() { return {14, "copy_state", kSqliteSchema, kPostgresSchema}; }

Result<CopyState> CopyStore::Get(const std::string& route) {
  return ReadFor<CopyState>(db_, [&](Conn& c) { return Select(c, route); });
}

void CopyStore::Lease(const std::string& route, const std::string& owner, Millis ttl, Callback<CopyState> done) {
  SubmitFor<CopyState>(
      db_,
      [db = &db_, route, owner, ttl](Conn& c) -> Result<CopyState> {
        Millis now = db->Now();
        if (auto s = Ensure(c, route); !s.ok()) return s;
        auto n = Change(c,
                        "UPDATE copy_state SET owner=?2, lease_until=?3, pass_started=?4, last_attempt=?4, "
                        "pass_items=0, pass_pages=0 WHERE route=?1 AND (lease_until < ?4 OR owner = ?2)",
                        [&](Stmt& s) { s.Bind(1, route).Bind(2, owner).Bind(3, now + ttl).Bind(4, now); });
        if (!n.ok()) return n.status();
        return Select(c, route);
      },
      std::move(done));
}

Status CopyStore::Advance(Conn& c, const std::string& route, const std::string& owner, const std::string& cursor,
                          int64_t items, Millis now, Millis ttl) {
  auto n = Change(c,
                  "UPDATE copy_state SET cursor=?3, pass_items=pass_items+?4, pass_pages=pass_pages+1, "
                  "total_items=total_items+?4, lease_until=?5 WHERE route=?1 AND owner=?2",
                  [&](Stmt& s) { s.Bind(1, route).Bind(2, owner).Bind(3, cursor).Bind(4, items).Bind(5, now + ttl); });
  if (!n.ok()) return n.status();
  if (*n == 0) return Status(Code::kConflict, "the refresh lost its lease (a full load took it over)");
  return Status::Ok();
}

void CopyStore::Finish(const std::string& route, const std::string& owner, const std::string& error,
                       Callback<CopyState> done) {
  SubmitFor<CopyState>(
      db_,
      [db = &db_, route, owner, error](Conn& c) -> Result<CopyState> {
        Millis now = db->Now();
        auto n =
            error.empty()
                ? Change(c,
                         "UPDATE copy_state SET as_of=pass_started, last_success=?3, last_error='', loading=0, "
                         "owner='', lease_until=0 WHERE route=?1 AND owner=?2",
                         [&](Stmt& s) { s.Bind(1, route).Bind(2, owner).Bind(3, now); })
                : Change(c, "UPDATE copy_state SET last_error=?3, owner='', lease_until=0 WHERE route=?1 AND owner=?2",
                         [&](Stmt& s) { s.Bind(1, route).Bind(2, owner).Bind(3, error); });
        if (!n.ok()) return n.status();
        return Select(c, route);
      },
      std::move(done));
}

Status CopyStore::RequestLoad(const std::string& route) {
  auto r = Wait<bool>([&](auto cb) {
    SubmitFor<bool>(
        db_,
        [route](Conn& c) -> Result<bool> {
          if (auto s = Ensure(c, route); !s.ok()) return s;
          auto n = Change(c,
                          "UPDATE copy_state SET cursor='', loading=1, owner='', lease_until=0, pass_items=0, "
                          "pass_pages=0 WHERE route=?1",
                          [&](Stmt& s) { s.Bind(1, route); });
          if (!n.ok()) return n.status();
          return true;
        },
        cb);
  });
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace writ
