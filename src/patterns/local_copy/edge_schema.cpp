// Schema versions 11 to 13: the local copy of edge routes, in both dialects. The
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

// Version 12: conflicts. The master's version of a record in conflict, the
// local_wins re-send made once, a record held for an operator (manual),
// the collection the record's changes go to (for resolving from the CLI),
// and the versions a resolution overwrote.
const char* const kSqliteConflicts = R"sql(
ALTER TABLE edge_records ADD COLUMN master_data BLOB NOT NULL DEFAULT x'';  -- '' unknown, 'null' gone at the master
ALTER TABLE edge_records ADD COLUMN held INTEGER NOT NULL DEFAULT 0;        -- 1: manual conflict, awaits an operator
ALTER TABLE edge_records ADD COLUMN resent INTEGER NOT NULL DEFAULT 0;      -- 1: local_wins has re-sent once
ALTER TABLE edge_records ADD COLUMN collection TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS edge_history (
  seq INTEGER PRIMARY KEY,
  record_seq INTEGER NOT NULL,          -- edge_records.seq
  version INTEGER NOT NULL,             -- the local version that was overwritten
  data BLOB NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL,                 -- master_wins, take-master, ...
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS edge_history_record ON edge_history(record_seq, seq);
)sql";

const char* const kPostgresConflicts = R"sql(
ALTER TABLE edge_records ADD COLUMN IF NOT EXISTS master_data BYTEA NOT NULL DEFAULT ''::bytea;
ALTER TABLE edge_records ADD COLUMN IF NOT EXISTS held BIGINT NOT NULL DEFAULT 0;
ALTER TABLE edge_records ADD COLUMN IF NOT EXISTS resent BIGINT NOT NULL DEFAULT 0;
ALTER TABLE edge_records ADD COLUMN IF NOT EXISTS collection TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS edge_history (
  seq BIGSERIAL PRIMARY KEY,
  record_seq BIGINT NOT NULL,
  version BIGINT NOT NULL,
  data BYTEA NOT NULL,
  deleted BIGINT NOT NULL DEFAULT 0,
  reason TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS edge_history_record ON edge_history(record_seq, seq);
)sql";

// Version 13: where a record came from. A dual copy loads records from the
// master ('master'); every other record was created locally ('local').
const char* const kSqliteOrigin = R"sql(
ALTER TABLE edge_records ADD COLUMN origin TEXT NOT NULL DEFAULT 'local';
)sql";
const char* const kPostgresOrigin = R"sql(
ALTER TABLE edge_records ADD COLUMN IF NOT EXISTS origin TEXT NOT NULL DEFAULT 'local';
)sql";

// Version 16: a master state a dual copy's refresh deferred while local
// writes of the record were pending ('' none). Once they are answered, the
// refresh reads the record again: the master may hold a state newer than
// the one its answers carried (a write applied, its answer lost, the master
// changed the record, the retry answered from the master's key store).
const char* const kSqliteMasterNewer = R"sql(
ALTER TABLE edge_records ADD COLUMN master_newer TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS edge_master_newer ON edge_records(route) WHERE master_newer != '';
)sql";
const char* const kPostgresMasterNewer = R"sql(
ALTER TABLE edge_records ADD COLUMN IF NOT EXISTS master_newer TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS edge_master_newer ON edge_records(route) WHERE master_newer != '';
)sql";

}  // namespace

SchemaStep EdgeSchemaStep() { return {11, "edge_records", kSqliteSchema, kPostgresSchema}; }
SchemaStep EdgeConflictSchemaStep() { return {12, "edge_records", kSqliteConflicts, kPostgresConflicts}; }
SchemaStep EdgeOriginSchemaStep() { return {13, "edge_records", kSqliteOrigin, kPostgresOrigin}; }
SchemaStep EdgeMasterNewerSchemaStep() { return {16, "edge_records", kSqliteMasterNewer, kPostgresMasterNewer}; }

}  // namespace writ
