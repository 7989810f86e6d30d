// The PostgreSQL database, for several writ instances sharing one database.
// One writer connection per instance runs group commits (a batch rolled
// back by a deadlock with another instance is run again); reads use a pool
// of connections; a listener connection turns NOTIFY writ_work into worker
// wake-ups. Commits are durable with synchronous_commit=on (checked at open;
// operations that may wait for the next durable commit use SET LOCAL
// synchronous_commit=off). A lost connection makes calls fail (the routes
// answer 503) until it is back; the store reconnects by itself.
#pragma once

#include <memory>

#include "store/database.h"

namespace writ {

Result<std::unique_ptr<Database>> OpenPostgresDatabase(const StoreOptions& options);

}  // namespace writ
