// Internal to the draft route (draft_route.cpp, draft_submit.cpp): one
// request in progress, and the answers both files build.
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "patterns/draft/draft_route.h"
#include "patterns/document/etag.h"
#include "patterns/idempotency/request.h"
#include "patterns/validate/schema.h"

namespace writ {

struct DraftRoute::Call {
  Request req;
  PathParams params;
  Respond respond;
  RequestInfo info;
  std::string id;  // the draft's, when the path names one
  KeyedRequest keyed;
  IfMatch if_match;
};

namespace draft_http {

boost::json::object DraftJson(const Draft& d, bool with_data);
Response DraftResponse(int status, const Draft& d);  // the draft, its ETag
StoredResponse ToStored(const Response& r);
Response NotFound(const std::string& id);
Response Stale(const Draft& current);  // 412 with the current etag and version
Response Frozen(const Draft& d);       // 409 draft-submitting or draft-submitted
Response ViolationsProblem(const std::vector<SchemaViolation>& violations, const std::string& schema, bool strict);

}  // namespace draft_http
}  // namespace writ
