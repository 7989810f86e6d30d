#include "patterns/registry.h"

namespace writ {

// Each mode's entry, defined in its folder.
Pattern SyncPattern();      // patterns/sync/sync_pattern.cpp
Pattern AsyncPattern();     // patterns/async/async_pattern.cpp
Pattern BufferedPattern();  // patterns/bulk/bulk_pattern.cpp
Pattern DraftPattern();     // patterns/draft/draft_pattern.cpp
Pattern EdgePattern();      // patterns/edge/edge_pattern.cpp
Pattern CopyPattern();      // patterns/copy/copy_pattern.cpp
Pattern SagaPattern();      // patterns/saga/saga_pattern.cpp

const std::vector<Pattern>& Patterns() {
  static const std::vector<Pattern> kPatterns = {
      SyncPattern(),
      AsyncPattern(),
      BufferedPattern(),
      DraftPattern(),
      EdgePattern(),
      CopyPattern(),
      SagaPattern(),
  };
  return kPatterns;
}

const Pattern* FindPattern(const std::string& mode) {
  for (const auto& p : Patterns())
    if (p.spec.name == mode) return &p;
  return nullptr;
}

std::vector<ModeSpec> ModeSpecs() {
  std::vector<ModeSpec> out;
  for (const auto& p : Patterns()) out.push_back(p.spec);
  return out;
}

std::vector<SchemaStep> AllSchemaSteps() {
  auto steps = CoreSchemaSteps();
  for (const auto& p : Patterns()) steps.insert(steps.end(), p.schema.begin(), p.schema.end());
  return steps;
}

LoadedConfig LoadConfig(const std::string& path) { return LoadConfigFile(path, ModeSpecs()); }

Result<std::unique_ptr<Store>> OpenPatternStore(StoreOptions options) {
  options.schema = AllSchemaSteps();
  auto store = OpenStore(options);
  if (!store.ok()) return store;
  for (const auto& p : Patterns())
    if (p.collect) (*store)->AddCollector(p.collect, p.collect_erases);
  return store;
}

const std::vector<QueueStat>* Scrape::queue_stats() {
  if (!loaded_) {
    loaded_ = true;
    auto s = store_.queue().QueueStats();
    if (!s.ok()) return nullptr;
    stats_ = std::move(*s);
    ok_ = true;
  }
  return ok_ ? &stats_ : nullptr;
}

}  // namespace writ
