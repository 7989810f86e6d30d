// DraftStore: the drafts of draft routes (CP-4), their versions and their
// submits, on the shared group-commit database (schema version 4, tables
// drafts and draft_versions).
//
// A draft's life:
//   open --save--> open (version + 1)      open --submit--> submitting
//   submitting --master accepted--> submitted (canonical id, answer)
//   submitting --final refusal--> open (answer attached, submit_seq + 1)
//   submitting --transient / not sent--> open (the client retries the submit)
//   submitting --outcome unknown--> submitting (the same key resends the same
//                version; on_unknown: park never resends); from then on, or
//                after a takeover from a dead holder, only a final answer
//                reopens the draft
//   any but submitting --erase / retention--> gone, with its versions and the
//   replay records of its saves and submit (idempotency keys "<id>:<key>").
// A submit's upstream key is derived from (draft, version, submit_seq): every
// resend of one submission carries the same key, a resubmit after a refusal
// a new one.
//
// Idempotency keys of saves and submits are stored as idempotency records
// (KeyStore's table) under the key "<draft id>:<client key>", or
// "create:<client key>" for a create; the record is written in the same
// transaction as the change it answers.
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

enum class DraftStatus { kOpen, kSubmitting, kSubmitted };
const char* DraftStatusName(DraftStatus s);
std::optional<DraftStatus> ParseDraftStatus(const std::string& s);

struct Draft {
  int64_t seq = 0;  // creation order (list cursor)
  std::string id, tenant, route;
  int64_t version = 0;
  DraftStatus status = DraftStatus::kOpen;
  std::string data;  // JSON text
  Millis created_at = 0, updated_at = 0, expires_at = 0;
  std::string create_key;     // the create's client key ("" without one)
  std::string submit_key;     // the client key of the submit in progress or done
  int64_t submit_seq = 0;     // refused submits so far
  int64_t submit_version = 0;  // the version being (or last) submitted
  std::string submission_id;  // async submit: its submission
  std::string canonical_id;   // the master's id once submitted
  int answer_status = 0;      // the master's last final answer to a submit
  Headers answer_headers;
  std::string answer_body;
};

struct DraftVersion {
  int64_t version = 0;
  std::string data;
  std::string changed;  // JSON array of the JSON Pointers this save changed
  Millis created_at = 0;
};

// A client's Idempotency-Key on a save or submit (absent: has_key false).
using DraftKey = LocalKey;

struct DraftSave {
  std::string tenant, route, id;
  bool create = false;           // insert a new draft with version 1
  int64_t expected_version = 0;  // update only: 0 = any (If-Match: *)
  std::string data;              // the whole new document
  std::string changed;           // JSON array of changed pointers
  Millis retention = 0;          // idle drafts expire this long after a save
  int keep_versions = 10;
  // A create is refused (kQuota) when the tenant already has this many
  // live drafts (open or submitting) on any route; 0: no limit.
  int64_t max_live = 0;
  DraftKey key;
  // Builds the answer stored with the key (replayed for retries); runs
  // inside the transaction, so it must only format.
  std::function<StoredResponse(const Draft&)> respond;
};

enum class DraftWrite {
  kDone,       // applied: `draft` (and `response` when keyed)
  kNotFound,   // no such draft (in this tenant and route)
  kStale,      // the version moved: `draft` holds the current one
  kFrozen,     // the draft is submitting or submitted: `draft`
  kKeyExists,  // the key has a record: `existing` (replay, 409 or 422)
  kNotOpen,    // submit: the draft is not open (submitting under another key, or submitted)
  kQuota,      // create: the tenant has max_live live drafts (`live`)
};

struct DraftResult {
  DraftWrite status = DraftWrite::kDone;
  Draft draft;
  StoredResponse response;
  IdempotencyRecord existing;
  int64_t fence = 0;       // submit begun (sync): the key's fence
  bool took_over = false;  // submit begun again after a crash of the earlier holder
  int64_t live = 0;        // kQuota: the tenant's live drafts
};

// Submit, sync path, step 1: claim the key in flight and freeze the draft.
struct DraftSubmitBegin {
  std::string tenant, route, id;
  int64_t expected_version = 0;  // 0 = any
  DraftKey key;                  // required
  Millis lease = 30'000;
  bool park_on_takeover = false;  // at-most-once routes: an expired holder is parked, never re-sent
  // false: the begin need not be on disk before the master is called (it is
  // with the next durable commit; a process crash never loses it, only a
  // power cut can). Safe where a lost begin only means the same key resends
  // the same version under the same upstream key: masters that honour keys.
  bool durable = true;
};

