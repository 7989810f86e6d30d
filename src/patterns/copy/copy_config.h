// mode: dual-copy (CP-6): the route's own settings, from its `copy:`,
// `async:` (the outbound sync queue) and `validate:` keys. The local copy,
// its outbound sync and its conflict policies are edge mode's (EdgeSettings).
#pragma once

#include <string>
#include <vector>

#include "patterns/local_copy/edge_config.h"

namespace boost::json {
class value;
}

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
  // One instance refreshes at a time, under this lease, renewed by every
  // page: a pass whose instance died is taken over once it runs out.
  Millis lease = 30'000;
};

// How the master's collection is listed in id order for reconciliation.
struct ReconcileConfig {
  // Path and query at the master: {after} the last id of the previous
  // chunk ("" first), {limit} the chunk size; items in byte order of their
  // ids. Items are read with refresh's pointers (items, id, version, data).
  // "": the route cannot be reconciled.
  std::string path;
  Millis interval = 0;                     // a scheduled pass this often (0: on demand only)
  int chunk = 1000;                        // entities per chunk (and per checkpoint)
  double rate = 0;                         // entities per second at most (0: no limit)
  std::vector<std::string> ignore_fields;  // JSON Pointers left out of the comparison
  std::string repair = "report";           // the scheduled pass's: report, master-wins, local-wins, restore
  Millis lease = 60'000;                   // a runner that died is resumed after this
};

struct CopySettings : EdgeSettings {
  RefreshConfig refresh;
  ReconcileConfig reconcile;
  Millis max_staleness = 60'000;  // a copy refreshed longer ago than this is stale
  OnStale on_stale = OnStale::kServe;
};

ModeSpec CopySpec();

// The value at `pointer` in an item of the master's (a feed's or a list's)
// as text: strings as they are, numbers printed; "" for anything else.
std::string ItemText(const boost::json::value& item, const std::string& pointer);

}  // namespace writ
