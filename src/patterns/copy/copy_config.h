// mode: dual-copy (CP-6): the route's own settings, from its `copy:`,
// `async:` (the outbound sync queue) and `validate:` keys. The local copy,
// its outbound sync and its conflict policies are edge mode's (EdgeSettings).
#pragma once

#include <string>

#include "patterns/local_copy/edge_config.h"

namespace writ {

enum class OnStale { kServe, kRefuse, kPassthrough };
const char* OnStaleName(OnStale s);

// How the master's changes are paged into the copy.
struct RefreshConfig {
  // Path and query at the master, {cursor} replaced by the last page's
  // cursor ("" for the first page of a full load).
  std::string path;
  Millis interval = 30'000;
  int page_limit = 0;                  // unused; the limit belongs in path
  std::string cursor = "/nextCursor";  // JSON Pointers into a page
  std::string items = "/items";
  std::string id = "/id";  // ... and into each item
  std::string version = "/version";
  std::string data;  // "" the item itself
  std::string deleted = "/deleted";
};

struct CopySettings : EdgeSettings {
  RefreshConfig refresh;
  Millis max_staleness = 60'000;  // a copy refreshed longer ago than this is stale
  OnStale on_stale = OnStale::kServe;
};

ModeSpec CopySpec();

}  // namespace writ
