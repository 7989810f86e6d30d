#include "patterns/local_copy/edge_store.h"

#include <boost/json.hpp>

#include "core/hash.h"
#include "core/json.h"
#include "patterns/local_copy/edge_sql.h"
#include "store/sql/keys.h"
#include "store/sql/queue.h"

namespace writ {

using namespace sql;       // Conn, Stmt, Change, QueryRows and the key queries
using namespace edge_sql;  // SelectRecord, LockRecord, QueueChange; the conflict steps

namespace {

// The record's columns, then its unfinished changes: how many, and since when.
constexpr const char* kRecordColumns =
    "r.seq, r.tenant, r.route, r.id, r.canonical_id, r.version, r.data, r.deleted, r.sync_status, r.reason, "
    "r.master_etag, r.answer_status, r.answer_body, r.created_at, r.updated_at, r.synced_at, "
    "r.master_data, r.held, r.resent, r.collection, "
    "(SELECT count(*) FROM commands p WHERE p.route = r.route AND p.ordering_key = r.id AND p.tenant = r.tenant "
    "AND p.status IN ('accepted','processing')), "
    "(SELECT coalesce(min(p.created_at), 0) FROM commands p WHERE p.route = r.route AND p.ordering_key = r.id "
    "AND p.tenant = r.tenant AND p.status IN ('accepted','processing')), r.origin, r.master_newer";

EdgeRecord ReadRecord(Stmt& s) {
  EdgeRecord r;
  r.seq = s.Int(0);
  r.tenant = s.Text(1);
  r.route = s.Text(2);
  r.id = s.Text(3);
  r.canonical_id = s.Text(4);
  r.version = s.Int(5);
  r.data = s.Text(6);
  r.deleted = s.Int(7) != 0;
  r.sync_status = ParseSyncStatus(s.Text(8)).value_or(SyncStatus::kPending);
  r.reason = s.Text(9);
  r.master_etag = s.Text(10);
  r.answer_status = static_cast<int>(s.Int(11));
  r.answer_body = s.Text(12);
  r.created_at = s.Int(13);
  r.updated_at = s.Int(14);
  r.synced_at = s.Int(15);
  r.master_data = s.Text(16);
  r.held = s.Int(17) != 0;
  r.resent = s.Int(18) != 0;
  r.collection = s.Text(19);
  r.pending = s.Int(20);
  r.oldest_pending = s.Int(21);
  r.from_master = s.Text(22) == "master";
  r.master_newer = s.Text(23);
  return r;
}

// The record's unfinished changes, oldest first.
struct LiveChange {
  std::string id, method;
  Millis lease_until = 0;
  int unknown_attempt = 0;
  Millis created_at = 0;
};
Result<std::vector<LiveChange>> LiveChanges(Conn& c, const std::string& tenant, const std::string& route,
                                            const std::string& id) {
  return QueryRows<LiveChange>(
      c,
      std::string("SELECT id, method, lease_until, unknown_attempt, created_at FROM commands WHERE route=?1 AND "
                  "ordering_key=?2 AND tenant=?3 AND status IN ('accepted','processing') ORDER BY seq") +
          c.ForUpdate(),
      [&](Stmt& s) { s.Bind(1, route).Bind(2, id).Bind(3, tenant); },
      +[](Stmt& s) {
        return LiveChange{s.Text(0), s.Text(1), s.Int(2), static_cast<int>(s.Int(3)), s.Int(4)};
      });
}

KeyId WriteKey(const EdgeWrite& w) {
  return {w.tenant, w.route, (w.kind == EdgeWrite::kCreate ? std::string("create") : w.id) + ":" + w.key.key};
}

}  // namespace

namespace edge_sql {

// By id, or else by canonical id. The second condition spells out the
// partial index's own (canonical_id != ''): without it the planner cannot
// use edge_canonical for a bound value and scans every record.
Result<std::optional<EdgeRecord>> SelectRecord(Conn& c, const std::string& tenant, const std::string& route,
                                               const std::string& id) {
  for (const char* by : {"r.id=?3", "r.canonical_id=?3 AND r.canonical_id != ''"}) {
    auto rows = QueryRows<EdgeRecord>(
        c, std::string("SELECT ") + kRecordColumns + " FROM edge_records r WHERE r.tenant=?1 AND r.route=?2 AND " + by,
        [&](Stmt& s) { s.Bind(1, tenant).Bind(2, route).Bind(3, id); }, &ReadRecord);
    if (!rows.ok()) return rows.status();
    if (!rows->empty()) return std::optional<EdgeRecord>(std::move(rows->front()));
  }
  return std::optional<EdgeRecord>();
}

Result<std::vector<EdgeRecord>> SelectRecords(Conn& c, const std::string& where_order,
                                              const std::function<void(Stmt&)>& bind) {
  return QueryRows<EdgeRecord>(
      c, std::string("SELECT ") + kRecordColumns + " FROM edge_records r" + where_order, [&](Stmt& s) { bind(s); },
      &ReadRecord);
}

// Locks the record's row (PostgreSQL) for the rest of the transaction.
Status LockRecord(Conn& c, int64_t seq) {
  if (!c.postgres()) return Status::Ok();
  auto rows = QueryRows<int64_t>(
      c, "SELECT seq FROM edge_records WHERE seq=?1 FOR UPDATE", [&](Stmt& s) { s.Bind(1, seq); },
      +[](Stmt& s) { return s.Int(0); });
  return rows.ok() ? Status::Ok() : rows.status();
}

// Queues the record's change, or puts its state into the newest change if
// that one is still unsent. Sets `queued`/`coalesced` in `out`, and keeps
// `r`'s sync status and pending changes as they now stand. A record created
// in this transaction (`fresh`) has no changes yet.
Status QueueChange(Conn& c, const EdgeWrite& req, EdgeRecord& r, Millis now, EdgeWriteResult& out, bool fresh) {
  std::vector<LiveChange> live;
  if (!fresh) {
    auto rows = LiveChanges(c, r.tenant, r.route, r.id);
    if (!rows.ok()) return rows.status();
    live = std::move(*rows);
  }
  r.pending = static_cast<int64_t>(live.size());
  r.oldest_pending = live.empty() ? 0 : live.front().created_at;
  bool create_queued = false;
  for (const auto& ch : live) create_queued |= ch.method == "POST";
  if (req.kind != EdgeWrite::kDelete && !live.empty()) {
    const LiveChange& last = live.back();
    if (last.method != "DELETE" && last.method != "GET" && last.lease_until == 0 && last.unknown_attempt == 0) {
      auto n = Change(c,
                      "UPDATE commands SET body=?2, updated_at=?3 WHERE id=?1 AND lease_until=0 AND "
                      "unknown_attempt=0 AND status IN ('accepted','processing')",
                      [&](Stmt& s) { s.Bind(1, last.id).BindBlob(2, r.data).Bind(3, now); });
      if (!n.ok()) return n.status();
      if (*n == 1) {
        out.queued = out.coalesced = true;
        return Status::Ok();
      }
    }
  }
  bool created = !r.canonical_id.empty() || create_queued;
  // A record the master never had and will not get needs no delete.
  if (req.kind == EdgeWrite::kDelete && !created) {
    auto n = Change(c, "UPDATE edge_records SET sync_status='synced', reason='' WHERE seq=?1",
                    [&](Stmt& s) { s.Bind(1, r.seq); });
    if (!n.ok()) return n.status();
    r.sync_status = SyncStatus::kSynced;
    r.reason.clear();
    return Status::Ok();
  }
  if (req.collection.empty())
    return Status(Code::kInvalidArgument, "the collection of record '" + r.id + "' at the master is not known");
  Command cmd = req.command;
  cmd.tenant = r.tenant;
  cmd.route = r.route;
  cmd.ordering_key = r.id;
  if (!created) {
    cmd.method = "POST";
    cmd.target = req.collection;
    cmd.body = r.data;
  } else {
    cmd.method = req.kind == EdgeWrite::kDelete ? "DELETE" : req.update_method;
    cmd.target = req.collection + "/{id}";  // the master's id, put in when sent
    cmd.body = req.kind == EdgeWrite::kDelete ? "" : r.data;
  }
  auto queued = CommandQueue::Enqueue(c, std::move(cmd), false, now, now + req.send_delay);
  if (!queued.ok()) return queued.status();
  out.queued = true;
  ++r.pending;
  if (r.oldest_pending == 0) r.oldest_pending = now;
  return Status::Ok();
}

}  // namespace edge_sql

const char* SyncStatusName(SyncStatus s) {
  switch (s) {
    case SyncStatus::kPending:
      return "pending";
    case SyncStatus::kSynced:
      return "synced";
    case SyncStatus::kRejected:
      return "rejected";
    case SyncStatus::kConflict:
      return "conflict";
    case SyncStatus::kBlocked:
      return "blocked";
    case SyncStatus::kDead:
      return "dead";
  }
  return "?";
}

std::optional<SyncStatus> ParseSyncStatus(const std::string& s) {
  for (auto st : {SyncStatus::kPending, SyncStatus::kSynced, SyncStatus::kRejected, SyncStatus::kConflict,
                  SyncStatus::kBlocked, SyncStatus::kDead})
    if (s == SyncStatusName(st)) return st;
  return std::nullopt;
}

SchemaStep EdgeSchemaStep();             // edge_schema.cpp
SchemaStep EdgeConflictSchemaStep();     // edge_schema.cpp
SchemaStep EdgeOriginSchemaStep();       // edge_schema.cpp
SchemaStep EdgeMasterNewerSchemaStep();  // edge_schema.cpp
std::vector<SchemaStep> EdgeStore::Schema() {
  return {EdgeSchemaStep(), EdgeConflictSchemaStep(), EdgeOriginSchemaStep(), EdgeMasterNewerSchemaStep()};
}

const char* ConflictPolicyName(ConflictPolicy p) {
  switch (p) {
    case ConflictPolicy::kManual:
      return "manual";
    case ConflictPolicy::kMasterWins:
      return "master_wins";
    case ConflictPolicy::kLocalWins:
      return "local_wins";
  }
  return "?";
}

std::optional<ConflictPolicy> ParseConflictPolicy(const std::string& s) {
  for (auto p : {ConflictPolicy::kManual, ConflictPolicy::kMasterWins, ConflictPolicy::kLocalWins})
    if (s == ConflictPolicyName(p)) return p;
  return std::nullopt;
}

void EdgeStore::Write(EdgeWrite req, Callback<EdgeWriteResult> done) {
  Database& db = db_;
  SubmitFor<EdgeWriteResult>(
      db_,
      [&db, req = std::move(req)](Conn& c) -> Result<EdgeWriteResult> {
        EdgeWriteResult out;
        Millis now = db.Now();
        KeyId key_id = WriteKey(req);
        auto refuse = [&](EdgeWriteStatus s) -> Result<EdgeWriteResult> {
          if (req.key.has_key)
            if (auto g = GiveLocalKeyBack(c, key_id); !g.ok()) return g;
          out.status = s;
          return out;
        };
        // The record as this write leaves it is kept in memory (the hot path
        // reads nothing back): `r`, then QueueChange's pending changes.
        EdgeRecord& r = out.record;
        if (req.kind == EdgeWrite::kCreate) {
          // Everything the answer says is known before the insert: the key
          // is taken completed with it, in one statement.
          r.tenant = req.tenant;
          r.route = req.route;
          r.id = req.id;
          r.version = 1;
          r.data = req.data;
          r.created_at = r.updated_at = now;
          r.collection = req.collection;
          r.pending = 1;
          r.oldest_pending = now;
          if (req.respond) out.response = req.respond(r);
          if (req.key.has_key) {
            auto taken = TakeLocalKey(c, key_id, req.key, now, out.existing, out.response);
            if (!taken.ok()) return taken.status();
            if (!*taken) {
              out.status = EdgeWriteStatus::kKeyExists;
              return out;
            }
          }
          auto seq = QueryRows<int64_t>(
              c,
              "INSERT INTO edge_records (tenant, route, id, version, data, sync_status, created_at, updated_at, "
              "collection) VALUES (?1,?2,?3,1,?4,'pending',?5,?5,?6) ON CONFLICT (tenant, route, id) DO NOTHING "
              "RETURNING seq",
              [&](Stmt& s) {
                s.Bind(1, req.tenant).Bind(2, req.route).Bind(3, req.id).BindBlob(4, req.data);
                s.Bind(5, now).Bind(6, req.collection);
              },
              +[](Stmt& s) { return s.Int(0); });
          if (!seq.ok()) return seq.status();
          if (seq->empty()) {
            auto cur = SelectRecord(c, req.tenant, req.route, req.id);
            if (!cur.ok()) return cur.status();
            r = cur->has_value() ? std::move(**cur) : EdgeRecord{};
            out.response = {};
            return refuse(EdgeWriteStatus::kIdTaken);
          }
          r.seq = seq->front();
          if (auto s = QueueChange(c, req, r, now, out, /*fresh=*/true); !s.ok()) return s;
          return out;
        }
        if (req.key.has_key) {
          auto taken = TakeLocalKey(c, key_id, req.key, now, out.existing);
          if (!taken.ok()) return taken.status();
          if (!*taken) {
            out.status = EdgeWriteStatus::kKeyExists;
            return out;
          }
        }
        auto cur = SelectRecord(c, req.tenant, req.route, req.id);
        if (!cur.ok()) return cur.status();
        if (!cur->has_value() || (*cur)->deleted) return refuse(EdgeWriteStatus::kNotFound);
        if (c.postgres()) {
          // Lock, then read again (another instance may have written meanwhile).
          if (auto s = LockRecord(c, (*cur)->seq); !s.ok()) return s;
          cur = SelectRecord(c, req.tenant, req.route, (*cur)->id);
          if (!cur.ok()) return cur.status();
          if (!cur->has_value() || (*cur)->deleted) return refuse(EdgeWriteStatus::kNotFound);
        }
        r = std::move(**cur);
        if (req.expected_version != 0 && r.version != req.expected_version) return refuse(EdgeWriteStatus::kStale);
        bool del = req.kind == EdgeWrite::kDelete;
        // A record held in a conflict (manual) changes locally only, until
        // an operator resolves it.
        auto n = Change(c,
                        "UPDATE edge_records SET version=version+1, data=?2, deleted=?3, updated_at=?4, "
                        "collection=?5, sync_status=CASE WHEN held=1 THEN sync_status ELSE 'pending' END, "
                        "reason=CASE WHEN held=1 THEN reason ELSE '' END WHERE seq=?1",
                        [&](Stmt& s) {
                          s.Bind(1, r.seq).BindBlob(2, del ? r.data : req.data).Bind(3, int64_t{del ? 1 : 0});
                          s.Bind(4, now).Bind(5, req.collection);
                        });
        if (!n.ok()) return n.status();
        ++r.version;
        if (!del) r.data = req.data;
        r.deleted = del;
        r.updated_at = now;
        r.collection = req.collection;
        if (!r.held) {
          r.sync_status = SyncStatus::kPending;
          r.reason.clear();
          if (auto s = QueueChange(c, req, r, now, out); !s.ok()) return s;
        }
        if (req.respond) out.response = req.respond(r);
        if (req.key.has_key)
          if (auto s = SetLocalKeyAnswer(c, key_id, out.response); !s.ok()) return s;
        return out;
      },
      std::move(done));
}

Result<std::optional<EdgeRecord>> EdgeStore::Get(const std::string& tenant, const std::string& route,
                                                 const std::string& id) {
  return ReadFor<std::optional<EdgeRecord>>(db_, [&](Conn& c) { return SelectRecord(c, tenant, route, id); });
}

Result<std::vector<EdgeRecord>> EdgeStore::List(const EdgeFilter& f) {
  return ReadFor<std::vector<EdgeRecord>>(db_, [&](Conn& c) {
    // The conditions are spelled out (no "?3 = '' OR ..."), so that the
    // planner walks edge_list(route, sync_status, seq) instead of sorting
    // every record of the route.
    std::string where = " FROM edge_records r WHERE r.route=?1 AND r.seq > ?2 AND r.deleted = 0";
    int tenant_at = 0, status_at = 0, next = 4;
    if (!f.tenant.empty()) where += " AND r.tenant=?" + std::to_string(tenant_at = next++);
    if (f.status) where += " AND r.sync_status=?" + std::to_string(status_at = next++);
    return QueryRows<EdgeRecord>(
        c, std::string("SELECT ") + kRecordColumns + where + " ORDER BY r.seq LIMIT ?3",
        [&](Stmt& s) {
          s.Bind(1, f.route).Bind(2, f.after_seq).Bind(3, int64_t{f.limit});
          if (tenant_at) s.Bind(tenant_at, f.tenant);
          if (status_at) s.Bind(status_at, std::string(SyncStatusName(*f.status)));
        },
        &ReadRecord);
  });
}

namespace {
// Pending records of a route (and `also`), counted from the index edge_list.
Result<int64_t> CountPending(Conn& c, const std::string& route, const char* also) {
  auto rows = QueryRows<int64_t>(
      c, std::string("SELECT count(*) FROM edge_records WHERE route=?1 AND sync_status='pending'") + also,
      [&](Stmt& s) { s.Bind(1, route); }, +[](Stmt& s) { return s.Int(0); });
  if (!rows.ok()) return rows.status();
  return rows->empty() ? int64_t{0} : rows->front();
}
}  // namespace

Result<int64_t> EdgeStore::CreatesPending(const std::string& route) {
  return ReadFor<int64_t>(db_, [&](Conn& c) { return CountPending(c, route, " AND canonical_id=''"); });
}

Result<int64_t> EdgeStore::Pending(const std::string& route) {
  return ReadFor<int64_t>(db_, [&](Conn& c) { return CountPending(c, route, ""); });
}

Result<std::vector<std::string>> EdgeStore::DeferredMasterStates(const std::string& tenant, const std::string& route,
                                                                 int limit) {
  return ReadFor<std::vector<std::string>>(db_, [&](Conn& c) {
    // master_newer != '' spelled out: SQLite uses the partial index edge_master_newer only so.
    return QueryRows<std::string>(
        c,
        "SELECT r.id FROM edge_records r WHERE r.route=?1 AND r.master_newer != '' AND r.tenant=?2 AND r.held=0 "
        "AND NOT EXISTS (SELECT 1 FROM commands p WHERE p.route = r.route AND p.ordering_key = r.id AND "
        "p.tenant = r.tenant AND p.status IN ('accepted','processing')) ORDER BY r.seq LIMIT ?3",
        [&](Stmt& s) { s.Bind(1, route).Bind(2, tenant).Bind(3, int64_t{limit}); }, +[](Stmt& s) { return s.Text(0); });
  });
}

Result<EdgeCounts> EdgeStore::Counts(const std::string& route) {
  return ReadFor<EdgeCounts>(db_, [&](Conn& c) -> Result<EdgeCounts> {
    // Counted from the index edge_list alone: a dual copy of a million
    // synced records is counted on every scrape. The oldest pending
    // record's time reads the table, for pending records only.
    auto st = c.Prepare("SELECT sync_status, count(*) FROM edge_records WHERE route=?1 GROUP BY sync_status");
    if (!st.ok()) return st.status();
    st->Bind(1, route);
    EdgeCounts n;
    for (int rc; (rc = st->Step()) != kDone;) {
      if (rc != kRow) return c.Error("count edge records");
      switch (ParseSyncStatus(st->Text(0)).value_or(SyncStatus::kPending)) {
        case SyncStatus::kPending:
          n.pending = st->Int(1);
          break;
        case SyncStatus::kSynced:
          n.synced = st->Int(1);
          break;
        case SyncStatus::kRejected:
          n.rejected = st->Int(1);
          break;
        case SyncStatus::kConflict:
          n.conflict = st->Int(1);
          break;
        case SyncStatus::kBlocked:
          n.blocked = st->Int(1);
          break;
        case SyncStatus::kDead:
          n.dead = st->Int(1);
          break;
      }
    }
    if (n.pending > 0) {
      auto oldest = c.Prepare("SELECT min(updated_at) FROM edge_records WHERE route=?1 AND sync_status='pending'");
      if (!oldest.ok()) return oldest.status();
      oldest->Bind(1, route);
      if (oldest->Step() != kRow) return c.Error("find the oldest pending edge record");
      n.oldest_pending = oldest->Int(0);
    }
    return n;
  });
}

Status EdgeStore::OnChangeFinished(Conn& c, const AttemptOutcome& o, Millis now, const EdgeSyncRules& rules,
                                   EdgeFinish* finish) {
  struct Change_ {
    std::string tenant, route, record, method, target;
    Millis created_at;
  };
  auto rows = QueryRows<Change_>(
      c, "SELECT tenant, route, ordering_key, method, target, created_at FROM commands WHERE id=?1",
      [&](Stmt& s) { s.Bind(1, o.id); },
      +[](Stmt& s) { return Change_{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Int(5)}; });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::Ok();
  const Change_& ch = rows->front();
  auto cur = SelectRecord(c, ch.tenant, ch.route, ch.record);
  if (!cur.ok()) return cur.status();
  if (!cur->has_value() || (*cur)->id != ch.record) return Status::Ok();
  EdgeRecord& r = **cur;
  if (r.collection.empty()) {  // written before schema version 12: from the change's own target
    size_t slash = ch.target.rfind('/');
    r.collection = ch.method == "POST" || slash == std::string::npos ? ch.target : ch.target.substr(0, slash);
  }
  if (ch.method == "GET") return OnMasterVersion(c, o, r, now, rules, finish);
  // The change's own outcome is recorded already: `pending` counts the others.
  bool more = r.pending > 0;
  std::string status = "pending", reason, canonical = r.canonical_id, etag = r.master_etag;
  Millis synced_at = r.synced_at;
  if (o.status == SubmissionStatus::kSucceeded) {
    if (ch.method == "POST") {
      canonical = o.canonical_id;
      if (canonical.empty()) {
        status = "rejected";
        reason = "the master's answer to the create has no id at canonical_id";
      } else {
        // The master named a record Writ already maps to that id: never two
        // local records for one master record. Left for an operator.
        auto other = SelectRecord(c, ch.tenant, ch.route, canonical);
        if (!other.ok()) return other.status();
        // A dual copy's refresh may have loaded the new record before this
        // answer came: that copy is this record's, which takes its place.
        if (other->has_value() && (*other)->id != r.id && (*other)->from_master && (*other)->pending == 0 &&
            !(*other)->held) {
          auto gone = Change(c, "DELETE FROM edge_records WHERE seq=?1", [&](Stmt& s) { s.Bind(1, (*other)->seq); });
          if (!gone.ok()) return gone.status();
          other->reset();
        }
        if (other->has_value() && (*other)->id != r.id) {
          status = "conflict";
          reason = "the master answered the create with id '" + canonical + "', which record '" + (*other)->id +
                   "' already has";
          canonical.clear();
        }
      }
    }
    if (reason.empty() && ch.method == "POST") {
      // The temporary id now maps to the master's: an event in the create's
      // stream (GET /v1/submissions/{id}/events).
      std::string data = boost::json::serialize(
          boost::json::object{{"route", r.route}, {"id", r.id}, {"canonicalId", canonical}, {"submissionId", o.id}});
      if (auto s = InsertNamedEvent(c, o.id, r.route, "id.mapped", data, false, now); !s.ok()) return s;
    }
    if (reason.empty()) {
      if (!more) status = "synced";
      synced_at = now;
      etag = FindHeader(o.response_headers, "ETag").value_or("");
      if (!more && finish) finish->lag = std::max<Millis>(0, now - ch.created_at);
    }
  } else if (o.status == SubmissionStatus::kFailed) {
    reason = o.error;
    if (o.response_status == 0) {
      // Refused before any call (Prepared::kFail): a record it depends on
      // did not sync. A record already rejected or dead keeps that status.
      status = r.sync_status == SyncStatus::kRejected || r.sync_status == SyncStatus::kDead
                   ? SyncStatusName(r.sync_status)
                   : "blocked";
      if (status != "blocked") reason = r.reason;
    } else if (ch.method != "POST" && (o.response_status == 409 || o.response_status == 412)) {
      if (finish) finish->conflict = true;
      return ReadMasterVersion(c, o, r, now, rules);
    } else {
      status = "rejected";
    }
  } else if (o.status == SubmissionStatus::kDead) {
    status = "dead";
    reason = o.error;
  } else {
    return Status::Ok();
  }
  bool answered = o.response_status != 0;
  bool took = o.status == SubmissionStatus::kSucceeded;
  auto n =
      Change(c,
             "UPDATE edge_records SET canonical_id=?2, sync_status=?3, reason=?4, master_etag=?5, synced_at=?6, "
             "answer_status=CASE WHEN ?7 != 0 THEN ?7 ELSE answer_status END, "
             "answer_body=CASE WHEN ?7 != 0 THEN ?8 ELSE answer_body END, collection=?9, "
             "resent=CASE WHEN ?10 = 1 THEN 0 ELSE resent END, "
             "master_data=CASE WHEN ?10 = 1 THEN ?11 ELSE master_data END WHERE seq=?1",
             [&](Stmt& s) {
               s.Bind(1, r.seq).Bind(2, canonical).Bind(3, status).Bind(4, reason).Bind(5, etag);
               s.Bind(6, synced_at).Bind(7, int64_t{answered ? o.response_status : 0}).BindBlob(8, o.response_body);
               s.Bind(9, r.collection).Bind(10, int64_t{took ? 1 : 0}).BindBlob(11, std::string());
             });
  return n.ok() ? Status::Ok() : n.status();
}

Status EdgeStore::OnChangeRetried(Conn& c, const AttemptOutcome& o, Millis now) {
  if (o.outcome_unknown) return Status::Ok();
  struct Row {
    std::string tenant, route, record, method;
    int64_t unknown_attempt;
  };
  auto rows = QueryRows<Row>(
      c, "SELECT tenant, route, ordering_key, method, unknown_attempt FROM commands WHERE id=?1",
      [&](Stmt& s) { s.Bind(1, o.id); },
      +[](Stmt& s) {
        return Row{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4)};
      });
  if (!rows.ok()) return rows.status();
  if (rows->empty() || rows->front().unknown_attempt != 0 || rows->front().method == "DELETE" ||
      rows->front().method == "GET")
    return Status::Ok();
  const Row& me = rows->front();
  auto live = LiveChanges(c, me.tenant, me.route, me.record);
  if (!live.ok()) return live.status();
  std::vector<std::string> folded;
  bool after = false;
  for (const auto& ch : *live) {
    if (ch.id == o.id) {
      after = true;
      continue;
    }
    if (!after) continue;
    if (ch.method == "DELETE" || ch.method == "GET" || ch.lease_until != 0 || ch.unknown_attempt != 0) break;
    folded.push_back(ch.id);
  }
  if (folded.empty()) return Status::Ok();
  auto n = Change(c, "UPDATE commands SET body=(SELECT body FROM commands WHERE id=?2), updated_at=?3 WHERE id=?1",
                  [&](Stmt& s) { s.Bind(1, o.id).Bind(2, folded.back()).Bind(3, now); });
  if (!n.ok()) return n.status();
  for (const auto& id : folded) {
    auto m =
        Change(c,
               "UPDATE commands SET status='cancelled', due_at=0, finished_at=?2, updated_at=?2, expires_at=?3, "
               "last_error=?4 WHERE id=?1 AND status IN ('accepted','processing') AND lease_until=0",
               [&](Stmt& s) { s.Bind(1, id).Bind(2, now).Bind(3, now + o.retention).Bind(4, "folded into " + o.id); });
    if (!m.ok()) return m.status();
  }
  return Status::Ok();
}

std::string EdgeChangeKey(const std::string& tenant, const std::string& route, const std::string& change_id) {
  return "writ-edge-" + Sha256Hex(tenant + "\n" + route + "\n" + change_id).substr(0, 40);
}

Result<EdgeWriteResult> EdgeWriteSync(EdgeStore& s, EdgeWrite req) {
  return Wait<EdgeWriteResult>([&](auto cb) { s.Write(std::move(req), cb); });
}

}  // namespace writ
