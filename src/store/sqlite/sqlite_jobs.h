// Internal to the SQLite backend: buffered jobs (schema version 3): jobs,
// item keys, producer sequences and per-route buffer state. Every function
// runs inside the caller's transaction on the writer connection, or on a
// reader.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/store.h"
#include "store/sqlite/sqlite_conn.h"

namespace writ::sqlite {

// Statements that take a version-2 store to version 3.
extern const char* const kJobsSchema;

// Reads the Idempotency-Key record, if any (sqlite_store.cpp).
Result<std::optional<IdempotencyRecord>> SelectRecord(Conn& c, const KeyId& id);
// Inserts a completed record holding `response` (sqlite_store.cpp).
Status InsertCompletedRecord(Conn& c, const KeyId& id, const std::string& fingerprint,
                             const std::string& detail, const StoredResponse& response, Millis now,
                             Millis retention);

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
Result<BufferState> SelectBuffer(Conn& c, const std::string& route);
Result<bool> UpdatePaused(Conn& c, const std::string& route, bool paused);
// Deletes expired item keys and finished jobs past their retention.
Result<int> DeleteExpiredJobs(Conn& c, int batch, Millis now);

}  // namespace writ::sqlite