// Submit, sync path, step 2: the master's outcome, fence-checked.
struct DraftSubmitFinish {
  std::string tenant, route, id;
  std::string key;  // the client's key
  int64_t fence = 0;
  // kRelease: this attempt applied nothing (not sent, or a transient
  // refusal): the key is freed and the draft opens again, unless an earlier
  // attempt of the same submission ended unknown or its holder died (then it
  // stays frozen as with kRetry: a later refusal proves nothing about it). kRetry: the outcome is unknown
  // on a route that resends: the key is freed but the draft stays frozen,
  // so the client's retry with the same key resends the same version under
  // the same upstream key. kPark: unknown, never resent.
  enum Outcome { kSucceeded, kRefused, kRelease, kRetry, kPark } outcome = kSucceeded;
  StoredResponse answer;  // kSucceeded, kRefused
  std::string canonical_id;
  Millis key_retention = 86'400'000;
  Millis submitted_retention = 0;
};

// Submit, async path: the key record (completed with the 202), the command
// and the frozen draft in one transaction.
struct DraftSubmitAccept {
  std::string tenant, route, id;
  int64_t expected_version = 0;
  DraftKey key;  // required
  Command command;  // filled in by the store from the draft: body, upstream_key; the rest by the caller
  EventSinks notify = 0;
  std::function<StoredResponse(const Draft&, const Command&)> respond;
};

struct DraftFilter {
  std::string tenant = kDefaultTenant;
  std::string route;  // "" = all
  std::optional<DraftStatus> status;
  int64_t after_seq = 0;  // cursor
  int limit = 50;
};

struct DraftCounts {
  int64_t open = 0, submitting = 0, submitted = 0;
};

class DraftStore {
 public:
  explicit DraftStore(Database& db) : db_(db) {}

  Result<std::optional<Draft>> Get(const std::string& tenant, const std::string& route, const std::string& id);
  // By id alone (operator tools).
  Result<std::optional<Draft>> Find(const std::string& id);
  Result<std::vector<Draft>> List(const DraftFilter& f);
  // Newest first, at most `limit`.
  Result<std::vector<DraftVersion>> Versions(const std::string& tenant, const std::string& route,
                                             const std::string& id, int limit);
  Result<DraftCounts> Counts(const std::string& route);

  // Create or conditional update, with the version history and the key.
  void Save(DraftSave req, Callback<DraftResult> done);
  void BeginSubmit(DraftSubmitBegin req, Callback<DraftResult> done);
  // false: fenced out (another holder took the key over); nothing changed.
  void FinishSubmit(DraftSubmitFinish req, Callback<bool> done);
  void AcceptSubmit(DraftSubmitAccept req, Callback<DraftResult> done);
  // Deletes the draft, its versions and its replay records (and a finished
  // async submit's command and events). expected_version 0: any. kFrozen
  // while a submit is in progress. SQLite: the pages are overwritten
  // (secure_delete) and the WAL is truncated before `done`.
  void Erase(std::string tenant, std::string route, std::string id, int64_t expected_version,
             Callback<DraftResult> done);

  // Inside the worker's transaction (AttemptOutcome::on_terminal): the draft
  // whose submission `o` finished follows it.
  static Status OnSubmissionFinished(sql::Conn& c, const AttemptOutcome& o, Millis now, Millis submitted_retention);
  // Erases up to `batch` drafts past their expiry (never one submitting).
  static Result<int> EraseExpired(sql::Conn& c, int batch, Millis now);
  static SchemaStep Schema();        // version 4
  static SchemaStep TenantSchema();  // version 10: live drafts by tenant
  // The upstream Idempotency-Key of a draft's current submission.
  static std::string UpstreamKey(const Draft& d);

 private:
  Database& db_;
};

Result<DraftResult> SaveDraftSync(DraftStore& s, DraftSave req);
Result<DraftResult> EraseDraftSync(DraftStore& s, const std::string& tenant, const std::string& route,
                                   const std::string& id, int64_t expected_version = 0);

}  // namespace writ
