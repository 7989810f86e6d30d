// Schema version 4: drafts and their versions, in both dialects; version 10:
// live drafts by tenant (quotas.max_drafts).
#include "store/database.h"

namespace writ {
namespace {

const char* const kSqliteSchema = R"sql(
CREATE TABLE IF NOT EXISTS drafts (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  version INTEGER NOT NULL,
  status TEXT NOT NULL,              -- open, submitting, submitted
  data BLOB NOT NULL,                -- the document, JSON text
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,       -- erased after this (never while submitting)
  create_key TEXT NOT NULL DEFAULT '',
  submit_key TEXT NOT NULL DEFAULT '',
  submit_seq INTEGER NOT NULL DEFAULT 0,
  submit_version INTEGER NOT NULL DEFAULT 0,
  submission_id TEXT NOT NULL DEFAULT '',
  canonical_id TEXT NOT NULL DEFAULT '',
  answer_status INTEGER NOT NULL DEFAULT 0,
  answer_headers TEXT NOT NULL DEFAULT '',
  answer_body BLOB NOT NULL DEFAULT x'',
  submit_unknown INTEGER NOT NULL DEFAULT 0  -- 1: an attempt of this submission may have applied
);
CREATE INDEX IF NOT EXISTS drafts_list ON drafts(route, status, seq);
CREATE INDEX IF NOT EXISTS drafts_expiry ON drafts(expires_at);
CREATE INDEX IF NOT EXISTS drafts_submission ON drafts(submission_id) WHERE submission_id != '';
CREATE TABLE IF NOT EXISTS draft_versions (
  draft_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  data BLOB NOT NULL,
  changed TEXT NOT NULL,             -- JSON array of the pointers the save changed
  created_at INTEGER NOT NULL,
  PRIMARY KEY (draft_id, version)
);
)sql";

const char* const kPostgresSchema = R"sql(
CREATE TABLE IF NOT EXISTS drafts (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  version BIGINT NOT NULL,
  status TEXT NOT NULL,
  data BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  create_key TEXT NOT NULL DEFAULT '',
  submit_key TEXT NOT NULL DEFAULT '',
  submit_seq BIGINT NOT NULL DEFAULT 0,
  submit_version BIGINT NOT NULL DEFAULT 0,
  submission_id TEXT NOT NULL DEFAULT '',
  canonical_id TEXT NOT NULL DEFAULT '',
  answer_status BIGINT NOT NULL DEFAULT 0,
  answer_headers TEXT NOT NULL DEFAULT '',
  answer_body BYTEA NOT NULL DEFAULT ''::bytea,
  submit_unknown BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS drafts_list ON drafts(route, status, seq);
CREATE INDEX IF NOT EXISTS drafts_expiry ON drafts(expires_at);
CREATE INDEX IF NOT EXISTS drafts_submission ON drafts(submission_id) WHERE submission_id != '';
CREATE TABLE IF NOT EXISTS draft_versions (
  draft_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  data BYTEA NOT NULL,
  changed TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (draft_id, version)
);
)sql";

}  // namespace

SchemaStep DraftsSchemaStep() { return {4, "drafts", kSqliteSchema, kPostgresSchema}; }

SchemaStep DraftsTenantSchemaStep() {
  static const char* const kSql = "CREATE INDEX IF NOT EXISTS drafts_tenant ON drafts(tenant, status);";
  return {10, "drafts", kSql, kSql};
}

}  // namespace writ
