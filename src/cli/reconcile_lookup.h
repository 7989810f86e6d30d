// Reconciliation of edge and async routes: a look-up at the master per
// acknowledged write. An edge record the master took (synced, with its
// canonical id) is read back with GET {collection}/{canonicalId}; a
// succeeded async submission is looked up with the route's
// idempotency.probe under the key it was sent with. A record or submission
// the master does not have is `missing_master`. Report only: nothing is
// repaired (writ edge resync, writ submissions retry re-send).
// Used by `writ reconcile ROUTE` (reconcile.cpp) only.
#pragma once

#include <functional>
#include <string>

#include "config/config.h"
#include "patterns/copy/reconcile_store.h"

namespace writ {

class Store;
class UpstreamClient;

// How long a look-up run's lease lasts; one whose runner died is resumed
// by the next `writ reconcile ROUTE` once it ran out.
constexpr Millis kLookupLease = 60'000;

// Runs `r` (leased to `owner`) from its checkpoint (the last seq looked
// up) to its end, one chunk of writes at a time; blocks.
Reconciliation RunLookups(Reconciliation r, const std::string& owner, Store& store, const RouteConfig& route,
                          const UpstreamConfig& upstream, UpstreamClient& client,
                          const std::function<void(const Reconciliation&)>& progress);

}  // namespace writ
