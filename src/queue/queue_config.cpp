#include "queue/queue_config.h"

#include <algorithm>

#include "config/reader.h"
#include "core/units.h"

namespace writ {

void ReadQueueConfig(Reader& r, const YAML::Node& n, QueueConfig& a) {
  if (!r.CheckMap(n, "async", {"max_attempts", "max_age", "backoff_base", "backoff_max", "concurrency",
                               "ordering_key", "canonical_id", "lease", "poll_interval", "retention"}))
    return;
  r.Int(n, "max_attempts", a.max_attempts, 1, 1'000);
  r.Duration(n, "max_age", a.max_age);
  r.Duration(n, "backoff_base", a.backoff_base);
  r.Duration(n, "backoff_max", a.backoff_max);
  r.Int(n, "concurrency", a.concurrency, 1, 4'096);
  r.Pointer(n, "ordering_key", a.ordering_key, "/accountId");
  r.Pointer(n, "canonical_id", a.canonical_id, "/id");
  r.Duration(n, "lease", a.lease);
  r.Duration(n, "poll_interval", a.poll_interval);
  r.Duration(n, "retention", a.retention);
  if (a.backoff_base <= 0) r.Error(n["backoff_base"], "'backoff_base' must be positive");
  if (a.backoff_max < a.backoff_base) r.Error(At(n, "backoff_max"), "'backoff_max' must be >= backoff_base");
  if (a.poll_interval <= 0) r.Error(n["poll_interval"], "'poll_interval' must be positive");
}

void CheckQueueLease(Reader& r, const YAML::Node& route, const QueueConfig& q, const UpstreamConfig* u) {
  if (u && q.lease <= u->connect_timeout + u->request_timeout)
    r.Error(At(route, "async"), "async lease (" + FormatDuration(q.lease) +
                                    ") must exceed the upstream connect_timeout + request_timeout (" +
                                    FormatDuration(u->connect_timeout + u->request_timeout) + ")");
}

void CheckQueueRetention(Reader& r, const YAML::Node& route, IdempotencyConfig& idem, const QueueConfig& q) {
  Millis horizon = q.max_age + q.backoff_max;
  if (!idem.retention_set) {
    idem.retention = std::max(idem.retention, horizon + 3'600'000);
  } else if (idem.retention <= horizon) {
    r.Warn(At(At(route, "idempotency"), "retention"),
           "idempotency retention (" + FormatDuration(idem.retention) + ") does not exceed async.max_age + backoff_max (" +
               FormatDuration(horizon) +
               "): a command can still be retried after its key's record expired, and a client retrying then "
               "queues it again");
  }
  if (idem.master_key_retention > 0 && idem.master_key_retention <= horizon)
    r.Warn(At(At(route, "idempotency"), "master_key_retention"),
           "master_key_retention (" + FormatDuration(idem.master_key_retention) +
               ") does not exceed async.max_age + backoff_max (" + FormatDuration(horizon) +
               "): a late retry can reach the master after it forgot the key and be applied twice; shorten max_age");
}

}  // namespace writ
