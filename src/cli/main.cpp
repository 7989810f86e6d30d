// The `writ` binary: serve, check-config, mock-master, demo, keys, apikeys.
#include <pwd.h>
#include <unistd.h>

#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "cli/commands.h"
#include "config/config.h"
#include "core/log.h"
#include "core/units.h"
#include "gateway/gateway.h"
#include "mock_master/mock_master.h"
#include "patterns/registry.h"

namespace {

// Loads and validates a config, applying --listen and --admin-listen.
// Prints every error.
bool Load(const std::string& path, const std::string& listen, const std::string& admin_listen, writ::Config& out) {
  auto loaded = writ::LoadConfig(path);
  if (!listen.empty() && !writ::ParseListen(listen, loaded.config.server.listen))
    loaded.errors.push_back({"--listen", 0, 0, "must be host:port, got '" + listen + "'"});
  if (admin_listen == "off") {
    loaded.config.server.admin_listen.reset();
  } else if (!admin_listen.empty()) {
    writ::ListenAddress a;
    if (writ::ParseListen(admin_listen, a))
      loaded.config.server.admin_listen = a;
    else
      loaded.errors.push_back({"--admin-listen", 0, 0, "must be host:port or off, got '" + admin_listen + "'"});
  }
  for (const auto& w : loaded.warnings) std::cerr << w.ToString() << "\n";
  for (const auto& e : loaded.errors) std::cerr << e.ToString() << "\n";
  if (!loaded.errors.empty()) {
    std::cerr << loaded.errors.size() << " error(s) in " << path << "\n";
    return false;
  }
  out = std::move(loaded.config);
  return true;
}

template <typename T>
CLI::Validator UnitValidator(T parse, const char* what) {
  return CLI::Validator(
      [parse, what](std::string& s) { return parse(s) ? std::string() : std::string("invalid ") + what + ": " + s; },
      what);
}

// The command that changes the store, if this run is one (for its audit line).
std::string audit_command;

// One JSON line on stderr for every command that changes the store: who
// (the OS user: these commands are authorized by access to the store), the
// command and its arguments (never a secret: none is passed on the command
// line), and its exit code. stdout stays the command's output.
void AuditLine(int argc, char** argv, int rc) {
  std::string user = "uid " + std::to_string(::getuid());
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) user = pw->pw_name;
  std::string args;
  for (int i = 1; i < argc; ++i) args += (i > 1 ? " " : "") + std::string(argv[i]);
  boost::json::object line{
      {"ts", writ::SystemClock().NowMs()}, {"level", "info"}, {"msg", "audit"}, {"actor", "cli:" + user},
      {"command", audit_command},          {"args", args},    {"exit", rc}};
  std::cerr << boost::json::serialize(line) << std::endl;
}

int Run(int argc, char** argv);

}  // namespace

int main(int argc, char** argv) {
  int rc = Run(argc, argv);
  if (!audit_command.empty()) AuditLine(argc, argv, rc);
  return rc;
}

