// Schema version 2: the command queue and its status events (tables commands, events), in both dialects.
#include "store/database.h"

namespace writ {

SchemaStep QueueSchemaStep() {
  static const char* const kSqlite = R"sql(
CREATE TABLE IF NOT EXISTS commands (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  ordering_key TEXT,                 -- NULL: no ordering constraint
  method TEXT NOT NULL,
  target TEXT NOT NULL,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  upstream_key TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  redrives INTEGER NOT NULL DEFAULT 0,
  fence INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL DEFAULT 0,
  due_at INTEGER NOT NULL,           -- claimable from: next attempt, or lease expiry
  last_error TEXT NOT NULL DEFAULT '',
  canonical_id TEXT NOT NULL DEFAULT '',
  response_status INTEGER NOT NULL DEFAULT 0,
  response_headers TEXT NOT NULL DEFAULT '',
  response_body BLOB NOT NULL DEFAULT x'',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL DEFAULT 0,
  budget_from INTEGER NOT NULL,
  expires_at INTEGER NOT NULL DEFAULT 0  -- finished: deleted (with its events) after this; 0 = kept
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
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  submission_id TEXT NOT NULL,
  route TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  deliver INTEGER NOT NULL,          -- 1: the route has a webhook
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  delivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS events_submission ON events(submission_id, seq);
CREATE INDEX IF NOT EXISTS events_pending ON events(next_at) WHERE deliver = 1 AND delivered_at IS NULL;
)sql";
  static const char* const kPostgres = R"sql(
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
  return {2, "commands", kSqlite, kPostgres};
}

// Schema version 6: the first attempt of each command whose outcome was
// unknown (0: none), so redrive and replay can tell "possibly applied".
SchemaStep QueueUnknownSchemaStep() {
  static const char* const kSql = "ALTER TABLE commands ADD COLUMN unknown_attempt INTEGER NOT NULL DEFAULT 0;";
  return {6, "commands", kSql, kSql};
}

// Schema version 19: `deliver` holds the route's sinks as bits (1 webhook,
// 2 NATS), and the NATS sink keeps its own delivery state per event. The
// `outbox` table holds the routes' domain events (outbox/domain_events.h):
// Debezium's outbox columns (id, aggregatetype, aggregateid, type, payload)
// and the NATS sink's delivery state.
SchemaStep QueueSinkSchemaStep() {
  static const char* const kSqlite = R"sql(
ALTER TABLE events ADD COLUMN published_at INTEGER;
ALTER TABLE events ADD COLUMN publish_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN publish_error TEXT NOT NULL DEFAULT '';
DROP INDEX IF EXISTS events_pending;
CREATE INDEX IF NOT EXISTS events_webhook_pending ON events(next_at) WHERE deliver IN (1,3) AND delivered_at IS NULL;
CREATE INDEX IF NOT EXISTS events_unpublished ON events(seq) WHERE deliver IN (2,3) AND published_at IS NULL;
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  aggregatetype TEXT NOT NULL,
  aggregateid TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  submission_id TEXT NOT NULL,
  route TEXT NOT NULL,
  subject TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  publish INTEGER NOT NULL,            -- 1: the route has a NATS sink
  published_at INTEGER,
  publish_attempts INTEGER NOT NULL DEFAULT 0,
  publish_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_submission ON outbox(submission_id, seq);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox(seq) WHERE publish = 1 AND published_at IS NULL;
)sql";
  static const char* const kPostgres = R"sql(
ALTER TABLE events ADD COLUMN IF NOT EXISTS published_at BIGINT;
ALTER TABLE events ADD COLUMN IF NOT EXISTS publish_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN IF NOT EXISTS publish_error TEXT NOT NULL DEFAULT '';
DROP INDEX IF EXISTS events_pending;
CREATE INDEX IF NOT EXISTS events_webhook_pending ON events(next_at) WHERE deliver IN (1,3) AND delivered_at IS NULL;
CREATE INDEX IF NOT EXISTS events_unpublished ON events(seq) WHERE deliver IN (2,3) AND published_at IS NULL;
CREATE TABLE IF NOT EXISTS outbox (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  aggregatetype TEXT NOT NULL,
  aggregateid TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  submission_id TEXT NOT NULL,
  route TEXT NOT NULL,
  subject TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  publish BIGINT NOT NULL,
  published_at BIGINT,
  publish_attempts BIGINT NOT NULL DEFAULT 0,
  publish_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_submission ON outbox(submission_id, seq);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox(seq) WHERE publish = 1 AND published_at IS NULL;
)sql";
  return {19, "events", kSqlite, kPostgres};
}

// Schema version 20: the NATS relay's indexes of unpublished rows carry the
// route (and the columns of their WHERE, which SQLite needs to see an index
// as covering), so each read's check of the rows at or before its cursor
// reads the index alone.
SchemaStep QueueRelayIndexSchemaStep() {
  static const char* const kSql = R"sql(
DROP INDEX IF EXISTS events_unpublished;
CREATE INDEX IF NOT EXISTS events_unpublished ON events(seq, route, deliver, published_at)
  WHERE deliver IN (2,3) AND published_at IS NULL;
DROP INDEX IF EXISTS outbox_unpublished;
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox(seq, route, publish, published_at)
  WHERE publish = 1 AND published_at IS NULL;
)sql";
  return {20, "events", kSql, kSql};
}

}  // namespace writ
