// The embedded SQLite database (WAL, synchronous=FULL). One writer thread
// runs group commits; reads use a small pool of read-only connections; WAL
// checkpoints run on a thread of their own.
#pragma once

#include <memory>

#include "store/database.h"

namespace writ {

Result<std::unique_ptr<Database>> OpenSqliteDatabase(const StoreOptions& options);

}  // namespace writ
