// The embedded SQLite store (WAL, synchronous=FULL). One writer thread runs
// group commits; lookups use a small pool of reader connections.
#pragma once

#include <memory>

#include "store/store.h"

namespace writ {

Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options);

}  // namespace writ
