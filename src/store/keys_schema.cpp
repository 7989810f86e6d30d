// Schema version 1: idempotency records (table idem_keys), in both dialects.
#include "store/database.h"

namespace writ {

SchemaStep KeysSchemaStep() {
  static const char* const kSqlite = R"sql(
CREATE TABLE IF NOT EXISTS idem_keys (
  id INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  key TEXT NOT NULL,
  state TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  fingerprint_detail TEXT NOT NULL,
  fence INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL,
  expires_at INTEGER,
  status INTEGER NOT NULL DEFAULT 0,
  headers TEXT NOT NULL DEFAULT '',  -- "Name: value\n" lines
  body BLOB NOT NULL DEFAULT x''
);
CREATE UNIQUE INDEX IF NOT EXISTS idem_keys_scope ON idem_keys(tenant, route, key);
CREATE INDEX IF NOT EXISTS idem_keys_expiry ON idem_keys(expires_at) WHERE expires_at IS NOT NULL;
-- No index on state: listing by state is an operator query and may scan;
-- every write would pay for keeping such an index.
)sql";
  static const char* const kPostgres = R"sql(
CREATE TABLE IF NOT EXISTS idem_keys (
  id BIGSERIAL PRIMARY KEY,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  key TEXT NOT NULL,
  state TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  fingerprint_detail TEXT NOT NULL,
  fence BIGINT NOT NULL,
  attempts BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  lease_until BIGINT NOT NULL,
  expires_at BIGINT,
  status BIGINT NOT NULL DEFAULT 0,
  headers TEXT NOT NULL DEFAULT '',  -- "Name: value\n" lines
  body BYTEA NOT NULL DEFAULT ''::bytea
);
CREATE UNIQUE INDEX IF NOT EXISTS idem_keys_scope ON idem_keys(tenant, route, key);
CREATE INDEX IF NOT EXISTS idem_keys_expiry ON idem_keys(expires_at) WHERE expires_at IS NOT NULL;
-- No index on state: listing by state is an operator query and may scan;
-- every write would pay for keeping such an index.
)sql";
  return {1, "keys", kSqlite, kPostgres};
}

// Schema version 5: each record's generation, part of the key derived for
// the master. Records from before keep '' (the key they were sent with).
SchemaStep KeysGenerationSchemaStep() {
  static const char* const kSql = "ALTER TABLE idem_keys ADD COLUMN generation TEXT NOT NULL DEFAULT '';";
  return {5, "keys", kSql, kSql};
}

// Schema version 7: the open records (in flight or unknown) of each route by
// lease_until, for the completer: it finds in-flight records whose holder
// died (the lease ran out and the client never retried) and unknown ones due
// for a probe without scanning the completed ones. Partial: a completed
// record leaves the index, so it stays as small as the work in progress.
SchemaStep KeysOpenIndexSchemaStep() {
  static const char* const kSql =
      "CREATE INDEX IF NOT EXISTS idem_keys_open ON idem_keys(route, lease_until) "
      "WHERE state IN ('in_flight', 'unknown');";
  return {7, "keys", kSql, kSql};
}

// Schema version 8: the request an in-flight record's holder sent (method,
// target, headers and body as one text, see upstream/request_text.h), on
// routes whose completer re-sends orphans (on_unknown: retry, orphans:
// resend). Cleared when the record completes.
SchemaStep KeysRequestSchemaStep() {
  return {8, "keys", "ALTER TABLE idem_keys ADD COLUMN request BLOB;",
          "ALTER TABLE idem_keys ADD COLUMN request BYTEA;"};
}

}  // namespace writ
