// The reconciliations API (/v1/reconciliations), shared by every dual-copy
// route that can be reconciled:
//   GET  /v1/reconciliations?route=&limit=   newest first
//   GET  /v1/reconciliations/{id}?after=&limit=  the report: counts, the
//        mismatch ratio, the mismatches (entity, kind, JSON Pointers; never
//        values), nextCursor
//   POST /v1/reconciliations {"route", "repair", "dryRun"}  (operators):
//        202; the route's runner starts it within a second
#pragma once

#include <set>
#include <string>

#include <boost/json/object.hpp>

#include "patterns/copy/reconcile_store.h"
#include "patterns/route.h"

namespace writ {

// A reconciliation as JSON (the API's and `writ reconcile`'s).
boost::json::object ReconciliationJson(const Reconciliation& r);
boost::json::object MismatchJson(const Mismatch& m);

class ReconcileApi : public OperatorApi {
 public:
  explicit ReconcileApi(Database& db) : db_(db) {}
  void AddRoute(const std::string& route) { routes_.insert(route); }
  std::vector<ApiEndpoint> Endpoints() const override;
  void Handle(const Request& req, std::function<void(Response)> done) override;

 private:
  Database& db_;
  std::set<std::string> routes_;
};

}  // namespace writ
