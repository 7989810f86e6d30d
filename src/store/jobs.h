// Buffered bulk jobs (CP-3): a batch upload becomes a job whose items are
// queued commands (store/commands.h) with a job id, a position and an item
// key. The Store persists them; workers drain items like any command.
//
// An item key (a JSON Pointer's value, or the item's position) identifies an
// item across jobs: while an item with the same key of the same route is
// queued, or succeeded within the dedup window, a new one is recorded as a
// duplicate and never sent. Failed and dead items give their key up.
//
// The buffer of a route (items queued and processing) is bounded: a batch
// that would not fit is refused whole, nothing stored. Producer dedup follows
// Kafka's idempotent producer: per (route, producer id), sequence last+1 is
// accepted, <= last is a duplicate of an earlier job, > last+1 is a gap.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "core/clock.h"
#include "core/http_types.h"
#include "store/commands.h"

namespace writ {

struct JobItem {
  int64_t position = 0;  // 0-based position in the uploaded batch
  std::string key;       // item key (never empty)
  std::string body;      // the item, JSON text
  std::string upstream_key;  // derived Idempotency-Key sent with the item
};

struct RejectedItem {
  int64_t position = 0;
  std::string reason;
};

// What the accept transaction found, for building the 202 stored with it.
struct JobSummary {
  std::string job_id;
  int64_t items = 0;       // in the batch, rejected ones included
  int64_t accepted = 0;    // queued for the master
  int64_t duplicates = 0;  // keys already queued or applied
  std::vector<int64_t> duplicate_positions;
};

struct Job {
  int64_t seq = 0;  // creation order (list cursor)
  std::string id, tenant, route;
  std::string producer_id;
  int64_t producer_seq = 0;
  int64_t items = 0, accepted = 0, duplicates = 0;
  std::vector<RejectedItem> rejected;
  Millis created_at = 0;
  // Item counts by status (accepted = queued), computed when read.
  int64_t queued = 0, processing = 0, succeeded = 0, failed = 0, dead = 0;
  int64_t ahead = 0;  // items of the route queued before this job's last one (ETA)
  Millis last_finished_at = 0;
  int64_t remaining() const { return queued + processing; }
};

struct JobFilter {
  std::string tenant;     // "" = all
  std::string route;      // "" = all
  int64_t before_seq = 0;  // cursor: jobs older than this (0 = newest first)
  int limit = 50;
};

struct BufferState {
  int64_t pending = 0;  // items queued or processing
  bool paused = false;
};

boost::json::object JobToJson(const Job& j);

}  // namespace writ
