// Sub-commands of the `writ` binary that live outside the gateway library.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "store/store.h"

namespace writ {

struct DemoOptions {
  int writes = 2000;       // logical writes per scenario
  int concurrency = 16;    // client threads
  uint64_t seed = 0;       // 0: random; printed either way
  bool serve = false;      // keep running with curl examples instead of driving load
  std::string data_dir;    // default: a fresh temp dir
};
int RunDemo(const DemoOptions& o);

int RunKeysList(const std::string& config_path, const std::string& state, const std::string& route, int limit);
// Deletes every expired idempotency record now, in batches; prints the count.
int RunGc(const std::string& config_path);
// Applies pending schema migrations to the store a config names (PostgreSQL
// needs this before `writ serve`; SQLite migrates itself at open).
int RunMigrate(const std::string& config_path);
int RunKeysDelete(const std::string& config_path, const std::string& tenant, const std::string& route,
                  const std::string& key);
// An unknown outcome checked at the master: --applied or --not-applied.
int RunKeysResolve(const std::string& config_path, const std::string& tenant, const std::string& route,
                   const std::string& key, bool applied);

// Opens the store a config names (printing config errors); `config` receives it.
Result<std::unique_ptr<Store>> OpenFromConfig(const std::string& path, bool read_only, Config* config = nullptr);
// Likewise, or null after saying why on stderr.
std::unique_ptr<Store> OpenStoreOrSay(const std::string& path, bool read_only, Config* config = nullptr);
// The redacted fields of a route of `config` (routes[].redact); null if it
// has none or the route is no longer configured.
const Redactor* RouteRedactor(const Config& config, const std::string& route);

// `writ apikeys create|list|revoke|rotate` (cli/apikeys.cpp).
struct ApiKeysOptions {
  std::string config_path;
  std::string tenant;
  std::string roles = "client";
  std::string name;
  Millis expires_in = 0;      // create: 0 never
  Millis overlap = 86'400'000;  // rotate: how long the old key keeps working
  std::vector<std::string> ids;
};
int RunApiKeysCreate(const ApiKeysOptions& o);
int RunApiKeysList(const ApiKeysOptions& o);
int RunApiKeysRevoke(const ApiKeysOptions& o);
int RunApiKeysRotate(const ApiKeysOptions& o);

// `writ submissions list|show|retry|cancel` and `writ dead list|replay`.
struct SubmissionsOptions {
  std::string config_path;
  std::string route, status;
  int limit = 100;
  bool json = false;
  std::vector<std::string> ids;
  bool all = false;  // dead replay: every dead submission (of --route if given)
  // retry / dead replay: also submissions that may have been applied, on
  // on_unknown: park routes (after checking the master).
  bool unknown_ok = false;
};
int RunSubmissionsList(const SubmissionsOptions& o);
int RunSubmissionsShow(const SubmissionsOptions& o);
// action: "retry" or "cancel", applied to each id.
int RunSubmissionsAction(const SubmissionsOptions& o, const std::string& action);
int RunDeadReplay(const SubmissionsOptions& o);

// `writ jobs list|show|items|replay|watch` (buffered routes).
struct JobsOptions {
  std::string config_path;
  std::string route, status;
  int limit = 50;
  bool json = false;
  std::vector<std::string> ids;
  int interval_ms = 500;  // watch: refresh period
  bool unknown_ok = false;  // replay: also items that may have been applied (park routes)
};
int RunJobsList(const JobsOptions& o);
int RunJobsShow(const JobsOptions& o);
int RunJobsItems(const JobsOptions& o);
int RunJobsReplay(const JobsOptions& o);
// Live progress until the job finishes; exit 0 if every item succeeded
// (or was a duplicate), 3 if some failed or are dead.
int RunJobsWatch(const JobsOptions& o);

// `writ drafts list|show|delete` (draft routes).
struct DraftsOptions {
  std::string config_path;
  std::string route, status;
  int limit = 50;
  bool json = false;
  std::vector<std::string> ids;
};
int RunDraftsList(const DraftsOptions& o);
int RunDraftsShow(const DraftsOptions& o);
// Erases each draft (not while a submit is in progress).
int RunDraftsDelete(const DraftsOptions& o);

// `writ sagas list|show|cancel|retry-compensation|mark-resolved`
// (cli/sagas.cpp): sagas and their step logs, straight on the store; a
// running `writ serve` picks up what they queue at its next poll.
struct SagasOptions {
  std::string config_path;
  std::string route, status, note;
  int limit = 50;
  bool json = false;
  std::vector<std::string> ids;
};
int RunSagasList(const SagasOptions& o);
int RunSagasShow(const SagasOptions& o);
int RunSagasCancel(const SagasOptions& o);
int RunSagasRetryCompensation(const SagasOptions& o);
int RunSagasMarkResolved(const SagasOptions& o);

// `writ edge list|conflicts|show|resolve|resync` (cli/edge.cpp): edge
// records and their conflicts, straight on the store.
struct EdgeOptions {
  std::string config_path;
  std::string route, status, tenant;
  int limit = 50;
  bool json = false;
  std::string take;  // resolve: local or master
  std::vector<std::string> ids;
};
int RunEdgeList(const EdgeOptions& o);
int RunEdgeShow(const EdgeOptions& o);
int RunEdgeResolve(const EdgeOptions& o);
int RunEdgeResync(const EdgeOptions& o);

struct CopyOptions {
  std::string config_path;
  std::string route;
  bool json = false;
  int limit = 100;
};
// writ copy status|load|pending (src/cli/copy.cpp).
int RunCopyStatus(const CopyOptions& o);
int RunCopyLoad(const CopyOptions& o);
int RunCopyPending(const CopyOptions& o);

struct ReconcileOptions {
  std::string config_path;
  std::string route, id;
  std::string repair = "report";
  bool dry_run = false;
  bool json = false;
  int limit = 20;
};
// writ reconcile ROUTE | show ID | list (src/cli/reconcile.cpp). Exit codes
// of a run: 0 equal, 2 mismatches found, 1 failed.
int RunReconcile(const ReconcileOptions& o);
int RunReconcileShow(const ReconcileOptions& o);
int RunReconcileList(const ReconcileOptions& o);

}  // namespace writ
