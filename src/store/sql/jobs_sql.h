// Internal to the SQL stores: buffered jobs: jobs, item keys, producer
// sequences and per-route buffer state. Every function runs inside the
// caller's transaction on the writer connection, or on a reader.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/job_store.h"
#include "store/sql/conn.h"
#include "store/sql/keys.h"

namespace writ::sql {

Result<JobAcceptResult> InsertJob(Conn& c, const JobAcceptRequest& req, Millis now);
// An item reached a terminal state: it leaves the buffer; a success keeps its
// key for the dedup window, a failure gives it up.
Status FinishItem(Conn& c, const std::string& id, const std::string& tenant, const std::string& route,
                  const std::string& item_key, SubmissionStatus status, Millis now);
// A failed/dead item set back to accepted: it re-takes its key, or becomes a
// duplicate when another item holds the key now.
Status RequeueItem(Conn& c, const Command& item, Millis now);
Result<std::optional<Job>> SelectJob(Conn& c, const std::string& id);
Result<std::vector<Job>> SelectJobs(Conn& c, const JobFilter& f);
Result<std::vector<std::string>> SelectReplayableItems(Conn& c, const std::string& job_id);
// `lock`: creates the row if missing and locks it (FOR UPDATE on PostgreSQL).
Result<BufferState> SelectBuffer(Conn& c, const std::string& route, bool lock = false);
Result<bool> UpdatePaused(Conn& c, const std::string& route, bool paused);
// Deletes expired item keys and finished jobs past their retention.
Result<int> DeleteExpiredJobs(Conn& c, int batch, Millis now);

}  // namespace writ::sql
