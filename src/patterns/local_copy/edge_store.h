// EdgeStore: the local copy of edge routes (CP-5) and its sync queue, on
// the shared group-commit database (schema version 11, table edge_records;
// the changes to send are commands of the route's queue).
//
// A record is written locally and answered at once; its change is queued
// in the same transaction as one command, ordered per record (the
// command's ordering key is the record's id):
//   never created at the master  -> POST {collection} with the whole state
//   created (or its create queued) -> PUT|PATCH {collection}/{id} with the
//                                     whole state; the master's id replaces
//                                     {id} when it is sent
//   deleted                       -> DELETE {collection}/{id}
// A write while the record's newest change is still unsent (never tried,
// or only tried with a certain "not applied") replaces that change's body
// instead of queueing another: the master gets the latest absolute state,
// once. A change tried with an unknown outcome is never altered (its key
// may be known to the master with that body); the write queues a new one.
//
// Sync states of a record: pending (changes queued) -> synced (the master
// took the last one); rejected (the master refused a change finally: its
// answer is kept), conflict (the master answered 409/412 to an update),
// blocked (a record it references was rejected), dead (the change's retry
// budget ran out). A later write queues the record again (a rejected
// record that was never created is created anew).
// Records are found by their own id or by the master's (the canonical id,
// unique per tenant and route once known).
//
// Conflicts (schema version 12): an update or delete the master answers
// 409 or 412 (it changed the record behind Writ's back) cancels the record's
// other unsent changes (the record holds their state) and queues a read of
// the master's version (GET {collection}/{id}). Its answer is handled by
// the route's policy:
//   master_wins  the master's version replaces the local one (which is kept
//                in the record's history); synced
//   local_wins   the local state is sent again once, with the master's new
//                ETag; a second conflict is handled as manual
//   manual       conflict, held: both versions are kept; later local writes
//                change the local copy only, until an operator resolves it
//                (Resolve: take local -> sent again; take master -> the
//                master's version replaces the local one, kept in history)
// Thread-safety: every method may be called from any thread; callbacks run
// on the database's writer thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/command_queue.h"
#include "store/database.h"
#include "store/key_store.h"

