#include "store/job_store.h"

#include "store/sql/jobs_sql.h"
#include "store/sql/queue.h"

namespace writ {

using namespace sql;  // Conn, Stmt and the shared queries

SchemaStep JobsSchemaStep();  // jobs_schema.cpp
SchemaStep JobStore::Schema() { return JobsSchemaStep(); }

void JobStore::AcceptJob(JobAcceptRequest req, Callback<JobAcceptResult> done) {
  // Nothing is durable to wait for when the batch is refused, but the
  // refusal rides the same commit as everything else: simpler, and rare.
  Database& db = db_;
  SubmitFor<JobAcceptResult>(
      db_,
      [&db, req = std::move(req)](Conn& c) -> Result<JobAcceptResult> {
        auto r = InsertJob(c, req, db.Now());
        if (!r.ok()) return r.status();
        if (r->status == JobAcceptStatus::kAccepted && r->summary.accepted > 0) {
          if (auto s = NotifyWork(c, req.route); !s.ok()) return s;
        }
        return r;
      },
      std::move(done));
}

Result<std::optional<Job>> JobStore::GetJob(const std::string& id) {
  return ReadFor<std::optional<Job>>(db_, [&](Conn& c) { return SelectJob(c, id); });
}
Result<std::vector<Job>> JobStore::ListJobs(const JobFilter& f) {
  return ReadFor<std::vector<Job>>(db_, [&](Conn& c) { return SelectJobs(c, f); });
}
Result<BufferState> JobStore::GetBuffer(const std::string& route) {
  return ReadFor<BufferState>(db_, [&](Conn& c) { return SelectBuffer(c, route); });
}

void JobStore::ReplayJob(std::string id, bool allow_unknown, Callback<JobReplay> done) {
  Database& db = db_;
  SubmitFor<JobReplay>(
      db_,
      [&db, id = std::move(id), allow_unknown](Conn& c) -> Result<JobReplay> {
        JobReplay out;
        auto items = SelectReplayableItems(c, id);
        if (!items.ok()) return items.status();
        Millis now = db.Now();
        for (const auto& item : *items) {
          auto r = RedriveCommand(c, item, false, now, allow_unknown);
          if (!r.ok()) return r.status();
          if (*r == ActionResult::kPossiblyApplied) {
            ++out.held;
            continue;
          }
          auto cur = SelectCommand(c, item);
          if (!cur.ok()) return cur.status();
          if (cur->has_value() && (*cur)->status == SubmissionStatus::kAccepted) ++out.requeued;
        }
        return out;
      },
      std::move(done));
}

void JobStore::SetPaused(std::string route, bool paused, Callback<bool> done) {
  SubmitFor<bool>(
      db_,
      [route = std::move(route), paused](Conn& c) -> Result<bool> {
        auto r = UpdatePaused(c, route, paused);
        if (!r.ok()) return r.status();
        return true;
      },
      std::move(done));
}

Result<int> JobStore::DeleteExpired(Conn& c, int batch, Millis now) { return DeleteExpiredJobs(c, batch, now); }

Result<JobAcceptResult> AcceptJobSync(JobStore& s, JobAcceptRequest req) {
  return Wait<JobAcceptResult>([&](auto cb) { s.AcceptJob(std::move(req), cb); });
}
Result<JobReplay> ReplayJobSync(JobStore& s, std::string id, bool allow_unknown) {
  return Wait<JobReplay>([&](auto cb) { s.ReplayJob(std::move(id), allow_unknown, cb); });
}
Result<bool> SetPausedSync(JobStore& s, std::string route, bool paused) {
  return Wait<bool>([&](auto cb) { s.SetPaused(std::move(route), paused, cb); });
}

}  // namespace writ
