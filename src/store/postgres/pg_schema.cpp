#include "store/postgres/pg_schema.h"

namespace writ::pg {

// The same tables as SQLite's (store/sqlite/sqlite_schema.cpp), in
// PostgreSQL types: integers are BIGINT, blobs BYTEA, row ids BIGSERIAL.
const char* const kKeysSchema = R"sql(
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

const char* const kCommandsSchema = R"sql(
CREATE TABLE IF NOT EXISTS commands (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  ordering_key TEXT,                 -- NULL: no ordering constraint
  method TEXT NOT NULL,
  target TEXT NOT NULL,
  headers TEXT NOT NULL,
  body BYTEA NOT NULL,
  upstream_key TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  redrives BIGINT NOT NULL DEFAULT 0,
  fence BIGINT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  lease_until BIGINT NOT NULL DEFAULT 0,
  due_at BIGINT NOT NULL,           -- claimable from: next attempt, or lease expiry
  last_error TEXT NOT NULL DEFAULT '',
  canonical_id TEXT NOT NULL DEFAULT '',
  response_status BIGINT NOT NULL DEFAULT 0,
  response_headers TEXT NOT NULL DEFAULT '',
  response_body BYTEA NOT NULL DEFAULT ''::bytea,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL DEFAULT 0,
  budget_from BIGINT NOT NULL,
  expires_at BIGINT NOT NULL DEFAULT 0  -- finished: deleted (with its events) after this; 0 = kept
);
-- Workers scan only unfinished commands that are due, earliest first: a
-- backlog waiting for retries (a master that is down) costs a claim nothing.
CREATE INDEX IF NOT EXISTS commands_due ON commands(route, due_at, seq)
  WHERE status IN ('accepted','processing');
CREATE INDEX IF NOT EXISTS commands_ordering ON commands(route, ordering_key, seq)
  WHERE status IN ('accepted','processing') AND ordering_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS commands_expiry ON commands(expires_at) WHERE expires_at > 0;
-- Operators list what needs attention; only those rows are indexed.
CREATE INDEX IF NOT EXISTS commands_attention ON commands(seq) WHERE status IN ('failed','dead');
CREATE TABLE IF NOT EXISTS events (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  submission_id TEXT NOT NULL,
  route TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  deliver BIGINT NOT NULL,          -- 1: the route has a webhook
  attempts BIGINT NOT NULL DEFAULT 0,
  next_at BIGINT NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  delivered_at BIGINT
);
CREATE INDEX IF NOT EXISTS events_submission ON events(submission_id, seq);
CREATE INDEX IF NOT EXISTS events_pending ON events(next_at) WHERE deliver = 1 AND delivered_at IS NULL;
)sql";

const char* const kJobsSchema = R"sql(
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

}  // namespace writ::pg
