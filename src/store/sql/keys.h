// Internal to the SQL stores: idempotency records (table idem_keys) as
// statements on one connection.
#pragma once

#include <optional>

#include "store/sql/conn.h"
#include "store/key_store.h"

namespace writ::sql {

// The columns ReadRecord reads, in order.
extern const char* const kKeyColumns;
IdempotencyRecord ReadRecord(Stmt& s);
// Reads the Idempotency-Key record, if any; `lock`: FOR UPDATE on PostgreSQL.
Result<std::optional<IdempotencyRecord>> SelectRecord(Conn& c, const KeyId& id, bool lock = false);
// Claim (see KeyStore::Claim) inside the caller's transaction: insert an
// in-flight record, or take over an expired one with the same fingerprint
// (or park it as unknown when req.park_on_takeover), or report the record
// that stands.
Result<ClaimResult> ClaimKey(Conn& c, const ClaimRequest& req, Millis now);
// Inserts a completed record holding `response`. False (nothing written)
// when the key has a record already (another instance inserted it first).
Result<bool> InsertCompletedRecord(Conn& c, const KeyId& id, const std::string& fingerprint,
                                   const std::string& detail, const StoredResponse& response, Millis now,
                                   Millis retention);

}  // namespace writ::sql
