// Reconciler: proves a dual copy equal to its master, or says where it is
// not (the answer to dual-write divergence). It walks the master's
// collection (reconcile.path, in id order) and the copy's records in the
// same id range side by side, one chunk at a time, and compares each
// entity's canonical JSON (ignore_fields left out). A mismatch is
//   missing_local   the master has the entity, the copy does not
//   missing_master  the copy has it, the master does not
//   differ          both have it; the JSON Pointers that differ are named
// Entities with local writes pending (or held in a conflict), and records
// that changed while their chunk was read (the master is read first, then
// the copy), are skipped: they are in flight, not divergent.
// Repairs (unless dry run):
//   master-wins  the master's state into the copy (a deletion where the
//                master lost the entity)
//   local-wins   the copy's state queued for the master again (a create
//                where the master lost it)
//   restore      master-wins where the master has the entity, local-wins
//                where it lost it (a write it acknowledged, say)
//   report       none
// Each chunk is committed with its checkpoint (ReconcileStore), so a
// runner killed mid-way is resumed from the last chunk by the next one.
// Thread-safety: Run blocks; run it on a thread of its own (or the CLI's).
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "patterns/copy/copy_config.h"
#include "patterns/copy/reconcile_store.h"
#include "upstream/client.h"

namespace writ {

class Metrics;

class Reconciler {
 public:
  // `collection`: the master's collection path (base path included).
  Reconciler(std::string route, std::string collection, const CopySettings& settings, const UpstreamConfig& upstream,
             Database& db, UpstreamClient& client, Metrics* metrics = nullptr);

  // Runs `r`, leased to `owner`, from its checkpoint to its end (or until
  // `stop`); `progress` gets it after each chunk. Returns it as it ended.
  Reconciliation Run(Reconciliation r, const std::string& owner,
                     const std::function<void(const Reconciliation&)>& progress = nullptr,
                     const std::atomic<bool>* stop = nullptr);

 private:
  std::string route_, collection_;
  const CopySettings& settings_;
  const UpstreamConfig& upstream_;
  Database& db_;
  UpstreamClient& client_;
  Metrics* metrics_;
};

}  // namespace writ
