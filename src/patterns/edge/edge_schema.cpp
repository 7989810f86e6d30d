// Schema version 11: the local copy of edge routes, in both dialects. The
// changes to send are rows of `commands` (ordering key: the record's id).
#include "store/database.h"

namespace writ {
namespace {

const char* const kSqliteSchema = R"sql(
CREATE TABLE IF NOT EXISTS edge_records (
  seq INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  id TEXT NOT NULL,                     -- Writ's temporary id (tmp_...) or the client's own
  canonical_id TEXT NOT NULL DEFAULT '',  -- the master's id, once created there
  version INTEGER NOT NULL,             -- local version, bumped by every write
  data BLOB NOT NULL,                   -- the record, JSON text
  deleted INTEGER NOT NULL DEFAULT 0,
  sync_status TEXT NOT NULL,            -- pending, synced, rejected, conflict, blocked, dead
  reason TEXT NOT NULL DEFAULT '',
  master_etag TEXT NOT NULL DEFAULT '',
  answer_status INTEGER NOT NULL DEFAULT 0,
  answer_body BLOB NOT NULL DEFAULT x'',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  synced_at INTEGER NOT NULL DEFAULT 0,
  UNIQUE (tenant, route, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS edge_canonical ON edge_records(tenant, route, canonical_id)
  WHERE canonical_id != '';
CREATE INDEX IF NOT EXISTS edge_list ON edge_records(route, sync_status, seq);
)sql";

const char* const kPostgresSchema = R"sql(
CREATE TABLE IF NOT EXISTS edge_records (
  seq BIGSERIAL PRIMARY KEY,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  id TEXT NOT NULL,
  canonical_id TEXT NOT NULL DEFAULT '',
  version BIGINT NOT NULL,
  data BYTEA NOT NULL,
  deleted BIGINT NOT NULL DEFAULT 0,
  sync_status TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  master_etag TEXT NOT NULL DEFAULT '',
  answer_status BIGINT NOT NULL DEFAULT 0,
  answer_body BYTEA NOT NULL DEFAULT ''::bytea,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  synced_at BIGINT NOT NULL DEFAULT 0,
  UNIQUE (tenant, route, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS edge_canonical ON edge_records(tenant, route, canonical_id)
  WHERE canonical_id != '';
CREATE INDEX IF NOT EXISTS edge_list ON edge_records(route, sync_status, seq);
)sql";

}  // namespace

SchemaStep EdgeSchemaStep() { return {11, "edge_records", kSqliteSchema, kPostgresSchema}; }

}  // namespace writ
