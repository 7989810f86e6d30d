// The status API of queued writes (async routes, CP-2, and every other route
// whose writes become submissions):
//   GET  /v1/submissions/{id}[?wait=30s]   one submission; wait long-polls
//                                          until a terminal state or timeout
//   GET  /v1/submissions?route=&status=&limit=&cursor=   list, oldest first
//   GET  /v1/submissions?route=R&key=K     look one up by its Idempotency-Key
//   POST /v1/submissions/{id}/retry        re-drive a failed or dead one
//   POST /v1/submissions/{id}/cancel       cancel one not yet attempted
//   GET  /v1/submissions/{id}/events       status events as Server-Sent Events
//
// Events are sent as long-poll SSE: the answer holds until there are events
// after Last-Event-ID (or 25 s pass), sends them and closes; EventSource
// reconnects with Last-Event-ID by itself, and once the submission is
// finished and every event was seen the answer is 204, which tells
// EventSource to stop.
// Thread-safety: Handle may be called concurrently.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "core/endpoint.h"
#include "core/http_types.h"
#include "core/scheduler.h"
#include "store/store.h"

namespace writ {

class SubmissionsApi {
 public:
  struct RouteHooks {
    EventSinks notify = false;        // the route has a webhook (events to deliver)
    Millis retention = 0;       // finished submissions are kept this long
    std::function<void()> wake;  // wake the route's worker after a re-drive
    // on_unknown: park: a submission that may have been applied is re-driven
    // only with ?force=unknown.
    bool park = false;
    const Redactor* redact = nullptr;  // the route's redacted fields (routes[].redact)
    // The commands are a saga's requests (their ordering key is the saga's
    // id): a retry or cancel here would go around the saga, so both are
    // refused (409 submission-owned-by-saga), pointing to /v1/sagas/{id}.
    bool saga = false;
  };
  SubmissionsApi(Store& store, Scheduler& scheduler);
  // Before serving: the routes whose submissions this API shows.
  void AddRoute(const std::string& route, RouteHooks hooks);

  // What it serves and who may call each (core/endpoint.h).
  static std::vector<ApiEndpoint> Endpoints();
  void Handle(const Request& req, std::function<void(Response)> done);

 private:
  // `scope`: the caller's tenant ("" = every tenant, see core/tenant.h); a
  // submission of another tenant answers 404 as if it did not exist.
  void Get(const std::string& scope, const std::string& id, Millis wait, std::function<void(Response)> done);
  void List(const Request& req, std::function<void(Response)> done);
  void Action(const std::string& scope, const std::string& id, const std::string& action, bool force,
              std::function<void(Response)> done);
  void Events(const std::string& scope, const std::string& id, const std::string& last_event_id, Millis deadline,
              std::function<void(Response)> done);

  const Redactor* RedactorFor(const std::string& route) const;

  Store& store_;
  Scheduler& scheduler_;
  std::map<std::string, RouteHooks> routes_;
};

}  // namespace writ
