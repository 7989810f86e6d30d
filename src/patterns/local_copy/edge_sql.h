// The edge store's SQL steps shared by its two files (edge_store.cpp: the
// record and its changes; edge_conflicts.cpp: conflicts). Internal to
// patterns/local_copy/; each runs inside the caller's transaction.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "patterns/local_copy/edge_store.h"
#include "store/sql/conn.h"

namespace writ::edge_sql {

// By id, or else by canonical id; deleted records too.
Result<std::optional<EdgeRecord>> SelectRecord(sql::Conn& c, const std::string& tenant, const std::string& route,
                                               const std::string& id);
// The records `where_order` selects (a WHERE ... ORDER BY ... over edge_records r).
Result<std::vector<EdgeRecord>> SelectRecords(sql::Conn& c, const std::string& where_order,
                                              const std::function<void(sql::Stmt&)>& bind);
// Locks the record's row (PostgreSQL) for the rest of the transaction.
Status LockRecord(sql::Conn& c, int64_t seq);
// Queues the record's change or coalesces it into an unsent one
// (edge_store.cpp has the rules); `fresh`: created in this transaction.
Status QueueChange(sql::Conn& c, const EdgeWrite& req, EdgeRecord& r, Millis now, EdgeWriteResult& out,
                   bool fresh = false);
// A 409/412 to an update or delete: cancels the record's other unsent
// changes and queues the read of the master's version.
Status ReadMasterVersion(sql::Conn& c, const AttemptOutcome& o, const EdgeRecord& r, Millis now,
                         const EdgeSyncRules& rules);
// The outcome of that read, handled by the route's policy.
Status OnMasterVersion(sql::Conn& c, const AttemptOutcome& o, const EdgeRecord& r, Millis now,
                       const EdgeSyncRules& rules, EdgeFinish* finish);

}  // namespace writ::edge_sql