namespace writ {

enum class SyncStatus { kPending, kSynced, kRejected, kConflict, kBlocked, kDead };
const char* SyncStatusName(SyncStatus s);
std::optional<SyncStatus> ParseSyncStatus(const std::string& s);

enum class ConflictPolicy { kManual, kMasterWins, kLocalWins };
const char* ConflictPolicyName(ConflictPolicy p);
std::optional<ConflictPolicy> ParseConflictPolicy(const std::string& s);

struct EdgeRecord {
  int64_t seq = 0;  // creation order (list cursor)
  std::string tenant, route, id;
  std::string canonical_id;  // the master's id, once its create succeeded
  int64_t version = 0;       // local version, bumped by every write
  std::string data;          // JSON text
  bool deleted = false;
  SyncStatus sync_status = SyncStatus::kPending;
  std::string reason;       // why rejected, blocked, conflict or dead
  std::string master_etag;  // the master's ETag from its last answer, if any
  // A master state (its version) a refresh deferred while local writes
  // were pending; the refresh reads the record again once they are answered.
  std::string master_newer;
  int answer_status = 0;  // the master's last answer to a change
  std::string answer_body;
  Millis created_at = 0, updated_at = 0;
  Millis synced_at = 0;       // when the master last took a change (0: never)
  int64_t pending = 0;        // changes queued and not finished (read with the record)
  Millis oldest_pending = 0;  // acceptance time of the oldest of them
  // Conflicts: the master's version ("" not known, "null" the master has
  // no such record), held for an operator (manual), re-sent once (local_wins).
  std::string master_data;
  bool held = false;
  bool resent = false;
  std::string collection;    // the master's collection path its changes go to
  bool from_master = false;  // loaded from the master (a dual copy's refresh), not created locally
};

// A local version a conflict resolution overwrote.
struct EdgeHistoryEntry {
  int64_t version = 0;
  std::string data;
  bool deleted = false;
  std::string reason;  // master_wins, take-master
  Millis at = 0;
};

// How the sync worker's outcomes move records: the route's settings.
struct EdgeSyncRules {
  ConflictPolicy on_conflict = ConflictPolicy::kManual;
  std::string update_method = "PUT";
};

// What a change's terminal outcome did to its record (for metrics).
struct EdgeFinish {
  bool conflict = false;  // the master refused an update with 409/412
  Millis lag = -1;        // >= 0: the record synced, this long after its oldest change was accepted
};

// An operator's action on one record (writ edge resolve|resync).
struct EdgeResolve {
  enum Action { kTakeLocal, kTakeMaster, kResync } action = kResync;
  std::string tenant, route, id;
  Command command;  // the change to queue: id, upstream_key, headers
  std::string update_method = "PUT";
};

enum class EdgeResolveStatus {
  kDone,
  kNotFound,
  kNotHeld,          // take local|master: the record awaits no operator
  kHeld,             // resync: the record awaits a resolution
  kNotUnsynced,      // resync: the record is pending or synced already
  kNoMasterVersion,  // take master: the master's version is not known yet
};
struct EdgeWrite {
  enum Kind { kCreate, kReplace, kDelete } kind = kCreate;
  std::string tenant, route;
  std::string id;                // create: the new id; else the record's id or canonical id
  int64_t expected_version = 0;  // 0: any
  std::string data;              // create, replace: the whole new state (JSON text)
  LocalKey key;
  // The queued change: id, upstream_key, headers and notify set by the
  // caller; the store sets method, target and body.
  Command command;
  std::string collection;  // the master's collection path (base path included)
  std::string update_method = "PUT";
  Millis send_delay = 0;  // a new change is sent no sooner than this (sync.interval)
  // Builds the answer stored with the key (replayed for retries); runs
  // inside the transaction, so it must only format.
  std::function<StoredResponse(const EdgeRecord&)> respond;
};

enum class EdgeWriteStatus {
  kDone,       // applied: `record` (and `response` when keyed)
  kNotFound,   // no such record (or deleted)
  kStale,      // expected_version is not current: `record`
  kIdTaken,    // create: the id exists in this tenant and route
  kKeyExists,  // the key has a record: `existing`
};

struct EdgeWriteResult {
  EdgeWriteStatus status = EdgeWriteStatus::kDone;
  EdgeRecord record;
  StoredResponse response;
  IdempotencyRecord existing;
  bool coalesced = false;  // the change replaced an unsent one's body
  bool queued = false;     // a change was queued (or coalesced)
};

struct EdgeFilter {
  std::string tenant, route;  // tenant "": every tenant (operator tools)
  std::optional<SyncStatus> status;
  int64_t after_seq = 0;
  int limit = 50;
};

struct EdgeCounts {
  int64_t pending = 0, synced = 0, rejected = 0, conflict = 0, blocked = 0, dead = 0;
  Millis oldest_pending = 0;  // updated_at of the oldest pending record (0: none)
};

// One record as the master has it: an item of a dual copy's refresh, or
// its answer to a read of the record.
struct MasterState {
  std::string id;        // the master's id
  std::string data;      // JSON object text; unused when deleted
  bool deleted = false;  // the master has no such record (any more)
  std::string etag;      // its version, sent as If-Match with the next change
  // A repair (reconciliation, master-wins): taken even when the copy names
  // the same version, and never read again; pending local writes still win.
  bool force = false;
};

// A reconciliation's local-wins repair of one record.
struct LocalRepair {
  std::string id;             // the master's id
  bool master_has_it = true;  // false: the master lost it; it is created there again
  std::string etag;           // the master's version now: the If-Match the repair is sent with
};

// What ApplyMaster did, item by item.
struct MasterApply {
  int64_t inserted = 0;   // new in the copy
  int64_t updated = 0;    // the copy took the master's state (deleted ones too)
  int64_t unchanged = 0;  // the copy had it already
  int64_t deferred = 0;   // local changes are pending: they go out with If-Match of
                          // the version the copy knows, so a master that changed
                          // meets the route's conflict policy
  int64_t held = 0;       // held for an operator: its master version was updated
  // Records the master took a change of after `read_since`: the item may be
  // older than the copy, so it must be read again (a GET after this).
  std::vector<std::string> recheck;
};

class EdgeStore {
 public:
  explicit EdgeStore(Database& db) : db_(db) {}

