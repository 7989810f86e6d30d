// `writ sagas list|show|cancel|retry-compensation|mark-resolved`: the
// operator's view of sagas, straight on the store (like `writ drafts`).
// Safe while `writ serve` runs: each action is one transaction that locks
// the saga's row, the same as the API's; the servers' workers pick up a
// queued compensation at their next poll.
#include <iostream>
#include <optional>

#include <boost/json.hpp>

#include "cli/commands.h"
#include "patterns/saga/saga_config.h"
#include "patterns/saga/saga_route.h"
#include "patterns/saga/saga_store.h"

namespace writ {
namespace {

// The saga with this id, or nullopt (and a message).
std::optional<Saga> Find(SagaStore& sagas, const std::string& id) {
  auto g = sagas.Get(id);
  if (g.ok() && g->has_value()) return **g;
  std::cerr << id << ": " << (g.ok() ? "no such saga" : g.status().message()) << "\n";
  return std::nullopt;
}

// Runs `act` on each id; prints the saga after it, or why not. 1 if any failed.
int ForEach(const SagasOptions& o, Config* config,
            const std::function<Result<Saga>(SagaStore&, const Saga&)>& act) {
  auto store = OpenStoreOrSay(o.config_path, false, config);
  if (!store) return 1;
  SagaStore sagas(store->db());
  int rc = 0;
  for (const auto& id : o.ids) {
    auto g = Find(sagas, id);
    if (!g) {
      rc = 1;
      continue;
    }
    auto r = act(sagas, *g);
    if (!r.ok()) {
      std::cerr << id << ": " << r.status().message() << "\n";
      rc = 1;
      continue;
    }
    std::cout << id << ": " << SagaStatusName(r->state.status) << "\n";
  }
  return rc;
}

const RouteConfig* SagaRouteOf(const Config& config, const std::string& name) {
  for (const auto& rc : config.routes)
    if (rc.name == name && rc.mode == "saga") return &rc;
  return nullptr;
}

// How the saga route `name` of `config` queues its requests, as the server
// does; nullopt when the config has no such route.
std::optional<SagaQueue> QueueOf(const Config& config, const std::string& name) {
  const RouteConfig* route = SagaRouteOf(config, name);
  if (!route) return std::nullopt;
  return MakeSagaQueue(*route, route->settings_as<SagaSettings>(),
                       [&config](const std::string& upstream) -> const UpstreamConfig& {
                         return *config.FindUpstream(upstream);
                       });
}

}  // namespace

int RunSagasList(const SagasOptions& o) {
  auto store = OpenStoreOrSay(o.config_path, true);
  if (!store) return 1;
  std::optional<SagaStatus> status;
  if (!o.status.empty()) status = ParseSagaStatus(o.status);
  auto rows = SagaStore(store->db()).List(o.route, status, o.limit);
  if (!rows.ok()) {
    std::cerr << rows.status().message() << "\n";
    return 1;
  }
  if (o.json) {
    boost::json::array a;
    for (const auto& g : *rows) a.push_back(SagaJson(g));
    std::cout << boost::json::serialize(a) << "\n";
    return 0;
  }
  std::cout << "SAGA\tROUTE\tSTATUS\tSTEP\tUPDATED\tREASON\n";
  for (const auto& g : *rows)
    std::cout << g.id << '\t' << g.route << '\t' << SagaStatusName(g.state.status) << '\t' << g.state.step << '\t'
              << FormatTimestamp(g.updated_at) << '\t' << (g.state.reason.empty() ? "-" : g.state.reason) << '\n';
  std::cerr << rows->size() << " saga(s)\n";
  return 0;
}

int RunSagasShow(const SagasOptions& o) {
  auto store = OpenStoreOrSay(o.config_path, true);
  if (!store) return 1;
  SagaStore sagas(store->db());
  int rc = 0;
  for (const auto& id : o.ids) {
    auto g = Find(sagas, id);
    if (!g) {
      rc = 1;
      continue;
    }
    auto j = SagaJson(*g);
    boost::json::array attempts;
    if (auto log = sagas.Attempts(id); log.ok())
      for (const auto& a : *log) attempts.push_back(AttemptJson(a));
    j["attempts"] = std::move(attempts);
    std::cout << boost::json::serialize(j) << "\n";
  }
  return rc;
}

int RunSagasCancel(const SagasOptions& o) {
  return ForEach(o, nullptr, [](SagaStore& sagas, const Saga& g) {
    return Wait<Saga>([&](auto cb) { sagas.Cancel(g.id, cb); });
  });
}

int RunSagasRetryCompensation(const SagasOptions& o) {
  Config config;
  return ForEach(o, &config, [&config](SagaStore& sagas, const Saga& g) -> Result<Saga> {
    // The steps come from the config: the saga's route must still be there.
    const RouteConfig* route = SagaRouteOf(config, g.route);
    if (!route)
      return Status(Code::kConflict,
                    "route '" + g.route + "' is not a saga route of this config: its steps are unknown");
    SagaQueue q = *QueueOf(config, g.route);
    return Wait<Saga>(
        [&](auto cb) { sagas.RetryCompensation(g.id, &route->settings_as<SagaSettings>().def, &q, false, cb); });
  });
}

int RunSagasMarkResolved(const SagasOptions& o) {
  Config config;
  return ForEach(o, &config, [&config, &o](SagaStore& sagas, const Saga& g) {
    std::optional<SagaQueue> q = QueueOf(config, g.route);
    return Wait<Saga>([&](auto cb) { sagas.MarkResolved(g.id, o.note, q ? &*q : nullptr, cb); });
  });
}

}  // namespace writ
