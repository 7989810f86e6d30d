// The bulk request a buffered route sends to its master's bulk_path, and how
// the answer is split into one result per item:
//
//   POST {bulk_path}            Idempotency-Key: <derived from the items' keys>
//   {"items": [{"key": "<item's derived Idempotency-Key>", "body": <item>}, ...]}
//
//   200 {"results": [{"status": 201, "id": "p_1"}, {"status": 422, ...}, ...]}
//
// Results are read at buffered.results (an array in request order) and each
// item's status at buffered.item_status. An answer other than 2xx applies to
// every item (429/5xx: retried; 4xx: failed). A 2xx answer without a usable
// result for an item leaves that item's outcome unknown.
// Thread-safety: immutable after construction.
#pragma once

#include "config/config.h"
#include "patterns/bulk/bulk_config.h"
#include "queue/worker.h"

namespace writ {

class JsonBulkCodec : public BatchCodec {
 public:
  JsonBulkCodec(const RouteConfig& route, const BufferedConfig& buffered)
      : upstream_header_(route.idempotency.upstream_header), buffered_(buffered) {}
  UpstreamRequest Encode(const std::vector<Command>& items) const override;
  std::vector<UpstreamResult> Decode(const UpstreamResult& answer, size_t items) const override;

 private:
  std::string upstream_header_;
  BufferedConfig buffered_;
};

}  // namespace writ
