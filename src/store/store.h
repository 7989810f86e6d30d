// The store: durable state behind every acknowledgement Writ gives. It is
// one group-commit Database (store/database.h) and the concerns that work on
// it: idempotency keys (key_store.h), the command queue (command_queue.h) and
// buffered jobs (job_store.h). A write mode with tables of its own builds its
// concern over db() the same way and lists its schema steps in the registry.
//
// Writes go through group commit: many operations share one transaction and
// one fsync, and each operation's callback runs only after that transaction
// has committed (or failed as a whole). Reads that need no write lock run on
// reader connections and return directly.
//
// Thread-safety: every method may be called from any thread. Callbacks run on
// the database's writer thread: keep them short and hand real work elsewhere.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/api_key_store.h"
#include "store/command_queue.h"
#include "store/database.h"
#include "store/job_store.h"
#include "store/key_store.h"

namespace writ {

class Store {
 public:
  // Deletes up to `batch` expired rows of one concern inside the garbage
  // collector's transaction; returns how many.
  using Collector = std::function<Result<int>(sql::Conn&, int batch, Millis now)>;

  // Works on `db`, which must outlive the store (a test's fault wrapper).
  explicit Store(Database& db);
  // Owns `db`.
  explicit Store(std::unique_ptr<Database> db);

  Database& db() { return db_; }
  KeyStore& keys() { return keys_; }
  CommandQueue& queue() { return queue_; }
  JobStore& jobs() { return jobs_; }
  ApiKeyStore& api_keys() { return api_keys_; }

  // Adds a concern's collector (call before the first CollectGarbage). An
  // `erasing` one deletes content that must leave the disk: when it deleted
  // anything, the WAL is checkpointed and truncated after the commit.
  void AddCollector(Collector c, bool erasing = false) { collectors_.push_back({std::move(c), erasing}); }
  // One transaction: up to `batch` expired idempotency records, finished
  // commands (with their events) and jobs past their retention, and each
  // added collector's rows. Not fsynced: lost in a crash, the next round
  // deletes the same rows again.
  void CollectGarbage(int batch, Callback<int> done);

  // Cheap check that the store can be read (readiness probes).
  Status Ping();
  Millis Now() const { return db_.Now(); }
  void OnWork(std::function<void(const std::string& route)> wake) { db_.OnWork(std::move(wake)); }
  std::vector<std::string> Warnings() const { return db_.Warnings(); }

 private:
  std::unique_ptr<Database> owned_;
  Database& db_;
  KeyStore keys_;
  CommandQueue queue_;
  JobStore jobs_;
  ApiKeyStore api_keys_;
  struct Added {
    Collector collect;
    bool erasing = false;
  };
  std::vector<Added> collectors_;
};

Result<int> CollectGarbageSync(Store& s, int batch);

// Opens the store named by options.url (creating and migrating it if needed).
Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options);

}  // namespace writ
