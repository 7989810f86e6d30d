// ReconcileStore: reconciliations of dual copies and what they found
// (schema version 15: tables reconciliations and reconcile_mismatches).
//
// A reconciliation walks the master's collection and the copy side by side
// in id order, one chunk at a time. Each chunk's counts, its mismatches and
// the id it reached (the checkpoint) are committed together, fenced by the
// runner's lease: a runner that died (kill -9) leaves a reconciliation that
// the next runner resumes from its checkpoint once the lease ran out.
// Mismatches name entities and JSON Pointers, never values.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace writ {

enum class MismatchKind { kMissingLocal, kMissingMaster, kDiffer };
const char* MismatchKindName(MismatchKind k);

struct Mismatch {
  std::string entity;  // the master's id
  MismatchKind kind = MismatchKind::kDiffer;
  std::string pointers;  // kDiffer: the JSON Pointers that differ, comma-separated (at most 20)
  bool repaired = false;
  int64_t seq = 0;  // order of finding (a page's cursor)
};

struct Reconciliation {
  std::string id, route;
  std::string repair = "report";  // report, master-wins, local-wins
  bool dry_run = false;
  std::string trigger;             // cli, schedule, api
  std::string status = "running";  // running, done, failed
  std::string checkpoint;          // the last master id compared ("" none yet)
  int64_t chunks = 0, compared = 0, missing_local = 0, missing_master = 0, differ = 0, repaired = 0;
  int64_t skipped = 0;  // entities with local writes pending: not compared
  std::string error;
  std::string owner;
  Millis lease_until = 0, created_at = 0, updated_at = 0, finished_at = 0;
  int64_t mismatches() const { return missing_local + missing_master + differ; }
};

// One chunk's result, committed with the checkpoint.
struct ReconcileChunk {
  std::string checkpoint;
  int64_t compared = 0, skipped = 0, repaired = 0;
  std::vector<Mismatch> mismatches;
};

class ReconcileStore {
 public:
  explicit ReconcileStore(Database& db) : db_(db) {}

  // A new reconciliation, leased to `owner`.
  Result<Reconciliation> Create(const std::string& route, const std::string& repair, bool dry_run,
                                const std::string& trigger, const std::string& owner, Millis ttl);
  // The route's unfinished reconciliation whose lease ran out, now leased
  // to `owner`; nullopt when there is none.
  Result<std::optional<Reconciliation>> Resume(const std::string& route, const std::string& owner, Millis ttl);
  // Commits a chunk; kConflict when the lease was lost.
  Result<Reconciliation> Commit(const std::string& id, const std::string& owner, const ReconcileChunk& chunk,
                                Millis ttl);
  Result<Reconciliation> Finish(const std::string& id, const std::string& owner, const std::string& error);
  Result<std::optional<Reconciliation>> Get(const std::string& id);
  // Newest first; route "" for every route.
  Result<std::vector<Reconciliation>> List(const std::string& route, int limit);
  Result<std::vector<Mismatch>> Mismatches(const std::string& id, int64_t after, int limit);
  // When the route's last reconciliation began (0: never).
  Result<Millis> LastStarted(const std::string& route);

  static SchemaStep Schema();  // version 15

 private:
  Database& db_;
};

}  // namespace writ
