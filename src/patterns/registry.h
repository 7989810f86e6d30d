// The pattern registry: every write mode Writ ships, one entry each. The
// config loader parses a route's mode block with the entry's ModeSpec, the
// gateway builds the route with its factory, and the store gets the mode's
// schema steps and garbage collector from it. Adding a mode = a folder
// src/patterns/<mode>/ and one line in registry.cpp (docs/architecture.md).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "patterns/route.h"
#include "store/store.h"

namespace writ {

struct Pattern {
  ModeSpec spec;
  std::function<std::unique_ptr<Route>(const RouteConfig&, RouteServices&)> make;
  std::vector<SchemaStep> schema;  // the mode's own tables, if any
  Store::Collector collect;        // deletes the mode's expired rows, if any
  bool collect_erases = false;     // ...and they hold content that must leave the disk
};

const std::vector<Pattern>& Patterns();
const Pattern* FindPattern(const std::string& mode);
std::vector<ModeSpec> ModeSpecs();
// The core concerns' schema steps and every mode's.
std::vector<SchemaStep> AllSchemaSteps();
// LoadConfigFile with every registered mode.
LoadedConfig LoadConfig(const std::string& path);
// OpenStore with every mode's schema steps and collectors.
Result<std::unique_ptr<Store>> OpenPatternStore(StoreOptions options);

}  // namespace writ
