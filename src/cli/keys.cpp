// `writ keys list|delete`: operator views of the idempotency records.
#include <iostream>

#include "cli/commands.h"
#include "core/log.h"
#include "patterns/idempotency/key.h"
#include "config/config.h"
#include "patterns/registry.h"
#include "store/store.h"

namespace writ {

const Redactor* RouteRedactor(const Config& config, const std::string& route) {
  for (const auto& r : config.routes)
    if (r.name == route) return r.redactor.empty() ? nullptr : &r.redactor;
  return nullptr;
}

Result<std::unique_ptr<Store>> OpenFromConfig(const std::string& path, bool read_only, Config* config) {
  auto loaded = LoadConfig(path);
  for (const auto& e : loaded.errors) std::cerr << e.ToString() << "\n";
  if (!loaded.errors.empty()) return Status(Code::kInvalidArgument, "invalid config");
  StoreOptions so;
  so.url = loaded.config.store.url;
  so.read_only = read_only;
  if (config) *config = loaded.config;
  return OpenPatternStore(so);
}

std::unique_ptr<Store> OpenStoreOrSay(const std::string& path, bool read_only, Config* config) {
  auto store = OpenFromConfig(path, read_only, config);
  if (store.ok()) return std::move(*store);
  std::cerr << "cannot open store: " << store.status().message() << "\n";
  return nullptr;
}

int RunKeysList(const std::string& config_path, const std::string& state, const std::string& route, int limit) {
  auto store = OpenFromConfig(config_path, true);
  if (!store.ok()) {
    std::cerr << "cannot open store: " << store.status().message() << "\n";
    return 1;
  }
  auto rows = (*store)->keys().List(state.empty() ? std::nullopt : ParseKeyState(state), route, limit);
  if (!rows.ok()) {
    std::cerr << rows.status().message() << "\n";
    return 1;
  }
  std::cout << "STATE\tTENANT\tROUTE\tKEY\tATTEMPTS\tSTATUS\tUPDATED_MS\n";
  for (const auto& r : *rows)
    std::cout << KeyStateName(r.state) << '\t' << r.id.tenant << '\t' << r.id.route << '\t' << r.id.key << '\t'
              << r.attempts << '\t'
              << (r.state == KeyState::kCompleted ? std::to_string(r.response.status) : "-") << '\t' << r.updated_at
              << '\n';
  std::cerr << rows->size() << " key(s)\n";
  return 0;
}

int RunGc(const std::string& config_path) {
  Config config;
  auto store = OpenFromConfig(config_path, false, &config);
  if (!store.ok()) {
    std::cerr << "cannot open store: " << store.status().message() << "\n";
    return 1;
  }
  int batch = config.store.gc_batch, total = 0;
  for (;;) {
    auto n = CollectGarbageSync(**store, batch);
    if (!n.ok()) {
      std::cerr << "gc failed after " << total << " deletions: " << n.status().message() << "\n";
      return 1;
    }
    total += *n;
    if (*n < batch) break;
  }
  std::cout << "deleted " << total << " expired record(s)\n";
  return 0;
}

int RunKeysDelete(const std::string& config_path, const std::string& tenant, const std::string& route,
                  const std::string& key) {
  auto store = OpenFromConfig(config_path, false);
  if (!store.ok()) {
    std::cerr << "cannot open store: " << store.status().message() << "\n";
    return 1;
  }
  auto rec = (*store)->keys().Lookup({tenant, route, key});
  if (rec.ok() && rec->has_value() && (*rec)->state == KeyState::kUnknown) {
    std::cerr << "this key's outcome is unknown: the master may have applied it. Check the master, then run\n"
              << "  writ keys resolve --config " << config_path << " --tenant " << tenant << " --route '" << route
              << "' --applied|--not-applied " << key << "\n";
    return 1;
  }
  auto r = RemoveSync((*store)->keys(), {tenant, route, key});
  if (!r.ok()) {
    std::cerr << r.status().message() << "\n";
    return 1;
  }
  if (!*r) {
    std::cerr << "no such key for route '" << route << "'\n";
    return 1;
  }
  std::cout << "deleted\n";
  return 0;
}

int RunKeysResolve(const std::string& config_path, const std::string& tenant, const std::string& route,
                   const std::string& key, bool applied) {
  Config config;
  auto store = OpenFromConfig(config_path, false, &config);
  if (!store.ok()) {
    std::cerr << "cannot open store: " << store.status().message() << "\n";
    return 1;
  }
  Millis retention = IdempotencyConfig().retention;
  for (const auto& r : config.routes)
    if (r.name == route) retention = r.idempotency.retention;
  // What the client's retries get once an operator found the write applied:
  // not the master's answer (it was lost), but a stored, marked statement.
  StoredResponse answer;
  answer.status = 200;
  answer.headers = {{"Content-Type", "application/json"}, {"Writ-Reconstructed", "true"}};
  answer.body = R"j({"outcome":"applied","detail":"the master applied this request; its answer was lost and an )j"
                R"j(operator confirmed the write (writ keys resolve --applied)"})j";
  auto r = ResolveSync((*store)->keys(), {tenant, route, key}, applied, answer, retention);
  if (!r.ok()) {
    std::cerr << r.status().message() << "\n";
    return 1;
  }
  if (!*r) {
    std::cerr << "no unknown outcome under this key for route '" << route << "' (writ keys list --state unknown)\n";
    return 1;
  }
  LogJson("info", "key resolved", {{"route", route}, {"keyHash", KeyHashForLog("default", route, key)},
                                   {"resolution", applied ? "applied" : "not_applied"}});
  std::cout << (applied ? "resolved as applied: retries get a 200 marked Writ-Reconstructed: true\n"
                        : "resolved as not applied: the client's next retry sends the request again\n");
  return 0;
}

}  // namespace writ

namespace writ {

int RunMigrate(const std::string& config_path) {
  auto loaded = LoadConfig(config_path);
  for (const auto& e : loaded.errors) std::cerr << e.ToString() << "\n";
  if (!loaded.errors.empty()) return 2;
  StoreOptions so;
  so.url = loaded.config.store.url;
  so.migrate = true;
  auto store = OpenPatternStore(so);
  if (!store.ok()) {
    std::cerr << "migrate: " << store.status().message() << "\n";
    return 1;
  }
  for (const auto& w : (*store)->Warnings()) std::cerr << "warning: " << w << "\n";
  std::cout << "store schema is current (" << loaded.config.store.url << ")\n";
  return 0;
}

}  // namespace writ
