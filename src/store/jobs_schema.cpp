// Schema version 3: buffered jobs, item keys, producer sequences, buffers, in both dialects.
#include "store/database.h"

namespace writ {

SchemaStep JobsSchemaStep() {
  static const char* const kSqlite = R"sql(
ALTER TABLE commands ADD COLUMN job_id TEXT;             -- NULL: an async command
ALTER TABLE commands ADD COLUMN item_pos INTEGER NOT NULL DEFAULT -1;
ALTER TABLE commands ADD COLUMN item_key TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS commands_job ON commands(job_id, item_pos) WHERE job_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  producer_id TEXT,                  -- NULL: uploaded without Producer-Id
  producer_seq INTEGER NOT NULL DEFAULT 0,
  items INTEGER NOT NULL,
  accepted INTEGER NOT NULL,
  duplicates INTEGER NOT NULL,
  rejected TEXT NOT NULL,            -- JSON [{position, reason}]
  response_status INTEGER NOT NULL,  -- the 202, replayed to producer retries
  response_headers TEXT NOT NULL,
  response_body BLOB NOT NULL,
  dedup_ms INTEGER NOT NULL,         -- the route's dedup window at acceptance
  retention_ms INTEGER NOT NULL,     -- the route's retention at acceptance
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL        -- deleted after this once no item is unfinished
);
CREATE INDEX IF NOT EXISTS jobs_route ON jobs(route, seq);
CREATE INDEX IF NOT EXISTS jobs_producer ON jobs(tenant, route, producer_id, producer_seq)
  WHERE producer_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_expiry ON jobs(expires_at);
-- The owner of each item key: queued items (expires_at 0) and succeeded ones
-- (until expires_at). Failed and dead items give their key up.
CREATE TABLE IF NOT EXISTS item_keys (
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  item_key TEXT NOT NULL,
  command_id TEXT NOT NULL,
  dedup_ms INTEGER NOT NULL,
  expires_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, route, item_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS item_keys_expiry ON item_keys(expires_at) WHERE expires_at > 0;
CREATE TABLE IF NOT EXISTS producers (
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  producer_id TEXT NOT NULL,
  last_seq INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, route, producer_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS buffers (
  route TEXT PRIMARY KEY,
  pending INTEGER NOT NULL DEFAULT 0,  -- items queued or processing
  paused INTEGER NOT NULL DEFAULT 0
);
)sql";
  static const char* const kPostgres = R"sql(
ALTER TABLE commands ADD COLUMN IF NOT EXISTS job_id TEXT;             -- NULL: an async command
ALTER TABLE commands ADD COLUMN IF NOT EXISTS item_pos BIGINT NOT NULL DEFAULT -1;
ALTER TABLE commands ADD COLUMN IF NOT EXISTS item_key TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS commands_job ON commands(job_id, item_pos) WHERE job_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS jobs (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  producer_id TEXT,                  -- NULL: uploaded without Producer-Id
  producer_seq BIGINT NOT NULL DEFAULT 0,
  items BIGINT NOT NULL,
  accepted BIGINT NOT NULL,
  duplicates BIGINT NOT NULL,
  rejected TEXT NOT NULL,            -- JSON [{position, reason}]
  response_status BIGINT NOT NULL,  -- the 202, replayed to producer retries
  response_headers TEXT NOT NULL,
  response_body BYTEA NOT NULL,
  dedup_ms BIGINT NOT NULL,         -- the route's dedup window at acceptance
  retention_ms BIGINT NOT NULL,     -- the route's retention at acceptance
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL        -- deleted after this once no item is unfinished
);
CREATE INDEX IF NOT EXISTS jobs_route ON jobs(route, seq);
CREATE INDEX IF NOT EXISTS jobs_producer ON jobs(tenant, route, producer_id, producer_seq)
  WHERE producer_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_expiry ON jobs(expires_at);
-- The owner of each item key: queued items (expires_at 0) and succeeded ones
-- (until expires_at). Failed and dead items give their key up.
CREATE TABLE IF NOT EXISTS item_keys (
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  item_key TEXT NOT NULL,
  command_id TEXT NOT NULL,
  dedup_ms BIGINT NOT NULL,
  expires_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, route, item_key)
);
CREATE INDEX IF NOT EXISTS item_keys_expiry ON item_keys(expires_at) WHERE expires_at > 0;
CREATE TABLE IF NOT EXISTS producers (
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  producer_id TEXT NOT NULL,
  last_seq BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, route, producer_id)
);
CREATE TABLE IF NOT EXISTS buffers (
  route TEXT PRIMARY KEY,
  pending BIGINT NOT NULL DEFAULT 0,  -- items queued or processing
  paused BIGINT NOT NULL DEFAULT 0
);
)sql";
  return {3, "jobs", kSqlite, kPostgres};
}

}  // namespace writ
