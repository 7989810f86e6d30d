// The front half every keyed route shares (sync and async): check the
// content type, the Idempotency-Key header(s) and the body, and compute the
// fingerprint; and the answers for a key that already has a record.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "config/config.h"
#include "core/http_types.h"
#include "patterns/idempotency/fingerprint.h"
#include "store/key_store.h"

namespace writ {

struct KeyedRequest {
  bool has_key = false;  // false: the route's key is optional and none was sent
  KeyId id;
  Fingerprint fp;
};

// Either the parsed request or the 4xx problem to answer (nothing stored).
struct PreparedRequest {
  std::optional<KeyedRequest> keyed;
  Response problem;
};
PreparedRequest PrepareKeyedRequest(const Request& r, const IdempotencyConfig& idem, const std::string& route);

bool IsJsonContentType(std::string_view content_type);
// "/orders/{id}" with {id: "7"} -> "/orders/7".
std::string SubstituteParams(const std::string& tmpl, const PathParams& params);
// How many path segments `path` has below the route path `tmpl` (filled
// with `params`): 0 for the collection itself, 1 for /{id}, ...
size_t SegmentsBelow(const std::string& path, const std::string& tmpl, const PathParams& params);

// 422 naming what differs (method, path or JSON Pointers), never values.
Response KeyReusedProblem(const IdempotencyRecord& stored, Fingerprint& fp);
// What is kept of a master's final answer: status, body, Content-Type,
// Location, ETag, Last-Modified and the route's response_headers.
StoredResponse KeptAnswer(const Response& upstream, const std::vector<std::string>& response_headers);
// A stored final answer, marked Idempotent-Replayed.
Response ReplayStored(const StoredResponse& s);

// The answer for a request whose key already has a record that was created
// completed with the acknowledgement (async and buffered routes): a replay,
// 422 for another request under the key, or 409 for a record still in
// flight. `outcome` is set to "replayed", "mismatch" or "in_flight".
Response AnswerAcknowledged(const IdempotencyRecord& rec, Fingerprint& fp, std::string& outcome);

}  // namespace writ
