// mode: edge (CP-5): the route's own settings, from its `edge:`, `async:`
// (the sync queue) and `validate:` keys.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/json_pattern.h"
#include "patterns/local_copy/edge_store.h"
#include "patterns/validate/schema.h"
#include "queue/queue_config.h"

namespace writ {

// A field that may hold another edge record's temporary id: the change
// waits until that record has the master's id, which then replaces it.
struct EdgeReference {
  std::string pointer;  // JSON Pointer, "*" for every element
  std::string route;    // the edge route (its name) whose records it names
  PointerPattern pattern{"/x"};
  int line = 0, column = 0;  // where the config says it, for later checks
};

// How local changes go out to the master (`sync:`). Each record's changes
// are sent one request per record, in order, as its latest whole state.
struct OutboundSync {
  // A change is sent no sooner than this after the write that queued it;
  // later writes of the record meanwhile fold into it (one request, the
  // latest state). 0: at once.
  Millis interval = 0;
  int batch_size = 0;  // changes one claim of the sync worker takes at most (0: as concurrency allows)
  double rate = 0;     // changes sent per second at most (0: no limit); halved while the master answers 429/503
};

struct EdgeSettings : QueuedSettings {
  std::string client_id;                                 // JSON Pointer to an id the client chose; "": Writ's tmp_ ids
  std::string canonical_id = "/id";                      // JSON Pointer into the master's answer to a create
  std::string update_method = "PUT";                     // PUT or PATCH, with the record's whole state
  ConflictPolicy on_conflict = ConflictPolicy::kManual;  // when the master answers an update 409/412
  std::vector<EdgeReference> references;
  Millis max_sync_delay = 300'000;  // a record pending longer is over the window
  OutboundSync sync;
  std::string validate;                      // JSON Schema file
  std::shared_ptr<const JsonSchema> schema;  // null without validate
};

ModeSpec EdgeSpec();
// The keys an edge route and a dual copy share: client_id, canonical_id,
// update_method, on_conflict, max_sync_delay, sync (into `e`).
void ReadLocalCopyKeys(Reader& r, const YAML::Node& n, EdgeSettings& e);
// The rest of a local-copy route's settings, the same for both modes: the
// sync queue (`async:`, ordered per record: no ordering_key, no
// canonical_id there), a 409 to an update final
// (a conflict, unless final_statuses say otherwise), `validate:`.
// `route_kind` ("an edge route") and `block` ("edge") name them in errors.
void ReadLocalCopyQueue(ModeContext& ctx, EdgeSettings& s, const std::string& route_kind, const std::string& block);

}  // namespace writ
