// Conflicts of edge records (edge_store.h): reading the master's version
// after a 409/412, the route's policy on its answer, and an operator's
// resolutions; inside the transactions of the sync worker and `writ edge`.
#include <boost/json.hpp>

#include "core/hash.h"
#include "core/json.h"
#include "patterns/local_copy/edge_sql.h"
#include "store/command_queue.h"

namespace writ {
namespace edge_sql {

using namespace sql;  // Conn, Stmt, Change, QueryRows

namespace {

// A change Writ makes itself (a read of the master's version, a re-send):
// its id, derived key and header fields.
Command OwnChange(const EdgeRecord& r, Millis now) {
  Command cmd;
  cmd.id = TimeOrderedId("sub_", now);
  cmd.upstream_key = EdgeChangeKey(r.tenant, r.route, cmd.id);
  cmd.headers.emplace_back("Content-Type", "application/json");
  return cmd;
}

// Cancels the record's unsent changes (all but `keep`): its own state holds
// theirs, and what happens to it is now the conflict's business.
Status CancelOtherChanges(Conn& c, const EdgeRecord& r, const std::string& keep, Millis now, Millis retention,
                          const std::string& why) {
  auto n = Change(c,
                  "UPDATE commands SET status='cancelled', due_at=0, finished_at=?4, updated_at=?4, expires_at=?5, "
                  "last_error=?6 WHERE route=?1 AND ordering_key=?2 AND tenant=?3 AND id != ?7 AND lease_until=0 AND "
                  "status IN ('accepted','processing')",
                  [&](Stmt& s) {
                    s.Bind(1, r.route).Bind(2, r.id).Bind(3, r.tenant).Bind(4, now).Bind(5, now + retention);
                    s.Bind(6, why).Bind(7, keep);
                  });
  return n.ok() ? Status::Ok() : n.status();
}

// The master's version replaces the local one, which goes to the history.
// `master` is its JSON text, or "null": the master has no such record.
Status TakeMaster(Conn& c, const EdgeRecord& r, const std::string& master, const std::string& etag,
                  const std::string& why, Millis now) {
  auto h = Change(c,
                  "INSERT INTO edge_history (record_seq, version, data, deleted, reason, created_at) "
                  "VALUES (?1,?2,?3,?4,?5,?6)",
                  [&](Stmt& s) {
                    s.Bind(1, r.seq).Bind(2, r.version).BindBlob(3, r.data).Bind(4, int64_t{r.deleted ? 1 : 0});
                    s.Bind(5, why).Bind(6, now);
                  });
  if (!h.ok()) return h.status();
  bool gone = master == "null";
  auto n =
      Change(c,
             "UPDATE edge_records SET version=version+1, data=?2, deleted=?3, master_etag=?4, sync_status='synced', "
             "reason='', held=0, resent=0, master_data=?5, synced_at=?6, updated_at=?6 WHERE seq=?1",
             [&](Stmt& s) {
               s.Bind(1, r.seq).BindBlob(2, gone ? r.data : master).Bind(3, int64_t{gone ? 1 : 0}).Bind(4, etag);
               s.BindBlob(5, std::string()).Bind(6, now);
             });
  return n.ok() ? Status::Ok() : n.status();
}

// Holds the record for an operator: both versions are kept.
Status Hold(Conn& c, const EdgeRecord& r, const std::string& master, const std::string& etag,
            const std::string& reason) {
  auto n = Change(c,
                  "UPDATE edge_records SET sync_status='conflict', held=1, master_data=?2, master_etag=?3, reason=?4 "
                  "WHERE seq=?1",
                  [&](Stmt& s) { s.Bind(1, r.seq).BindBlob(2, master).Bind(3, etag).Bind(4, reason); });
  return n.ok() ? Status::Ok() : n.status();
}

// Queues the record's current state again (its create when the master has
// none): a local_wins re-send, an operator's take-local or resync.
Status SendAgain(Conn& c, const EdgeRecord& r, Command cmd, const std::string& update_method, Millis now) {
  EdgeWrite w;
  w.kind = r.deleted ? EdgeWrite::kDelete : EdgeWrite::kReplace;
  w.command = std::move(cmd);
  w.collection = r.collection;
  w.update_method = update_method;
  auto n = Change(c, "UPDATE edge_records SET sync_status='pending', reason='', held=0 WHERE seq=?1",
                  [&](Stmt& s) { s.Bind(1, r.seq); });
  if (!n.ok()) return n.status();
  EdgeWriteResult ignored;
  EdgeRecord copy = r;
  return QueueChange(c, w, copy, now, ignored);
}

}  // namespace

// The master answered an update or delete with 409/412: read its version.
Status ReadMasterVersion(Conn& c, const AttemptOutcome& o, const EdgeRecord& r, Millis now,
                         const EdgeSyncRules& rules) {
  if (auto s = CancelOtherChanges(c, r, o.id, now, o.retention, "superseded by the conflict on " + o.id); !s.ok())
    return s;
  Command cmd = OwnChange(r, now);
  cmd.headers = {{"Accept", "application/json"}};
  cmd.tenant = r.tenant;
  cmd.route = r.route;
  cmd.ordering_key = r.id;
  cmd.method = "GET";
  cmd.target = r.collection + "/{id}";
  auto queued = CommandQueue::Enqueue(c, std::move(cmd), false, now);
  if (!queued.ok()) return queued.status();
  bool manual = rules.on_conflict == ConflictPolicy::kManual;
  std::string reason = "the master answered " + std::to_string(o.response_status) +
                       ": it changed the record; reading its version (" + ConflictPolicyName(rules.on_conflict) + ")";
  auto n = Change(c,
                  "UPDATE edge_records SET sync_status=?2, reason=?3, answer_status=?4, answer_body=?5, collection=?6 "
                  "WHERE seq=?1",
                  [&](Stmt& s) {
                    s.Bind(1, r.seq).Bind(2, std::string(manual ? "conflict" : "pending")).Bind(3, reason);
                    s.Bind(4, int64_t{o.response_status}).BindBlob(5, o.response_body).Bind(6, r.collection);
                  });
  return n.ok() ? Status::Ok() : n.status();
}

// The answer to the read of the master's version, by the route's policy.
Status OnMasterVersion(Conn& c, const AttemptOutcome& o, const EdgeRecord& r, Millis now, const EdgeSyncRules& rules,
                       EdgeFinish* finish) {
  if (auto s = CancelOtherChanges(c, r, o.id, now, o.retention, "superseded by the conflict's resolution"); !s.ok())
    return s;
  std::string etag(FindHeader(o.response_headers, "ETag").value_or(""));
  std::string master;
  if (o.status == SubmissionStatus::kSucceeded) {
    auto doc = ParseJsonStrict(o.response_body);
    if (!doc.ok() || !doc->is_object())
      return Hold(c, r, "", etag, "the master's version of the record is not a JSON object; resolve with --take local");
    master = o.response_body;
  } else if (o.status == SubmissionStatus::kFailed && (o.response_status == 404 || o.response_status == 410)) {
    master = "null";
  } else if (o.status == SubmissionStatus::kFailed || o.status == SubmissionStatus::kDead) {
    return Hold(c, r, "", etag, "reading the master's version failed (" + o.error + "); resolve with --take local");
  } else {
    return Status::Ok();
  }
  if (master == "null" && r.deleted) {  // deleted on both sides: they agree
    auto n = Change(
        c, "UPDATE edge_records SET sync_status='synced', reason='', held=0, resent=0, synced_at=?2 WHERE seq=?1",
        [&](Stmt& s) { s.Bind(1, r.seq).Bind(2, now); });
    return n.ok() ? Status::Ok() : n.status();
  }
  if (rules.on_conflict == ConflictPolicy::kMasterWins) {
    if (finish) finish->lag = 0;
    return TakeMaster(c, r, master, etag, "master_wins", now);
  }
  if (rules.on_conflict == ConflictPolicy::kLocalWins && !r.resent) {
    // Once: the local state again, over the master's new ETag (or as a
    // create when the master no longer has the record).
    auto n = Change(c, "UPDATE edge_records SET master_etag=?2, resent=1, canonical_id=?3 WHERE seq=?1",
                    [&](Stmt& s) { s.Bind(1, r.seq).Bind(2, etag).Bind(3, master == "null" ? "" : r.canonical_id); });
    if (!n.ok()) return n.status();
    EdgeRecord again = r;
    if (master == "null") again.canonical_id.clear();
    return SendAgain(c, again, OwnChange(r, now), rules.update_method, now);
  }
  std::string reason = master == "null" ? "the master no longer has the record"
                                        : "the master changed the record: both versions are kept";
  if (rules.on_conflict == ConflictPolicy::kLocalWins) reason += " (it conflicted again after local_wins re-sent it)";
  return Hold(c, r, master, etag, reason + "; resolve with writ edge resolve --take local|master");
}

}  // namespace edge_sql

using namespace edge_sql;

namespace {

bool SameJson(const std::string& a, const std::string& b) {
  if (a == b) return true;
  auto x = ParseJsonStrict(a), y = ParseJsonStrict(b);
  return x.ok() && y.ok() && *x == *y;
}

// One master state into the copy (ApplyMaster's rules, edge_store.h).
Status ApplyOne(Conn& c, const std::string& tenant, const std::string& route, const std::string& collection,
                const MasterState& m, Millis read_since, Millis now, MasterApply& out) {
  auto cur = SelectRecord(c, tenant, route, m.id);
  if (!cur.ok()) return cur.status();
  if (!cur->has_value()) {
    if (m.deleted) {
      ++out.unchanged;
      return Status::Ok();
    }
    auto n =
        Change(c,
               "INSERT INTO edge_records (tenant, route, id, canonical_id, version, data, sync_status, "
               "master_etag, created_at, updated_at, synced_at, collection, origin) "
               "VALUES (?1,?2,?3,?3,1,?4,'synced',?5,?6,?6,?6,?7,'master') ON CONFLICT (tenant, route, id) DO NOTHING",
               [&](Stmt& s) {
                 s.Bind(1, tenant).Bind(2, route).Bind(3, m.id).BindBlob(4, m.data).Bind(5, m.etag);
                 s.Bind(6, now).Bind(7, collection);
               });
    if (!n.ok()) return n.status();
    if (*n == 1)
      ++out.inserted;
    else
      out.recheck.push_back(m.id);  // a local record took that id meanwhile
    return Status::Ok();
  }
  if (auto s = LockRecord(c, (*cur)->seq); !s.ok()) return s;
  cur = SelectRecord(c, tenant, route, (*cur)->id);
  if (!cur.ok()) return cur.status();
  if (!cur->has_value()) return Status::Ok();
  const EdgeRecord& r = **cur;
  // Once the copy holds the master's state again, no deferred state is owed.
  auto settled = [&]() -> Status {
    if (r.master_newer.empty() || r.pending > 0) return Status::Ok();
    auto n = Change(c, "UPDATE edge_records SET master_newer='' WHERE seq=?1", [&](Stmt& s) { s.Bind(1, r.seq); });
    return n.ok() ? Status::Ok() : n.status();
  };
  if (!m.force && !m.etag.empty() && m.etag == r.master_etag && !r.held) {
    ++out.unchanged;
    return settled();
  }
  if (r.held) {  // the operator decides with the master's latest version
    auto n = Change(c, "UPDATE edge_records SET master_data=?2, master_etag=?3 WHERE seq=?1", [&](Stmt& s) {
      s.Bind(1, r.seq).BindBlob(2, m.deleted ? std::string("null") : m.data).Bind(3, m.etag);
    });
    if (!n.ok()) return n.status();
    ++out.held;
    return Status::Ok();
  }
  if (r.pending > 0) {  // read again once the local writes are answered (their answers may be older)
    ++out.deferred;
    auto n = Change(c, "UPDATE edge_records SET master_newer=?2 WHERE seq=?1",
                    [&](Stmt& s) { s.Bind(1, r.seq).Bind(2, m.etag.empty() ? std::string("?") : m.etag); });
    return n.ok() ? Status::Ok() : n.status();
  }
  if (!m.force && r.synced_at > read_since) {  // the master took a change after the read began: which is newer?
    out.recheck.push_back(m.id);
    return Status::Ok();
  }
  if (m.deleted == r.deleted && (m.deleted || SameJson(m.data, r.data))) {
    auto n = Change(c, "UPDATE edge_records SET master_etag=?2, master_newer='' WHERE seq=?1",
                    [&](Stmt& s) { s.Bind(1, r.seq).Bind(2, m.etag); });
    if (!n.ok()) return n.status();
    ++out.unchanged;
    return Status::Ok();
  }
  ++out.updated;
  if (r.sync_status != SyncStatus::kSynced) {  // a local state the master never took: kept in the history
    if (auto st = settled(); !st.ok()) return st;
    return TakeMaster(c, r, m.deleted ? std::string("null") : m.data, m.etag, "refresh", now);
  }
  auto n = Change(c,
                  "UPDATE edge_records SET version=version+1, data=?2, deleted=?3, master_etag=?4, synced_at=?5, "
                  "updated_at=?5, master_newer='' WHERE seq=?1",
                  [&](Stmt& s) {
                    s.Bind(1, r.seq).BindBlob(2, m.deleted ? r.data : m.data).Bind(3, int64_t{m.deleted ? 1 : 0});
                    s.Bind(4, m.etag).Bind(5, now);
                  });
  return n.ok() ? Status::Ok() : n.status();
}

}  // namespace

void EdgeStore::ApplyMaster(const std::string& tenant, const std::string& route, const std::string& collection,
                            std::vector<MasterState> items, Millis read_since, std::function<Status(Conn&)> also,
                            Callback<MasterApply> done) {
  SubmitFor<MasterApply>(
      db_,
      [db = &db_, tenant, route, collection, items = std::move(items), read_since,
       also = std::move(also)](Conn& c) -> Result<MasterApply> {
        MasterApply out;
        Millis now = db->Now();
        for (const auto& m : items)
          if (auto s = ApplyOne(c, tenant, route, collection, m, read_since, now, out); !s.ok()) return s;
        if (also)
          if (auto s = also(c); !s.ok()) return s;
        return out;
      },
      std::move(done));
}

Result<std::vector<EdgeRecord>> EdgeStore::ListByCanonical(const std::string& tenant, const std::string& route,
                                                           const std::string& after, const std::string& upto) {
  return ReadFor<std::vector<EdgeRecord>>(db_, [&](Conn& c) {
    // Byte order on both backends (PostgreSQL's default collation is not).
    std::string col = c.postgres() ? "r.canonical_id COLLATE \"C\"" : "r.canonical_id";
    std::string where = " WHERE r.tenant=?1 AND r.route=?2 AND r.canonical_id != '' AND " + col + " > ?3";
    if (!upto.empty()) where += " AND " + col + " <= ?4";
    return SelectRecords(c, where + " ORDER BY " + col, [&](Stmt& s) {
      s.Bind(1, tenant).Bind(2, route).Bind(3, after);
      if (!upto.empty()) s.Bind(4, upto);
    });
  });
}

Result<int64_t> EdgeStore::Resend(const std::string& tenant, const std::string& route,
                                  const std::vector<LocalRepair>& items, const std::string& update_method) {
  return Wait<int64_t>([&](auto cb) {
    SubmitFor<int64_t>(
        db_,
        [db = &db_, tenant, route, items, update_method](Conn& c) -> Result<int64_t> {
          Millis now = db->Now();
          int64_t queued = 0;
          for (const auto& item : items) {
            auto cur = SelectRecord(c, tenant, route, item.id);
            if (!cur.ok()) return cur.status();
            if (!cur->has_value()) continue;
            if (auto s = LockRecord(c, (*cur)->seq); !s.ok()) return s;
            cur = SelectRecord(c, tenant, route, (*cur)->id);
            if (!cur.ok()) return cur.status();
            if (!cur->has_value() || (*cur)->pending > 0 || (*cur)->held || (*cur)->collection.empty()) continue;
            EdgeRecord r = std::move(**cur);
            if (!item.master_has_it) {
              if (r.deleted) continue;  // gone on both sides
              auto n = Change(c, "UPDATE edge_records SET canonical_id='', master_etag='' WHERE seq=?1",
                              [&](Stmt& s) { s.Bind(1, r.seq); });
              if (!n.ok()) return n.status();
              r.canonical_id.clear();
              r.master_etag.clear();
            } else if (!item.etag.empty()) {  // over the master's current version, which it replaces
              auto n = Change(c, "UPDATE edge_records SET master_etag=?2 WHERE seq=?1",
                              [&](Stmt& s) { s.Bind(1, r.seq).Bind(2, item.etag); });
              if (!n.ok()) return n.status();
              r.master_etag = item.etag;
            }
            if (auto s = SendAgain(c, r, OwnChange(r, now), update_method, now); !s.ok()) return s;
            ++queued;
          }
          return queued;
        },
        cb);
  });
}

Result<std::vector<EdgeHistoryEntry>> EdgeStore::History(const EdgeRecord& r) {
  return ReadFor<std::vector<EdgeHistoryEntry>>(db_, [&](Conn& c) {
    return QueryRows<EdgeHistoryEntry>(
        c, "SELECT version, data, deleted, reason, created_at FROM edge_history WHERE record_seq=?1 ORDER BY seq",
        [&](Stmt& s) { s.Bind(1, r.seq); },
        +[](Stmt& s) {
          return EdgeHistoryEntry{s.Int(0), s.Text(1), s.Int(2) != 0, s.Text(3), s.Int(4)};
        });
  });
}

Result<EdgeResolveStatus> EdgeStore::Resolve(const EdgeResolve& req) {
  Database& db = db_;
  return Wait<EdgeResolveStatus>([&](auto cb) {
    SubmitFor<EdgeResolveStatus>(
        db_,
        [&db, req](Conn& c) -> Result<EdgeResolveStatus> {
          Millis now = db.Now();
          auto cur = SelectRecord(c, req.tenant, req.route, req.id);
          if (!cur.ok()) return cur.status();
          if (!cur->has_value()) return EdgeResolveStatus::kNotFound;
          if (auto s = LockRecord(c, (*cur)->seq); !s.ok()) return s;
          cur = SelectRecord(c, req.tenant, req.route, (*cur)->id);
          if (!cur.ok()) return cur.status();
          if (!cur->has_value()) return EdgeResolveStatus::kNotFound;
          EdgeRecord r = std::move(**cur);
          if (r.collection.empty())
            return Status(Code::kInvalidArgument, "record '" + r.id +
                                                      "' was last written before schema version 12 and its collection "
                                                      "at the master is not known: write it again instead");
          Command cmd = req.command;
          if (cmd.upstream_key.empty()) cmd.upstream_key = EdgeChangeKey(r.tenant, r.route, cmd.id);
          switch (req.action) {
            case EdgeResolve::kTakeMaster:
              if (!r.held) return EdgeResolveStatus::kNotHeld;
              if (r.master_data.empty()) return EdgeResolveStatus::kNoMasterVersion;
              if (auto s = TakeMaster(c, r, r.master_data, r.master_etag, "take-master", now); !s.ok()) return s;
              return EdgeResolveStatus::kDone;
            case EdgeResolve::kTakeLocal:
              if (!r.held) return EdgeResolveStatus::kNotHeld;
              if (r.master_data == "null") {  // the master deleted it: the local state creates it anew
                if (r.deleted) {
                  auto n = Change(c,
                                  "UPDATE edge_records SET sync_status='synced', reason='', held=0, master_data=?2 "
                                  "WHERE seq=?1",
                                  [&](Stmt& s) { s.Bind(1, r.seq).BindBlob(2, std::string()); });
                  if (!n.ok()) return n.status();
                  return EdgeResolveStatus::kDone;
                }
                r.canonical_id.clear();
              }
              break;
            case EdgeResolve::kResync:
              if (r.held) return EdgeResolveStatus::kHeld;
              if (r.sync_status == SyncStatus::kPending || r.sync_status == SyncStatus::kSynced)
                return EdgeResolveStatus::kNotUnsynced;
              break;
          }
          auto n = Change(c, "UPDATE edge_records SET canonical_id=?2, resent=0, master_data=?3 WHERE seq=?1",
                          [&](Stmt& s) { s.Bind(1, r.seq).Bind(2, r.canonical_id).BindBlob(3, std::string()); });
          if (!n.ok()) return n.status();
          if (auto s = SendAgain(c, r, std::move(cmd), req.update_method, now); !s.ok()) return s;
          return EdgeResolveStatus::kDone;
        },
        std::move(cb));
  });
}

}  // namespace writ
