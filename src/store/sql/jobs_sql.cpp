#include "store/sql/jobs_sql.h"

#include <boost/json.hpp>

#include "core/json.h"
#include "store/sql/queue.h"

namespace writ::sql {

namespace {

namespace json = boost::json;

std::string RejectedToText(const std::vector<RejectedItem>& items) {
  json::array a;
  for (const auto& r : items) a.push_back({{"position", r.position}, {"reason", r.reason}});
  return json::serialize(a);
}

std::vector<RejectedItem> RejectedFromText(const std::string& text) {
  std::vector<RejectedItem> out;
  auto v = ParseJsonStrict(text);
  if (!v.ok() || !v->is_array()) return out;
  for (const auto& e : v->get_array()) {
    if (!e.is_object()) continue;
    const auto& o = e.get_object();
    RejectedItem r;
    if (auto* p = o.if_contains("position"); p && p->is_int64()) r.position = p->get_int64();
    if (auto* p = o.if_contains("reason"); p && p->is_string()) r.reason = std::string(p->get_string());
    out.push_back(std::move(r));
  }
  return out;
}

// Takes `key` for item `command_id`: inserts it, or takes over an entry whose
// dedup window has passed (GC has not deleted it yet). True if taken.
Result<bool> TakeItemKey(Conn& c, const std::string& tenant, const std::string& route, const std::string& key,
                         const std::string& command_id, Millis dedup, Millis now) {
  auto n = Change(c,
                  "INSERT INTO item_keys (tenant, route, item_key, command_id, dedup_ms) VALUES (?1,?2,?3,?4,?5) "
                  "ON CONFLICT (tenant, route, item_key) DO UPDATE SET command_id=excluded.command_id, "
                  "dedup_ms=excluded.dedup_ms, expires_at=0 WHERE item_keys.expires_at > 0 AND item_keys.expires_at <= ?6",
                  [&](Stmt& s) {
                    s.Bind(1, tenant).Bind(2, route).Bind(3, key).Bind(4, command_id).Bind(5, dedup).Bind(6, now);
                  });
  if (!n.ok()) return n.status();
  return *n > 0;
}

Status AddPending(Conn& c, const std::string& route, int64_t delta) {
  auto n = Change(c,
                  "INSERT INTO buffers (route, pending) VALUES (?1, CASE WHEN ?2 < 0 THEN 0 ELSE ?2 END) "
                  "ON CONFLICT (route) DO UPDATE SET pending = CASE WHEN buffers.pending + ?2 < 0 THEN 0 "
                  "ELSE buffers.pending + ?2 END",
                  [&](Stmt& s) { s.Bind(1, route).Bind(2, delta); });
  return n.ok() ? Status::Ok() : n.status();
}

constexpr const char* kJobColumns =
    "seq, id, tenant, route, producer_id, producer_seq, items, accepted, duplicates, rejected, created_at";

Job ReadJob(Stmt& s) {
  Job j;
  j.seq = s.Int(0);
  j.id = s.Text(1);
  j.tenant = s.Text(2);
  j.route = s.Text(3);
  j.producer_id = s.Text(4);
  j.producer_seq = s.Int(5);
  j.items = s.Int(6);
  j.accepted = s.Int(7);
  j.duplicates = s.Int(8);
  j.rejected = RejectedFromText(s.Text(9));
  j.created_at = s.Int(10);
  return j;
}

// Item counts by status and the work queued ahead of the job's last item.
Status FillCounts(Conn& c, Job& j) {
  auto st = c.Prepare("SELECT status, count(*), max(finished_at), max(seq) FROM commands WHERE job_id = ?1 "
                      "GROUP BY status");
  if (!st.ok()) return st.status();
  st->Bind(1, j.id);
  int64_t last_seq = 0;
  for (;;) {
    int rc = st->Step();
    if (rc == kDone) break;
    if (rc != kRow) return c.Error("job counts");
    auto status = ParseSubmissionStatus(st->Text(0));
    int64_t n = st->Int(1);
    j.last_finished_at = std::max(j.last_finished_at, st->Int(2));
    last_seq = std::max(last_seq, st->Int(3));
    if (!status) continue;
    switch (*status) {
      case SubmissionStatus::kAccepted: j.queued = n; break;
      case SubmissionStatus::kProcessing: j.processing = n; break;
      case SubmissionStatus::kSucceeded: j.succeeded = n; break;
      case SubmissionStatus::kFailed: j.failed = n; break;
      case SubmissionStatus::kDead: j.dead = n; break;
      default: break;
    }
  }
  if (j.remaining() == 0) return Status::Ok();
  auto ahead = c.Prepare("SELECT count(*) FROM commands WHERE route = ?1 AND status IN ('accepted','processing') "
                         "AND seq <= ?2");
  if (!ahead.ok()) return ahead.status();
  ahead->Bind(1, j.route).Bind(2, last_seq);
  if (ahead->Step() != kRow) return c.Error("job ahead");
  j.ahead = ahead->Int(0);
  return Status::Ok();
}

// Answers a Producer-Seq that is not last+1 (caller's transaction). The
// producer's row is created (last_seq -1: a new producer, whose first
// sequence starts it) and locked first, so two instances taking the same
// sequence at once are serialized.
Result<bool> CheckProducer(Conn& c, const JobAcceptRequest& req, JobAcceptResult& out, Millis now) {
  auto ins = Change(c,
                    "INSERT INTO producers (tenant, route, producer_id, last_seq, updated_at) VALUES (?1,?2,?3,-1,?4) "
                    "ON CONFLICT (tenant, route, producer_id) DO NOTHING",
                    [&](Stmt& s) { s.Bind(1, req.tenant).Bind(2, req.route).Bind(3, req.producer_id).Bind(4, now); });
  if (!ins.ok()) return ins.status();
  auto st = c.Prepare(std::string("SELECT last_seq FROM producers WHERE tenant=?1 AND route=?2 AND producer_id=?3") +
                      c.ForUpdate());
  if (!st.ok()) return st.status();
  st->Bind(1, req.tenant).Bind(2, req.route).Bind(3, req.producer_id);
  int rc = st->Step();
  if (rc != kRow) return c.Error("producer");
  int64_t last = st->Int(0);
  if (last < 0 || req.producer_seq == last + 1) return true;
  if (req.producer_seq > last + 1) {
    out.status = JobAcceptStatus::kProducerGap;
    out.expected_seq = last + 1;
    return false;
  }
  auto job = c.Prepare("SELECT response_status, response_headers, response_body FROM jobs WHERE tenant=?1 "
                       "AND route=?2 AND producer_id=?3 AND producer_seq=?4");
  if (!job.ok()) return job.status();
  job->Bind(1, req.tenant).Bind(2, req.route).Bind(3, req.producer_id).Bind(4, req.producer_seq);
  rc = job->Step();
  if (rc == kRow) {
    out.status = JobAcceptStatus::kProducerReplay;
    out.response = {static_cast<int>(job->Int(0)), HeadersFromText(job->Text(1)), job->Text(2)};
  } else if (rc == kDone) {
    out.status = JobAcceptStatus::kProducerExpired;
    out.expected_seq = last + 1;
  } else {
    return c.Error("producer job");
  }
  return false;
}

}  // namespace

Result<JobAcceptResult> InsertJob(Conn& c, const JobAcceptRequest& req, Millis now) {
  JobAcceptResult out;
  KeyId key{req.tenant, req.route, req.idem_key};
  if (req.has_key) {
    // The key first: another instance may take the same upload at the same
    // moment, and only one insert gets through. The record is completed
    // with the 202 below, or removed again if the batch is refused.
    auto inserted = InsertCompletedRecord(c, key, req.fingerprint, req.fingerprint_detail, StoredResponse{}, now,
                                          req.key_retention);
    if (!inserted.ok()) return inserted.status();
    if (!*inserted) {
      auto cur = SelectRecord(c, key);
      if (!cur.ok()) return cur.status();
      if (!cur->has_value()) return Status(Code::kUnavailable, "accept job: the key's record vanished; retry");
      out.status = JobAcceptStatus::kKeyExists;
      out.existing = std::move(**cur);
      return out;
    }
  }
  auto refuse = [&]() -> Result<JobAcceptResult> {
    if (req.has_key) {
      auto n = Change(c, "DELETE FROM idem_keys WHERE tenant=?1 AND route=?2 AND key=?3",
                      [&](Stmt& s) { s.Bind(1, key.tenant).Bind(2, key.route).Bind(3, key.key); });
      if (!n.ok()) return n.status();
    }
    return out;
  };
  bool has_producer = !req.producer_id.empty();
  if (has_producer) {
    auto fresh = CheckProducer(c, req, out, now);
    if (!fresh.ok()) return fresh.status();
    if (!*fresh) return refuse();
  }
  if (req.max_pending > 0) {
    auto buf = SelectBuffer(c, req.route, /*lock=*/true);
    if (!buf.ok()) return buf.status();
    if (buf->pending + static_cast<int64_t>(req.items.size()) > req.max_pending) {
      out.status = JobAcceptStatus::kFull;
      out.pending = buf->pending;
      return refuse();
    }
  }

  JobSummary& sum = out.summary;
  sum.job_id = req.job_id;
  sum.items = req.total_items;
  std::string headers = HeadersToText(req.headers);
  for (const JobItem& item : req.items) {
    std::string id = req.job_id + "-" + std::to_string(item.position);
    auto taken = TakeItemKey(c, req.tenant, req.route, item.key, id, req.dedup_window, now);
    if (!taken.ok()) return taken.status();
    auto n = Change(
        c,
        "INSERT INTO commands (id, tenant, route, idem_key, method, target, headers, body, upstream_key, status, "
        "next_attempt_at, due_at, created_at, updated_at, budget_from, finished_at, expires_at, job_id, item_pos, "
        "item_key) VALUES (?1,?2,?3,'',?4,?5,?6,?7,?8,?9,?10,?10,?10,?10,?10,?11,?12,?13,?14,?15)",
        [&](Stmt& s) {
          s.Bind(1, id).Bind(2, req.tenant).Bind(3, req.route).Bind(4, req.method).Bind(5, req.target);
          s.Bind(6, headers).BindBlob(7, item.body).Bind(8, item.upstream_key);
          s.Bind(9, std::string(*taken ? "accepted" : "duplicate")).Bind(10, now);
          s.Bind(11, *taken ? int64_t{0} : now).Bind(12, *taken ? int64_t{0} : now + req.retention);
          s.Bind(13, req.job_id).Bind(14, item.position).Bind(15, item.key);
        });
    if (!n.ok()) return n.status();
    if (*taken) {
      ++sum.accepted;
    } else {
      ++sum.duplicates;
      sum.duplicate_positions.push_back(item.position);
    }
  }
  if (sum.accepted > 0) {
    if (auto s = AddPending(c, req.route, sum.accepted); !s.ok()) return s;
  }
  out.response = req.respond(sum);
  auto n = Change(c,
                  "INSERT INTO jobs (id, tenant, route, producer_id, producer_seq, items, accepted, duplicates, "
                  "rejected, response_status, response_headers, response_body, created_at, expires_at, dedup_ms, "
                  "retention_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)",
                  [&](Stmt& s) {
                    s.Bind(1, req.job_id).Bind(2, req.tenant).Bind(3, req.route);
                    if (has_producer) s.Bind(4, req.producer_id);
                    else s.BindNull(4);
                    s.Bind(5, req.producer_seq).Bind(6, req.total_items).Bind(7, sum.accepted);
                    s.Bind(8, sum.duplicates).Bind(9, RejectedToText(req.rejected));
                    s.Bind(10, static_cast<int64_t>(out.response.status)).Bind(11, HeadersToText(out.response.headers));
                    s.BindBlob(12, out.response.body).Bind(13, now).Bind(14, now + req.retention);
                    s.Bind(15, req.dedup_window).Bind(16, req.retention);
                  });
  if (!n.ok()) return n.status();
  if (has_producer) {
    auto p = Change(c,
                    "INSERT INTO producers (tenant, route, producer_id, last_seq, updated_at) VALUES (?1,?2,?3,?4,?5) "
                    "ON CONFLICT (tenant, route, producer_id) DO UPDATE SET last_seq=excluded.last_seq, "
                    "updated_at=excluded.updated_at",
                    [&](Stmt& s) {
                      s.Bind(1, req.tenant).Bind(2, req.route).Bind(3, req.producer_id);
                      s.Bind(4, req.producer_seq).Bind(5, now);
                    });
    if (!p.ok()) return p.status();
  }
  if (req.has_key) {
    auto k = Change(c,
                    "UPDATE idem_keys SET status=?4, headers=?5, body=?6 WHERE tenant=?1 AND route=?2 AND key=?3",
                    [&](Stmt& s) {
                      s.Bind(1, key.tenant).Bind(2, key.route).Bind(3, key.key);
                      s.Bind(4, static_cast<int64_t>(out.response.status)).Bind(5, HeadersToText(out.response.headers));
                      s.BindBlob(6, out.response.body);
                    });
    if (!k.ok()) return k.status();
  }
  return out;
}

Status FinishItem(Conn& c, const std::string& id, const std::string& tenant, const std::string& route,
                  const std::string& item_key, SubmissionStatus status, Millis now) {
  if (auto s = AddPending(c, route, -1); !s.ok()) return s;
  auto n = status == SubmissionStatus::kSucceeded
               ? Change(c,
                        "UPDATE item_keys SET expires_at = ?5 + dedup_ms WHERE tenant=?1 AND route=?2 "
                        "AND item_key=?3 AND command_id=?4",
                        [&](Stmt& s) { s.Bind(1, tenant).Bind(2, route).Bind(3, item_key).Bind(4, id).Bind(5, now); })
               : Change(c, "DELETE FROM item_keys WHERE tenant=?1 AND route=?2 AND item_key=?3 AND command_id=?4",
                        [&](Stmt& s) { s.Bind(1, tenant).Bind(2, route).Bind(3, item_key).Bind(4, id); });
  return n.ok() ? Status::Ok() : n.status();
}

Status RequeueItem(Conn& c, const Command& item, Millis now) {
  // The windows are the ones the job was accepted with.
  auto job = c.Prepare("SELECT dedup_ms, retention_ms FROM jobs WHERE id = ?1");
  if (!job.ok()) return job.status();
  job->Bind(1, item.job_id);
  Millis dedup = 86'400'000, retention = 604'800'000;
  if (int rc = job->Step(); rc == kRow) {
    dedup = job->Int(0);
    retention = job->Int(1);
  } else if (rc != kDone) {
    return c.Error("job windows");
  }
  auto taken = TakeItemKey(c, item.tenant, item.route, item.item_key, item.id, dedup, now);
  if (!taken.ok()) return taken.status();
  if (!*taken) {  // another item holds the key now: this one must not be sent
    auto n = Change(c,
                    "UPDATE commands SET status='duplicate', due_at=0, finished_at=?2, expires_at=?3 WHERE id=?1",
                    [&](Stmt& s) { s.Bind(1, item.id).Bind(2, now).Bind(3, now + retention); });
    return n.ok() ? Status::Ok() : n.status();
  }
  return AddPending(c, item.route, 1);
}

Result<std::optional<Job>> SelectJob(Conn& c, const std::string& id) {
  std::optional<Job> out;
  {
    auto st = c.Prepare(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?1");
    if (!st.ok()) return st.status();
    st->Bind(1, id);
    int rc = st->Step();
    if (rc == kDone) return out;
    if (rc != kRow) return c.Error("job");
    out = ReadJob(*st);
  }
  if (auto s = FillCounts(c, *out); !s.ok()) return s;
  return out;
}

Result<std::vector<Job>> SelectJobs(Conn& c, const JobFilter& f) {
  std::vector<Job> out;
  {
    auto st = c.Prepare(std::string("SELECT ") + kJobColumns +
                        " FROM jobs WHERE (?1 = '' OR route = ?1) AND (?2 = 0 OR seq < ?2) AND (?4 = '' OR tenant = ?4) "
                        "ORDER BY seq DESC LIMIT ?3");
    if (!st.ok()) return st.status();
    st->Bind(1, f.route).Bind(2, f.before_seq).Bind(3, static_cast<int64_t>(f.limit)).Bind(4, f.tenant);
    for (;;) {
      int rc = st->Step();
      if (rc == kDone) break;
      if (rc != kRow) return c.Error("jobs");
      out.push_back(ReadJob(*st));
    }
  }
  for (Job& j : out) {
    if (auto s = FillCounts(c, j); !s.ok()) return s;
  }
  return out;
}

Result<std::vector<std::string>> SelectReplayableItems(Conn& c, const std::string& job_id) {
  auto st = c.Prepare("SELECT id FROM commands WHERE job_id = ?1 AND status IN ('failed','dead') ORDER BY item_pos");
  if (!st.ok()) return st.status();
  st->Bind(1, job_id);
  std::vector<std::string> out;
  for (;;) {
    int rc = st->Step();
    if (rc == kDone) break;
    if (rc != kRow) return c.Error("replayable items");
    out.push_back(st->Text(0));
  }
  return out;
}

Result<BufferState> SelectBuffer(Conn& c, const std::string& route, bool lock) {
  if (lock) {  // the row must exist to be locked
    auto n = Change(c, "INSERT INTO buffers (route) VALUES (?1) ON CONFLICT (route) DO NOTHING",
                    [&](Stmt& s) { s.Bind(1, route); });
    if (!n.ok()) return n.status();
  }
  auto st = c.Prepare(std::string("SELECT pending, paused FROM buffers WHERE route = ?1") + (lock ? c.ForUpdate() : ""));
  if (!st.ok()) return st.status();
  st->Bind(1, route);
  BufferState b;
  int rc = st->Step();
  if (rc == kRow) {
    b.pending = st->Int(0);
    b.paused = st->Int(1) != 0;
  } else if (rc != kDone) {
    return c.Error("buffer");
  }
  return b;
}

Result<bool> UpdatePaused(Conn& c, const std::string& route, bool paused) {
  auto n = Change(c,
                  "INSERT INTO buffers (route, paused) VALUES (?1, ?2) ON CONFLICT (route) DO UPDATE SET paused = ?2",
                  [&](Stmt& s) { s.Bind(1, route).Bind(2, int64_t{paused ? 1 : 0}); });
  if (!n.ok()) return n.status();
  return true;
}

Result<int> DeleteExpiredJobs(Conn& c, int batch, Millis now) {
  auto k = Change(c,
                  "DELETE FROM item_keys WHERE (tenant, route, item_key) IN (SELECT tenant, route, item_key "
                  "FROM item_keys WHERE expires_at > 0 AND expires_at <= ?1 LIMIT ?2)",
                  [&](Stmt& s) { s.Bind(1, now).Bind(2, static_cast<int64_t>(batch)); });
  if (!k.ok()) return k.status();
  auto j = Change(c,
                  "DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs j WHERE expires_at <= ?1 AND NOT EXISTS "
                  "(SELECT 1 FROM commands c WHERE c.job_id = j.id AND c.status IN ('accepted','processing')) "
                  "LIMIT ?2)",
                  [&](Stmt& s) { s.Bind(1, now).Bind(2, static_cast<int64_t>(batch)); });
  if (!j.ok()) return j.status();
  return *k + *j;
}

}  // namespace writ::sql