  void Write(EdgeWrite req, Callback<EdgeWriteResult> done);
  // By the record's id or its canonical id; deleted records too.
  Result<std::optional<EdgeRecord>> Get(const std::string& tenant, const std::string& route, const std::string& id);
  Result<std::vector<EdgeRecord>> List(const EdgeFilter& f);
  Result<EdgeCounts> Counts(const std::string& route);
  // Records of `route` whose create is queued or in flight (no canonical id yet).
  Result<int64_t> CreatesPending(const std::string& route);
  // Records of the route with changes not yet at the master (cheap: an index range).
  Result<int64_t> Pending(const std::string& route);
  // Ids of records whose master state a refresh deferred and whose local
  // writes are all answered now: to be read from the master again.
  Result<std::vector<std::string>> DeferredMasterStates(const std::string& tenant, const std::string& route, int limit);
  Result<std::vector<EdgeHistoryEntry>> History(const EdgeRecord& r);
  Result<EdgeResolveStatus> Resolve(const EdgeResolve& req);
  // In the transaction that records a change's terminal outcome (the
  // worker's on_terminal): the record follows it, conflicts by `policy`.
  static Status OnChangeFinished(sql::Conn& c, const AttemptOutcome& o, Millis now, const EdgeSyncRules& rules = {},
                                 EdgeFinish* finish = nullptr);
  // In the transaction that schedules a change's retry (on_retry): a change
  // the master has certainly not applied takes the state of the record's
  // later unsent changes, which are cancelled ("folded"). A write that came
  // while the change was being sent thus still makes one request.
  static Status OnChangeRetried(sql::Conn& c, const AttemptOutcome& o, Millis now);
  // A dual copy's refresh: the master's states into the copy of (tenant,
  // route), in one transaction with `also` (the refresh's cursor moves with
  // them). `read_since`: when the read that returned them began.
  void ApplyMaster(const std::string& tenant, const std::string& route, const std::string& collection,
                   std::vector<MasterState> items, Millis read_since, std::function<Status(sql::Conn&)> also,
                   Callback<MasterApply> done);
  // The copy's records whose canonical id is in (after, upto] in byte
  // order (upto "": no bound), deleted ones too: a reconciliation's chunk.
  Result<std::vector<EdgeRecord>> ListByCanonical(const std::string& tenant, const std::string& route,
                                                  const std::string& after, const std::string& upto);
  // A reconciliation's local-wins repair: each record's local state is
  // queued for the master again (a create where the master lost it, a
  // delete where the copy deleted it). Records with changes pending or held
  // for an operator are left alone. Returns how many were queued.
  Result<int64_t> Resend(const std::string& tenant, const std::string& route, const std::vector<LocalRepair>& items,
                         const std::string& update_method);
  static std::vector<SchemaStep> Schema();  // versions 11, 12, 13 and 16

 private:
  Database& db_;
};

Result<EdgeWriteResult> EdgeWriteSync(EdgeStore& s, EdgeWrite req);

// The Idempotency-Key the master gets for one change of an edge record.
std::string EdgeChangeKey(const std::string& tenant, const std::string& route, const std::string& change_id);

}  // namespace writ
