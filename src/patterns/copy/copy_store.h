// CopyStore: where a dual copy's refresh stands, per route (schema version
// 14, table copy_state). The copy's records and their changes live in the
// edge store (edge_store.h); this is the refresh's cursor, its lease (one
// instance pages the master's changes at a time) and the time the copy is
// known to be as fresh as (its "as of").
//
// A refresh pass: Lease (a pass starts) -> Advance per page, in the
// transaction that applies the page -> Finish. A pass that reached the end
// of the master's changes makes the copy as fresh as the moment it began.
// A full load (writ copy load) resets the cursor and takes the lease from
// any pass under way, whose next Advance then fails.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <string>

#include "store/database.h"

namespace writ {

struct CopyState {
  std::string route;
  std::string cursor;       // where the next page starts ("": the beginning)
  Millis as_of = 0;         // the copy holds every master change made before this (0: never)
  Millis pass_started = 0;  // when the pass under way (or the last one) began
  Millis last_success = 0;  // when a pass last reached the end
  Millis last_attempt = 0;
  std::string last_error;  // why the last pass failed ("" if it did not)
  bool loading = false;    // a full load is requested or under way
  int64_t pass_items = 0;  // items applied by the pass under way (or the last one)
  int64_t pass_pages = 0;
  int64_t total_items = 0;  // items applied since the route began
  std::string owner;        // the instance holding the lease
  Millis lease_until = 0;
};

class CopyStore {
 public:
  explicit CopyStore(Database& db) : db_(db) {}

  // The route's state (a default one when no pass ever ran).
  Result<CopyState> Get(const std::string& route);
  // Starts a pass if no other instance holds the lease: the state, with
  // owner == `owner` when this one got it.
  void Lease(const std::string& route, const std::string& owner, Millis ttl, Callback<CopyState> done);
  // In the transaction that applies a page: the cursor moves on and the
  // lease is extended; fails when the lease was lost (a load took it).
  static Status Advance(sql::Conn& c, const std::string& route, const std::string& owner, const std::string& cursor,
                        int64_t items, Millis now, Millis ttl);
  // Ends the pass: `error` "" when it reached the end (the copy is then as
  // fresh as the pass's start). Releases the lease.
  void Finish(const std::string& route, const std::string& owner, const std::string& error, Callback<CopyState> done);
  // writ copy load: the next pass starts from the beginning.
  Status RequestLoad(const std::string& route);

  static SchemaStep Schema();  // version 14

 private:
  Database& db_;
};

}  // namespace writ
