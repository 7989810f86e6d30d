#include "store/api_key_store.h"

#include "store/sql/conn.h"

namespace writ {

using namespace sql;

namespace {

const char* const kColumns =
    "id, digest, tenant, roles, name, created_at, expires_at, revoked_at, last_used_at";

ApiKeyRecord ReadKey(Stmt& s) {
  ApiKeyRecord r;
  r.id = s.Text(0);
  r.digest = s.Text(1);
  r.tenant = s.Text(2);
  r.roles = static_cast<unsigned>(s.Int(3));
  r.name = s.Text(4);
  r.created_at = s.Int(5);
  r.expires_at = s.IsNull(6) ? 0 : s.Int(6);
  r.revoked_at = s.IsNull(7) ? 0 : s.Int(7);
  r.last_used_at = s.IsNull(8) ? 0 : s.Int(8);
  return r;
}

}  // namespace

SchemaStep ApiKeyStore::Schema() {
  // The same text suits both dialects: TEXT and BIGINT are SQLite types too.
  static const char* const kSql = R"sql(
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  digest TEXT NOT NULL,       -- hex HMAC-SHA256 of the secret under the server's pepper
  tenant TEXT NOT NULL,
  roles BIGINT NOT NULL,      -- 1 client, 2 reader, 4 operator
  name TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT,
  last_used_at BIGINT
);
)sql";
  return {9, "api_keys", kSql, kSql};
}

void ApiKeyStore::Create(ApiKeyRecord rec, Callback<bool> done) {
  Database& db = db_;
  SubmitFor<bool>(
      db_,
      [&db, rec = std::move(rec)](Conn& c) {
        return Changed(Change(c,
                              std::string("INSERT INTO api_keys (") + kColumns +
                                  ") VALUES (?1,?2,?3,?4,?5,?6,?7,NULL,NULL) ON CONFLICT (id) DO NOTHING",
                              [&](Stmt& s) {
                                s.Bind(1, rec.id).Bind(2, rec.digest).Bind(3, rec.tenant);
                                s.Bind(4, int64_t{rec.roles}).Bind(5, rec.name).Bind(6, db.Now());
                                if (rec.expires_at) s.Bind(7, rec.expires_at);
                                else s.BindNull(7);
                              }));
      },
      std::move(done));
}

Result<std::optional<ApiKeyRecord>> ApiKeyStore::Get(const std::string& id) {
  return ReadFor<std::optional<ApiKeyRecord>>(db_, [&](Conn& c) -> Result<std::optional<ApiKeyRecord>> {
    auto rows = QueryRows<ApiKeyRecord>(c, std::string("SELECT ") + kColumns + " FROM api_keys WHERE id = ?1",
                                        [&](Stmt& s) { s.Bind(1, id); }, &ReadKey);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<ApiKeyRecord>();
    return std::optional<ApiKeyRecord>(std::move(rows->front()));
  });
}

Result<std::vector<ApiKeyRecord>> ApiKeyStore::List() {
  return ReadFor<std::vector<ApiKeyRecord>>(db_, [&](Conn& c) {
    return QueryRows<ApiKeyRecord>(c, std::string("SELECT ") + kColumns + " FROM api_keys ORDER BY created_at DESC, id",
                                   [](Stmt&) {}, &ReadKey);
  });
}

void ApiKeyStore::Revoke(std::string id, Callback<bool> done) {
  Database& db = db_;
  SubmitFor<bool>(
      db_,
      [&db, id = std::move(id)](Conn& c) {
        return Changed(Change(c, "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                              [&](Stmt& s) { s.Bind(1, id).Bind(2, db.Now()); }));
      },
      std::move(done));
}

void ApiKeyStore::EndBy(std::string id, Millis at, Callback<bool> done) {
  SubmitFor<bool>(
      db_,
      [id = std::move(id), at](Conn& c) {
        return Changed(Change(c,
                              "UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > ?2 "
                              "THEN ?2 ELSE expires_at END WHERE id = ?1",
                              [&](Stmt& s) { s.Bind(1, id).Bind(2, at); }));
      },
      std::move(done));
}

void ApiKeyStore::Touch(std::string id, Callback<bool> done) {
  Database& db = db_;
  SubmitFor<bool>(
      db_,
      [&db, id = std::move(id)](Conn& c) {
        return Changed(Change(c, "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
                              [&](Stmt& s) { s.Bind(1, id).Bind(2, db.Now()); }));
      },
      std::move(done), /*durable=*/false);
}

Result<bool> CreateApiKeySync(ApiKeyStore& s, ApiKeyRecord rec) {
  return Wait<bool>([&](auto cb) { s.Create(std::move(rec), cb); });
}
Result<bool> RevokeApiKeySync(ApiKeyStore& s, std::string id) {
  return Wait<bool>([&](auto cb) { s.Revoke(std::move(id), cb); });
}
Result<bool> EndApiKeyBySync(ApiKeyStore& s, std::string id, Millis at) {
  return Wait<bool>([&](auto cb) { s.EndBy(std::move(id), at, cb); });
}

}  // namespace writ
