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
// As SelectRecord, but a completed record past its retention is absent.
Result<std::optional<IdempotencyRecord>> SelectLiveRecord(Conn& c, const KeyId& id, Millis now);
// A completed record whose retention has ended: treated as absent everywhere
// (the collector deletes it later).
bool ExpiredCompleted(const IdempotencyRecord& r, Millis now);
// Expired completed records, tombstones and released ones: no answer to give.
bool AbsentOnLookup(const IdempotencyRecord& r, Millis now);
// "" (a key's first record) -> "1" -> "2" ...
std::string NextGeneration(const std::string& generation);
// Claim (see KeyStore::Claim) inside the caller's transaction: insert an
// in-flight record, or take over an expired one with the same fingerprint
// (or park it as unknown when req.park_on_takeover), or report the record
// that stands.
Result<ClaimResult> ClaimKey(Conn& c, const ClaimRequest& req, Millis now);
// Claims the record `rec` as read (its state `from` and its fence) for a
// new holder: in flight, fence + 1, one more attempt, a new lease, the
// holder's `request` ("": none kept). False when the record moved on
// meanwhile (another holder or a client won).
Result<bool> Retake(Conn& c, const IdempotencyRecord& rec, const char* from, Millis lease_until, Millis now,
                    const std::string& request);
// Inserts a completed record holding `response` (or replaces one that
// answers nothing, see AbsentOnLookup, with the next generation). False
// (nothing written) when the key has a live record already (another
// instance inserted it first). `generation`: set to the new record's.
Result<bool> InsertCompletedRecord(Conn& c, const KeyId& id, const std::string& fingerprint,
                                   const std::string& detail, const StoredResponse& response, Millis now,
                                   Millis retention, std::string* generation = nullptr);

// A local write's key (LocalKey), inside its transaction. TakeLocalKey
// writes the record first, completed with a placeholder answer, so that a
// concurrent request with the same key (another instance) waits for this
// transaction and then finds it; false: the key has a record already, in
// `existing`. A refused write gives the key back (nothing stays); a done one
// stores its answer for replays.
// `answer`, when the caller knows it before writing, completes the key at
// once (SetLocalKeyAnswer is then not needed).
Result<bool> TakeLocalKey(Conn& c, const KeyId& id, const LocalKey& key, Millis now, IdempotencyRecord& existing,
                          const StoredResponse& answer = {});
Status GiveLocalKeyBack(Conn& c, const KeyId& id);
Status SetLocalKeyAnswer(Conn& c, const KeyId& id, const StoredResponse& r);

}  // namespace writ::sql
