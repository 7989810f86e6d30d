// KeyStore: the idempotency records of every route, scoped by (tenant,
// route, key), on the shared group-commit database.
//
// A record is in flight while its holder calls the master (a fenced lease),
// completed with the final answer to replay, unknown when the outcome of an
// attempt could not be learned (never re-sent automatically), or released
// when the master answered "nothing applied, try again": the key is free
// for a retry, which keeps the record's generation (and so its derived key,
// should that answer have been wrong). A released record answers nothing.
// Past its retention a completed or released record becomes an expired
// tombstone (no answer, no body) for as long again, so that the key's next
// record gets the next generation: a client key reused after its retention
// reaches the master as a new derived key, never as the master's old record.
// Thread-safety: every method may be called from any thread; callbacks run
// on the database's writer thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/http_types.h"
#include "store/database.h"

namespace writ {

struct KeyId {
  std::string tenant;
  std::string route;
  std::string key;
};

enum class KeyState { kInFlight, kCompleted, kUnknown, kReleased, kExpired };
const char* KeyStateName(KeyState s);
std::optional<KeyState> ParseKeyState(const std::string& s);

struct StoredResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

struct IdempotencyRecord {
  KeyId id;
  KeyState state = KeyState::kInFlight;
  std::string fingerprint;         // hex digest of the whole request
  std::string fingerprint_detail;  // JSON: per-part digests used to say what differs
  int64_t fence = 0;               // bumped on every claim; stale holders lose
  int attempts = 0;                // upstream attempts started under this key
  Millis created_at = 0;
  Millis updated_at = 0;
  Millis lease_until = 0;  // in-flight only
  Millis expires_at = 0;   // 0: kept until an operator removes it (unknown outcomes)
  StoredResponse response;  // completed only
  std::string generation;   // "", "1", ...: bumped per new record of the key, part of the derived key
  // In flight on a route whose completer re-sends orphans: the request sent
  // (upstream/request_text.h). Read by Due only; "" elsewhere.
  std::string request;
};

struct ClaimRequest {
  KeyId id;
  std::string fingerprint;
  std::string fingerprint_detail;
  Millis lease = 30'000;
  Millis retention = 86'400'000;
  // When an expired in-flight record is found: park it as unknown instead of
  // taking it over (at-most-once guard for masters that ignore keys).
  bool park_on_takeover = false;
  // false: the claim need not be on disk before the master is called; it
  // becomes durable with the next durable commit (the completion). Safe only
  // where a claim lost in a crash is harmless: the master honours keys, so a
  // re-send under the same derived key is deduplicated there.
  bool durable = true;
  // The request about to be sent (upstream/request_text.h), kept while in
  // flight so that the completer can re-send it if the holder dies; "":
  // none kept.
  std::string request;
};

struct ClaimResult {
  bool claimed = false;     // true: caller holds the key with `fence`
  bool took_over = false;   // claimed an expired in-flight record
  int64_t fence = 0;
  std::string generation;      // when claimed: the record's generation
  IdempotencyRecord existing;  // when !claimed: the record that stands
};

// A client's Idempotency-Key on a write answered from a local change (a
// draft's save, an edge record's write): its record is taken, answered and
// given back inside the change's own transaction (sql/keys.h).
struct LocalKey {
  bool has_key = false;
  std::string key;  // the client's key
  std::string fingerprint, fingerprint_detail;
  Millis retention = 86'400'000;
};

struct KeyCounts {
  int64_t in_flight = 0, completed = 0, unknown = 0;
};

class KeyStore {
 public:
  explicit KeyStore(Database& db) : db_(db) {}
  Millis Now() const { return db_.Now(); }

  // The key's record; a completed record past its retention is absent
  // (its retention is a deadline, not a minimum).
  Result<std::optional<IdempotencyRecord>> Lookup(const KeyId& id);
  // Atomically: create an in-flight record, or take over an expired one with
  // the same fingerprint, or report the record that stands.
  void Claim(ClaimRequest req, Callback<ClaimResult> done);
  // in-flight -> completed with the final response, if `fence` still holds.
  // The result is false when another holder has taken the key over.
  void Complete(KeyId id, int64_t fence, StoredResponse response, Millis retention, Callback<bool> done);
  // in-flight -> released, if `fence` still holds (transient failure: the
  // client may retry with the same key; the retry keeps the generation).
  // Not fsynced on its own: if lost in a crash, the record stays in flight
  // until its lease expires.
  void Release(KeyId id, int64_t fence, Callback<bool> done);
  // in-flight -> unknown (outcome unknown, never re-sent automatically;
  // probed at once where the route has a probe).
  void MarkUnknown(KeyId id, int64_t fence, Callback<bool> done);
  // Operator action: deletes a record in any state. False if absent.
  void Remove(KeyId id, Callback<bool> done);
  // Operator action on an unknown record, after checking the master:
  // applied -> completed with `answer` (replayed to the client's retries);
  // not applied -> released (the client's retry sends again, under the same
  // derived key). False if the key has no unknown record.
  void Resolve(KeyId id, bool applied, StoredResponse answer, Millis retention, Callback<bool> done);
  Result<std::vector<IdempotencyRecord>> List(std::optional<KeyState> state, const std::string& route, int limit);
  // The completer's work on `route`, oldest first: with kInFlight, records
  // whose lease has run out (orphans: the holder died and the client has
  // not retried); with kUnknown, those due for a probe (an unknown record's
  // lease_until is the time of its next probe; parking sets it to now).
  Result<std::vector<IdempotencyRecord>> Due(const std::string& route, KeyState state, int limit);
  // The completer takes over an orphan `rec` (as read by Due) to re-send its
  // request: in flight again with fence rec.fence + 1 and a new lease. False
  // when the record moved on meanwhile (a client retry took it over).
  void TakeOver(IdempotencyRecord rec, Millis lease, Callback<bool> done);
  // An unknown record: the next probe not before `at`.
  void DeferProbe(KeyId id, Millis at, Callback<bool> done);
  // Counts records by state: a full scan, for metrics and tools.
  Result<KeyCounts> Counts();

  // Deletes up to `batch` completed or released records past their
  // retention (never an in-flight or unknown one), inside the caller's
  // transaction.
  static Result<int> DeleteExpired(sql::Conn& c, int batch, Millis now);
  static SchemaStep Schema();            // version 1
  static SchemaStep GenerationSchema();  // version 5: generation
  static SchemaStep OpenIndexSchema();   // version 7: open records by route and lease
  static SchemaStep RequestSchema();     // version 8: the request of an in-flight record

 private:
  Database& db_;
};

// Blocking helpers for tools and tests: wait for the callback.
Result<ClaimResult> ClaimSync(KeyStore& s, ClaimRequest req);
Result<bool> CompleteSync(KeyStore& s, KeyId id, int64_t fence, StoredResponse r, Millis retention);
Result<bool> ReleaseSync(KeyStore& s, KeyId id, int64_t fence);
Result<bool> MarkUnknownSync(KeyStore& s, KeyId id, int64_t fence);
Result<bool> RemoveSync(KeyStore& s, KeyId id);
Result<bool> ResolveSync(KeyStore& s, KeyId id, bool applied, StoredResponse answer, Millis retention);

}  // namespace writ
