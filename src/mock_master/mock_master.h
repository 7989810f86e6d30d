// writ mock-master: a fault-injecting system of record used by the demo, the
// tests and the benchmarks. It counts side effects per Idempotency-Key so a
// test can prove that nothing was applied twice or lost.
//
//   POST /{collection}            create, 201 + {"id": ...} + Location
//   POST /{collection}/_bulk      {"items": [{"key", "body"}]}: each item created under
//                                 its key (honoured like Idempotency-Key), logged on its
//                                 own; 200 {"results": [{"status", "id"}]} in order
//   GET|PUT|PATCH|DELETE /{c}/{id}  read, replace, merge, delete; every answer
//                                 carries the record's ETag, and a write whose
//                                 If-Match names another version gets 412
//   GET /{c}?updatedSince=CURSOR&limit=N  the change feed: records changed after
//                                 CURSOR (0: all) in their latest state, each with its
//                                 version (ETag), deleted ones marked; nextCursor
//   GET /{c}?after=ID&limit=N      the records after ID in id (byte) order, for reconciliation
//   POST /_seed                   {"collection", "count", "from"}: N records at once
//   POST /_tamper                 {"collection", "delete"|"change"|"create": [ids]}: changes
//                                 the change feed never shows (a master that lost them)
//   GET /_stats                   counters and keys applied more than once
//   GET /_keys                    per key: write requests received, side effects
//   GET /_log                     every write request in arrival order (time, key, body)
//   POST /_faults                 change fault rates at run time (JSON)
//   POST /_reset                  forget everything
//
// Faults (each drawn per write request from a seeded RNG):
//   error_rate         answer error_status (503) without applying anything (Retry-After with retry_after)
//   drop_after_commit  apply, then reset the connection (outcome unknown)
//   error_after_commit apply, then answer 500 or 504 (as a failing proxy or
//                      a master failing after its commit would: applied)
//   hang_rate          apply, then answer nothing for hang_for, then reset
//   latency            delay every answer
// A body with "invalid": true is refused with 422 (a deterministic failure).
// A request carrying Authorization is answered with X-Authorization-Seen: yes.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.h"

namespace writ {

struct MockMasterOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9090;
  bool honor_idempotency_key = false;
  Millis latency = 0;
  double error_rate = 0;
  int error_status = 503;  // what injected errors answer (503 or 429, say)
  double drop_after_commit = 0;
  double error_after_commit = 0;
  double hang_rate = 0;
  Millis hang_for = 30'000;
  int retry_after = 0;  // seconds; sent with injected 503s when > 0
  uint64_t seed = 0;  // 0: random
  int threads = 1;
  // Serve https with this certificate chain and key (PEM), for tests of
  // https upstreams and webhooks.
  std::string tls_cert, tls_key;
};

// Runs until SIGINT/SIGTERM. Prints a JSON "listening" line with the port.
int RunMockMaster(const MockMasterOptions& options);

}  // namespace writ