namespace {

int Run(int argc, char** argv) {
  CLI::App app{"writ: a reliable-write gateway in front of your system of record", "writ"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("writ ") + WRIT_VERSION);
  std::string config_path, listen, admin_listen;

  auto* serve = app.add_subcommand("serve", "Run the gateway");
  serve->add_option("-c,--config", config_path, "Config file (YAML)")->required();
  serve->add_option("--listen", listen, "Override server.listen (host:port)");
  serve->add_option("--admin-listen", admin_listen, "Override server.admin_listen (host:port, or off)");

  auto* check = app.add_subcommand("check-config", "Validate a config file and report every error");
  check->add_option("config", config_path, "Config file (YAML)")->required();
  check->add_option("--listen", listen, "Override server.listen (host:port)");
  check->add_option("--admin-listen", admin_listen, "Override server.admin_listen (host:port, or off)");

  writ::MockMasterOptions mm;
  std::string mm_listen = "127.0.0.1:9090", mm_latency = "0ms", mm_hang_for = "30s";
  auto* mock = app.add_subcommand("mock-master", "Run the fault-injecting mock master");
  mock->add_option("--listen", mm_listen, "host:port")->capture_default_str();
  mock->add_flag("--honor-idempotency-key", mm.honor_idempotency_key,
                 "Answer a repeated Idempotency-Key with the first response instead of applying again");
  mock->add_option("--latency", mm_latency, "Delay before every answer, e.g. 5ms")
      ->check(UnitValidator(writ::ParseDuration, "duration"));
  mock->add_option("--error-rate", mm.error_rate, "Share of writes answered 503, nothing applied")
      ->check(CLI::Range(0.0, 1.0));
  mock->add_option("--error-status", mm.error_status, "Status of injected errors (503, or 429 to test back-off)")
      ->check(CLI::Range(400, 599));
  mock->add_option("--drop-after-commit", mm.drop_after_commit, "Share of writes applied, then connection reset")
      ->check(CLI::Range(0.0, 1.0));
  mock->add_option("--error-after-commit", mm.error_after_commit,
                   "Share of writes applied, then answered 500 or 504 (the outcome a proxy hides)")
      ->check(CLI::Range(0.0, 1.0));
  mock->add_option("--hang-rate", mm.hang_rate, "Share of writes applied, then no answer")->check(CLI::Range(0.0, 1.0));
  mock->add_option("--hang-for", mm_hang_for, "How long a hang lasts before the reset")
      ->check(UnitValidator(writ::ParseDuration, "duration"));
  mock->add_option("--retry-after", mm.retry_after, "Retry-After seconds on injected 503s (0: none)")
      ->check(CLI::Range(0, 3600));
  mock->add_option("--seed", mm.seed, "Fault RNG seed (0: random)");
  mock->add_option("--threads", mm.threads, "I/O threads")->check(CLI::Range(1, 64));
  auto* mm_cert = mock->add_option("--tls-cert", mm.tls_cert, "Serve https with this certificate chain (PEM)")
                      ->check(CLI::ExistingFile);
  mock->add_option("--tls-key", mm.tls_key, "The certificate's key (PEM)")->check(CLI::ExistingFile)->needs(mm_cert);
  mm_cert->needs(mock->get_option("--tls-key"));

  writ::DemoOptions demo;
  auto* demo_cmd = app.add_subcommand("demo", "Show the guarantees against a faulty mock master");
  demo_cmd->add_option("--writes", demo.writes, "Logical writes per scenario")->check(CLI::Range(1, 1'000'000));
  demo_cmd->add_option("--concurrency", demo.concurrency, "Client threads")->check(CLI::Range(1, 256));
  demo_cmd->add_option("--seed", demo.seed, "Seed for faults and client jitter (0: random)");
  demo_cmd->add_option(
      "--data-dir", demo.data_dir,
      "Keep the demo's stores and logs here (default: a temporary directory, removed when the demo passes)");
  demo_cmd->add_flag("--serve", demo.serve, "Keep a mock master and writ running and print curl lines");

  auto* keys = app.add_subcommand("keys", "Inspect and manage stored idempotency keys");
  keys->require_subcommand(1);
  std::string state, route, key, key_tenant = "default";
  int limit = 100;
  auto* keys_list = keys->add_subcommand("list", "List keys, newest first");
  keys_list->add_option("-c,--config", config_path, "Config file (names the store)")->required();
  keys_list->add_option("--state", state, "in_flight, completed, unknown, released or expired")
      ->check(CLI::IsMember({"in_flight", "completed", "unknown", "released", "expired"}));
  keys_list->add_option("--route", route, "Route name, e.g. 'POST /orders'");
  keys_list->add_option("--limit", limit, "At most this many")->check(CLI::Range(1, 100000));
  auto* keys_delete = keys->add_subcommand(
      "delete", "Delete one key record (e.g. a parked unknown outcome you have checked at the master)");
  keys_delete->add_option("-c,--config", config_path, "Config file (names the store)")->required();
  keys_delete->add_option("--route", route, "Route name, e.g. 'POST /orders'")->required();
  keys_delete->add_option("--tenant", key_tenant, "The tenant of the key's API key (auth)")->capture_default_str();
  keys_delete->add_option("key", key, "The client's Idempotency-Key")->required();
  auto* keys_resolve = keys->add_subcommand(
      "resolve", "Settle a parked unknown outcome after checking the master: --applied or --not-applied");
  bool resolved_applied = false, resolved_not_applied = false;
  keys_resolve->add_option("-c,--config", config_path, "Config file (names the store)")->required();
  keys_resolve->add_option("--route", route, "Route name, e.g. 'POST /orders'")->required();
  keys_resolve->add_option("--tenant", key_tenant, "The tenant of the key's API key (auth)")->capture_default_str();
  keys_resolve->add_option("key", key, "The client's Idempotency-Key")->required();
  auto* applied_flag = keys_resolve->add_flag("--applied", resolved_applied,
                                              "The master has the write: retries get a stored 200 (reconstructed)");
  auto* not_applied_flag = keys_resolve->add_flag("--not-applied", resolved_not_applied,
                                                  "The master does not have it: the client's next retry sends it");
  applied_flag->excludes(not_applied_flag);

  auto* migrate =
      app.add_subcommand("migrate", "Apply pending schema migrations to the store (PostgreSQL: before serve)");
  migrate->add_option("-c,--config", config_path, "Config file (names the store)")->required();
  auto* gc = app.add_subcommand("gc", "Delete expired idempotency records now (writ serve also does it on a schedule)");
  gc->add_option("-c,--config", config_path, "Config file (names the store)")->required();

  writ::SubmissionsOptions so;
  auto* subs = app.add_subcommand("submissions", "Inspect and manage async submissions (straight on the store)");
  subs->require_subcommand(1);
  auto* subs_list = subs->add_subcommand("list", "List submissions, oldest first");
  auto* dead = app.add_subcommand("dead", "Dead-lettered async submissions: list them, replay them");
  dead->require_subcommand(1);
  auto* dead_list = dead->add_subcommand("list", "List dead submissions, oldest first");
  for (auto* c : {subs_list, dead_list}) {
    c->add_option("-c,--config", so.config_path, "Config file (names the store)")->required();
    c->add_option("--route", so.route, "Route name, e.g. 'POST /payments'");
    c->add_option("--limit", so.limit, "At most this many")->check(CLI::Range(1, 100000));
    c->add_flag("--json", so.json, "One JSON array instead of a table");
  }
  subs_list->add_option("--status", so.status, "accepted, processing, succeeded, failed, dead or cancelled")
      ->check(CLI::IsMember({"accepted", "processing", "succeeded", "failed", "dead", "cancelled"}));
  auto* subs_show = subs->add_subcommand("show", "Show submissions as JSON, with their events");
  auto* subs_retry = subs->add_subcommand("retry", "Re-queue failed or dead submissions with a fresh attempt budget");
  auto* subs_cancel = subs->add_subcommand("cancel", "Cancel accepted submissions not yet attempted");
  auto* dead_replay = dead->add_subcommand("replay", "Re-queue dead submissions (by id, or --all)");
  for (auto* c : {subs_show, subs_retry, subs_cancel, dead_replay}) {
    c->add_option("-c,--config", so.config_path, "Config file (names the store)")->required();
    c->add_option("ids", so.ids, "Submission ids");
  }
  subs_show->add_flag("--json", so.json, "Without the event list");
  dead_replay->add_flag("--all", so.all, "Every dead submission (of --route if given)");
  for (auto* c : {subs_retry, dead_replay})
    c->add_flag("--unknown-ok", so.unknown_ok,
                "Also re-send submissions that may have been applied (an attempt's outcome was unknown) on "
                "on_unknown: park routes: only after checking the master");
  dead_replay->add_option("--route", so.route, "With --all: only this route");

  writ::JobsOptions jo;
  auto* jobs = app.add_subcommand("jobs", "Inspect and manage buffered jobs (straight on the store)");
  jobs->require_subcommand(1);
  auto* jobs_list = jobs->add_subcommand("list", "List jobs, newest first");
  jobs_list->add_option("--route", jo.route, "Route name, e.g. products-bulk");
  auto* jobs_show = jobs->add_subcommand("show", "Show jobs as JSON: counts, progress, rejected items");
  auto* jobs_items = jobs->add_subcommand("items", "List a job's items in batch order");
  jobs_items->add_option("--status", jo.status, "accepted, processing, succeeded, failed, dead or duplicate")
      ->check(CLI::IsMember({"accepted", "processing", "succeeded", "failed", "dead", "duplicate"}));
  auto* jobs_replay = jobs->add_subcommand("replay", "Re-queue a job's failed and dead items");
  auto* jobs_watch = jobs->add_subcommand("watch", "Live progress bar until the job finishes (exit 3: some failed)");
  jobs_watch->add_option("--interval", jo.interval_ms, "Refresh period in ms")->check(CLI::Range(50, 60'000));
  for (auto* c : {jobs_list, jobs_show, jobs_items, jobs_replay, jobs_watch})
    c->add_option("-c,--config", jo.config_path, "Config file (names the store)")->required();
  for (auto* c : {jobs_list, jobs_items}) {
    c->add_option("--limit", jo.limit, "At most this many")->check(CLI::Range(1, 100000));
    c->add_flag("--json", jo.json, "One JSON array instead of a table");
  }
  jobs_show->add_option("ids", jo.ids, "Job ids")->required();
  jobs_replay->add_option("ids", jo.ids, "Job ids")->required();
  jobs_replay->add_flag("--unknown-ok", jo.unknown_ok,
                        "Also re-send items that may have been applied, on on_unknown: park routes");
  jobs_items->add_option("id", jo.ids, "Job id")->required()->expected(1);
  jobs_watch->add_option("id", jo.ids, "Job id")->required()->expected(1);

  // `writ` alone or `writ help [command]`: the command list (or one
  // command's help) on stdout, exit 2: no command ran.
  if (argc == 1 || std::string(argv[1]) == "help") {
    CLI::App* about = &app;
    if (argc > 2) {
      try {
        about = app.get_subcommand(argv[2]);
      } catch (const CLI::OptionNotFound&) {
        std::cerr << "writ: no command '" << argv[2] << "'\n";
      }
    }
    std::cout << about->help();
    return 2;
  }
  writ::DraftsOptions dro;
  auto* drafts = app.add_subcommand("drafts", "Inspect and erase drafts (straight on the store)");
  drafts->require_subcommand(1);
  auto* drafts_list = drafts->add_subcommand("list", "List drafts, oldest first");
  drafts_list->add_option("--route", dro.route, "Route name, e.g. /applications/drafts");
  drafts_list->add_option("--status", dro.status, "open, submitting or submitted")
      ->check(CLI::IsMember({"open", "submitting", "submitted"}));
  drafts_list->add_option("--limit", dro.limit, "At most this many")->check(CLI::Range(1, 100000));
  drafts_list->add_flag("--json", dro.json, "One JSON array instead of a table");
  auto* drafts_show = drafts->add_subcommand("show", "Show drafts as JSON: data, status, versions");
  drafts_show->add_flag("--json", dro.json, "Without the version list");
  auto* drafts_delete = drafts->add_subcommand("delete", "Erase drafts: the draft, its versions and replay records");
  for (auto* c : {drafts_list, drafts_show, drafts_delete})
    c->add_option("-c,--config", dro.config_path, "Config file (names the store)")->required();
  for (auto* c : {drafts_show, drafts_delete}) c->add_option("ids", dro.ids, "Draft ids")->required();

  writ::SagasOptions sgo;
  auto* sagas = app.add_subcommand("sagas", "Inspect sagas and act on parked ones (straight on the store)");
  sagas->require_subcommand(1);
  auto* sagas_list = sagas->add_subcommand("list", "List sagas, newest first");
  sagas_list->add_option("--route", sgo.route, "Route name, e.g. \"POST /trips\"");
  sagas_list->add_option("--status", sgo.status, "running, compensating, succeeded, compensated, compensation_failed or cancelled")
      ->check(CLI::IsMember({"running", "compensating", "succeeded", "compensated", "compensation_failed", "cancelled"}));
  sagas_list->add_option("--limit", sgo.limit, "At most this many")->check(CLI::Range(1, 100000));
  sagas_list->add_flag("--json", sgo.json, "One JSON array instead of a table");
  auto* sagas_show = sagas->add_subcommand("show", "Show sagas as JSON: input, answers, every attempt");
  auto* sagas_cancel = sagas->add_subcommand("cancel", "Cancel sagas before their pivot: applied steps are compensated");
  auto* sagas_retry = sagas->add_subcommand(
      "retry-compensation", "Send a parked (compensation_failed) saga's refused compensation again, at once");
  auto* sagas_resolve = sagas->add_subcommand(
      "mark-resolved", "Close a parked (compensation_failed) saga as compensated: you undid the step by hand");
  sagas_resolve->add_option("--note", sgo.note, "What was done, kept in the saga's reason");
  for (auto* c : {sagas_list, sagas_show, sagas_cancel, sagas_retry, sagas_resolve})
    c->add_option("-c,--config", sgo.config_path, "Config file (names the store and the saga routes)")->required();
  for (auto* c : {sagas_show, sagas_cancel, sagas_retry, sagas_resolve})
    c->add_option("ids", sgo.ids, "Saga ids")->required();

  writ::EdgeOptions edo;
  auto* edge = app.add_subcommand("edge", "Edge records, their conflicts and resolutions (straight on the store)");
  edge->require_subcommand(1);
  auto* edge_list = edge->add_subcommand("list", "List edge records, oldest first");
  edge_list->add_option("--status", edo.status, "pending, synced, rejected, conflict, blocked or dead")
      ->check(CLI::IsMember({"pending", "synced", "rejected", "conflict", "blocked", "dead"}));
  auto* edge_conflicts = edge->add_subcommand("conflicts", "List records in conflict (and what the master has)");
  for (auto* c : {edge_list, edge_conflicts}) {
    c->add_option("--route", edo.route, "Route name, e.g. /orders (default: every edge route)");
    c->add_option("--tenant", edo.tenant, "Only this tenant's records (default: every tenant)");
    c->add_option("--limit", edo.limit, "At most this many per route")->check(CLI::Range(1, 100000000));
    c->add_flag("--json", edo.json, "One JSON array instead of a table");
  }
  auto* edge_show =
      edge->add_subcommand("show", "Show records as JSON: data, sync state, the master's version, history");
  auto* edge_resolve = edge->add_subcommand("resolve", "Resolve held conflicts: --take local (send it) or master");
  edge_resolve->add_option("--take", edo.take, "local or master")
      ->required()
      ->check(CLI::IsMember({"local", "master"}));
  auto* edge_resync = edge->add_subcommand("resync", "Queue rejected, blocked, dead or conflicting records again");
  for (auto* c : {edge_show, edge_resolve, edge_resync}) {
    c->add_option("route", edo.route, "Route name, e.g. /orders")->required();
    c->add_option("ids", edo.ids, "Record ids (temporary or canonical)")->required();
    c->add_option("--tenant", edo.tenant, "The records' tenant (default: the default tenant)");
  }
  for (auto* c : {edge_list, edge_conflicts, edge_show, edge_resolve, edge_resync})
    c->add_option("-c,--config", edo.config_path, "Config file (names the store)")->required();

  writ::CopyOptions cpo;
  auto* copy = app.add_subcommand("copy", "Dual copies: freshness, full loads, local writes not yet at the master");
  copy->require_subcommand(1);
  auto* copy_status = copy->add_subcommand("status", "Each dual copy's refresh: as of, cursor, last error, pending");
  copy_status->add_option("route", cpo.route, "Route name (default: every dual-copy route)");
  auto* copy_load =
      copy->add_subcommand("load", "Page the master's whole collection into the copy at the next refresh");
  copy_load->add_option("route", cpo.route, "Route name, e.g. /customers")->required();
  auto* copy_pending = copy->add_subcommand("pending", "Records with local writes not yet at the master");
  copy_pending->add_option("route", cpo.route, "Route name, e.g. /customers")->required();
  copy_pending->add_option("--limit", cpo.limit, "At most this many")->check(CLI::Range(1, 100000000));
  for (auto* c : {copy_status, copy_load, copy_pending}) {
    c->add_option("-c,--config", cpo.config_path, "Config file (names the store)")->required();
    c->add_flag("--json", cpo.json, "JSON instead of a table");
  }

  writ::ReconcileOptions rco;
  auto* reconcile = app.add_subcommand(
      "reconcile", "Compare a dual copy with its master entity by entity; report and repair (exit 2: mismatches)");
  reconcile->add_option("route", rco.route, "Dual-copy route name, e.g. /customers");
  reconcile->add_option("--repair", rco.repair, "report (default), master-wins, local-wins or restore")
      ->check(CLI::IsMember({"report", "master-wins", "local-wins", "restore"}));
  reconcile->add_flag("--dry-run", rco.dry_run, "Find and report, change nothing (whatever --repair says)");
  auto* rec_show = reconcile->add_subcommand("show", "A reconciliation's report: counts, ratio, mismatches");
  rec_show->add_option("id", rco.id, "Reconciliation id (rec_...)")->required();
  auto* rec_list = reconcile->add_subcommand("list", "Reconciliations, newest first");
  rec_list->add_option("--route", rco.route, "Only this route's");
  // Options on `reconcile` itself, shared by its subcommands (fallthrough).
  reconcile->add_option("-c,--config", rco.config_path, "Config file (names the store and the master)")->required();
  reconcile->add_flag("--json", rco.json, "JSON instead of text");
  reconcile->add_option("--limit", rco.limit, "Mismatches (or reconciliations) shown")->check(CLI::Range(1, 1000000));
  rec_show->fallthrough();
  rec_list->fallthrough();

  writ::ApiKeysOptions ako;
  std::string ak_expires, ak_overlap = "24h";
  auto* apikeys = app.add_subcommand("apikeys", "Make, list, revoke and rotate API keys (needs auth.api_keys)");
  apikeys->require_subcommand(1);
  auto* ak_create = apikeys->add_subcommand("create", "Make a key; it is printed once");
  ak_create->add_option("--tenant", ako.tenant, "The tenant the key acts for (*: every tenant, reader/operator only)")
      ->required();
  ak_create->add_option("--roles", ako.roles, "client, reader and/or operator, comma-separated")->capture_default_str();
  ak_create->add_option("--name", ako.name, "A label, e.g. the service that uses it");
  ak_create->add_option("--expires", ak_expires, "Lifetime, e.g. 90d (default: none)")
      ->check(UnitValidator(writ::ParseDuration, "duration"));
  auto* ak_list = apikeys->add_subcommand("list", "List keys (never their secrets)");
  auto* ak_revoke = apikeys->add_subcommand("revoke", "Revoke keys at once");
  ak_revoke->add_option("ids", ako.ids, "Key ids")->required();
  auto* ak_rotate =
      apikeys->add_subcommand("rotate", "Make a new key like an old one; the old one ends after --overlap");
  ak_rotate->add_option("id", ako.ids, "The old key's id")->required()->expected(1);
  ak_rotate->add_option("--overlap", ak_overlap, "How long the old key keeps working")
      ->capture_default_str()
      ->check(UnitValidator(writ::ParseDuration, "duration"));
  for (auto* c : {ak_create, ak_list, ak_revoke, ak_rotate})
    c->add_option("-c,--config", ako.config_path, "Config file (names the store and the pepper)")->required();

  CLI11_PARSE(app, argc, argv);
  // Only the servers log to stdout; the other commands' stdout is their
  // answer (tables, --json), so their log lines go to stderr.
  if (!*serve && !*mock && !*demo_cmd) writ::LogToStderr();
  for (auto [cmd, name] : std::vector<std::pair<CLI::App*, const char*>>{{ak_create, "apikeys create"},
                                                                         {ak_revoke, "apikeys revoke"},
                                                                         {ak_rotate, "apikeys rotate"},
                                                                         {drafts_delete, "drafts delete"},
                                                                         {sagas_cancel, "sagas cancel"},
                                                                         {sagas_retry, "sagas retry-compensation"},
                                                                         {sagas_resolve, "sagas mark-resolved"},
                                                                         {keys_delete, "keys delete"},
                                                                         {keys_resolve, "keys resolve"},
                                                                         {subs_retry, "submissions retry"},
                                                                         {subs_cancel, "submissions cancel"},
                                                                         {dead_replay, "dead replay"},
                                                                         {jobs_replay, "jobs replay"},
                                                                         {edge_resolve, "edge resolve"},
                                                                         {edge_resync, "edge resync"}})
    if (*cmd) audit_command = name;
  if (*ak_create) {
    if (!ak_expires.empty()) ako.expires_in = *writ::ParseDuration(ak_expires);
    return writ::RunApiKeysCreate(ako);
  }
  if (*ak_list) return writ::RunApiKeysList(ako);
  if (*ak_revoke) return writ::RunApiKeysRevoke(ako);
  if (*ak_rotate) {
    ako.overlap = *writ::ParseDuration(ak_overlap);
    return writ::RunApiKeysRotate(ako);
  }
  if (*drafts_list) return writ::RunDraftsList(dro);
  if (*drafts_show) return writ::RunDraftsShow(dro);
  if (*drafts_delete) return writ::RunDraftsDelete(dro);
  if (*sagas_list) return writ::RunSagasList(sgo);
  if (*sagas_show) return writ::RunSagasShow(sgo);
  if (*sagas_cancel) return writ::RunSagasCancel(sgo);
  if (*sagas_retry) return writ::RunSagasRetryCompensation(sgo);
  if (*sagas_resolve) return writ::RunSagasMarkResolved(sgo);
  if (*edge_list) return writ::RunEdgeList(edo);
  if (*edge_conflicts) {
    edo.status = "conflict";
    return writ::RunEdgeList(edo);
  }
  if (*edge_show) return writ::RunEdgeShow(edo);
  if (*rec_show) return writ::RunReconcileShow(rco);
  if (*rec_list) return writ::RunReconcileList(rco);
  if (*reconcile) return writ::RunReconcile(rco);
  if (*copy_status) return writ::RunCopyStatus(cpo);
  if (*copy_load) return writ::RunCopyLoad(cpo);
  if (*copy_pending) return writ::RunCopyPending(cpo);
  if (*edge_resolve) return writ::RunEdgeResolve(edo);
  if (*edge_resync) return writ::RunEdgeResync(edo);

  if (*serve) {
    writ::Config c;
    if (!Load(config_path, listen, admin_listen, c)) return 2;
    return writ::RunServe(c);
  }
  if (*check) {
    writ::Config c;
    if (!Load(config_path, listen, admin_listen, c)) return 2;
    std::cout << config_path << ": OK (" << c.routes.size() << " route(s), " << c.upstreams.size()
              << " upstream(s), listen " << c.server.listen.host << ":" << c.server.listen.port << ", admin "
              << (c.server.admin_listen
                      ? c.server.admin_listen->host + ":" + std::to_string(c.server.admin_listen->port)
                      : std::string("off"))
              << ", tls "
              << (!c.server.tls.enabled()             ? "off"
                  : c.server.tls.client_ca.empty()    ? "on"
                  : c.server.tls.client_cert_required ? "on with client certificates"
                                                      : "on with optional client certificates")
              << ", store " << c.store.url << ")\n";
    return 0;
  }
  if (*mock) {
    writ::ListenAddress a;
    if (!writ::ParseListen(mm_listen, a)) {
      std::cerr << "--listen must be host:port\n";
      return 2;
    }
    mm.host = a.host;
    mm.port = a.port;
    mm.latency = *writ::ParseDuration(mm_latency);
    mm.hang_for = *writ::ParseDuration(mm_hang_for);
    return writ::RunMockMaster(mm);
  }
  if (*demo_cmd) return writ::RunDemo(demo);
  if (*keys_list) return writ::RunKeysList(config_path, state, route, limit);
  if (*keys_delete) return writ::RunKeysDelete(config_path, key_tenant, route, key);
  if (*keys_resolve) {
    if (!resolved_applied && !resolved_not_applied) {
      std::cerr << "writ keys resolve: say --applied or --not-applied (check the master first)\n";
      return 2;
    }
    return writ::RunKeysResolve(config_path, key_tenant, route, key, resolved_applied);
  }
  if (*gc) return writ::RunGc(config_path);
  if (*migrate) return writ::RunMigrate(config_path);
  if (*subs_list) return writ::RunSubmissionsList(so);
  if (*jobs_list) return writ::RunJobsList(jo);
  if (*jobs_show) return writ::RunJobsShow(jo);
  if (*jobs_items) return writ::RunJobsItems(jo);
  if (*jobs_replay) return writ::RunJobsReplay(jo);
  if (*jobs_watch) return writ::RunJobsWatch(jo);
  if (*dead_list) {
    so.status = "dead";
    return writ::RunSubmissionsList(so);
  }
  for (auto* c : {subs_show, subs_retry, subs_cancel})
    if (*c && so.ids.empty()) {
      std::cerr << "name at least one submission id\n";
      return 2;
    }
  if (*subs_show) return writ::RunSubmissionsShow(so);
  if (*subs_retry) return writ::RunSubmissionsAction(so, "retry");
  if (*subs_cancel) return writ::RunSubmissionsAction(so, "cancel");
  if (*dead_replay) {
    if (so.ids.empty() && !so.all) {
      std::cerr << "name submission ids or pass --all\n";
      return 2;
    }
    return writ::RunDeadReplay(so);
  }
  return 0;
}

}  // namespace
