// ApiKeyStore: the API keys Writ accepts (table api_keys), shared by every
// instance on the store. A row holds the key's id, the HMAC-SHA256 digest of
// its secret (core/api_key.h), its tenant and roles, and its lifetime; never
// the secret.
// Thread-safety: every method may be called from any thread; callbacks run
// on the database's writer thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "store/database.h"

namespace writ {

struct ApiKeyRecord {
  std::string id;
  std::string digest;
  std::string tenant;
  unsigned roles = 0;   // core/api_key.h Role bits
  std::string name;     // the operator's label ("billing service")
  Millis created_at = 0;
  Millis expires_at = 0;  // 0: never
  Millis revoked_at = 0;  // 0: not revoked
  Millis last_used_at = 0;
  bool Usable(Millis now) const { return revoked_at == 0 && (expires_at == 0 || now < expires_at); }
};

class ApiKeyStore {
 public:
  explicit ApiKeyStore(Database& db) : db_(db) {}
  Millis Now() const { return db_.Now(); }

  // Inserts `rec` (created_at set to now). False when the id is taken.
  void Create(ApiKeyRecord rec, Callback<bool> done);
  Result<std::optional<ApiKeyRecord>> Get(const std::string& id);
  // Every key, newest first.
  Result<std::vector<ApiKeyRecord>> List();
  // Revokes at once. False if absent or revoked already.
  void Revoke(std::string id, Callback<bool> done);
  // Ends the key at `at` unless it ends sooner (rotation's overlap). False if absent.
  void EndBy(std::string id, Millis at, Callback<bool> done);
  // Records a use now. Not fsynced: a crash may lose the last minute's uses.
  void Touch(std::string id, Callback<bool> done);

  static SchemaStep Schema();  // version 9

 private:
  Database& db_;
};

Result<bool> CreateApiKeySync(ApiKeyStore& s, ApiKeyRecord rec);
Result<bool> RevokeApiKeySync(ApiKeyStore& s, std::string id);
Result<bool> EndApiKeyBySync(ApiKeyStore& s, std::string id, Millis at);

}  // namespace writ
