#include "patterns/copy/reconcile_store.h"

#include "core/hash.h"
#include "store/sql/conn.h"

namespace writ {

using namespace sql;  // Conn, Stmt, Change, QueryRows

namespace {

const char* const kSqliteSchema = R"sql(
CREATE TABLE IF NOT EXISTS reconciliations (
  id TEXT PRIMARY KEY,
  route TEXT NOT NULL,
  repair TEXT NOT NULL,                 -- report, master-wins, local-wins, restore
  dry_run INTEGER NOT NULL DEFAULT 0,
  started_by TEXT NOT NULL,             -- cli, schedule, api
  status TEXT NOT NULL,                 -- running, done, failed
  checkpoint TEXT NOT NULL DEFAULT '',  -- the last master id compared
  chunks INTEGER NOT NULL DEFAULT 0,
  compared INTEGER NOT NULL DEFAULT 0,
  missing_local INTEGER NOT NULL DEFAULT 0,
  missing_master INTEGER NOT NULL DEFAULT 0,
  differ INTEGER NOT NULL DEFAULT 0,
  repaired INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL DEFAULT '',
  lease_until INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS reconciliations_route ON reconciliations(route, created_at);
CREATE TABLE IF NOT EXISTS reconcile_mismatches (
  seq INTEGER PRIMARY KEY,
  reconciliation TEXT NOT NULL,
  entity TEXT NOT NULL,
  kind TEXT NOT NULL,                   -- missing_local, missing_master, differ
  pointers TEXT NOT NULL DEFAULT '',    -- JSON Pointers that differ, never values
  repaired INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS reconcile_mismatches_of ON reconcile_mismatches(reconciliation, seq);
)sql";

const char* const kPostgresSchema = R"sql(
CREATE TABLE IF NOT EXISTS reconciliations (
  id TEXT PRIMARY KEY,
  route TEXT NOT NULL,
  repair TEXT NOT NULL,
  dry_run BIGINT NOT NULL DEFAULT 0,
  started_by TEXT NOT NULL,
  status TEXT NOT NULL,
  checkpoint TEXT NOT NULL DEFAULT '',
  chunks BIGINT NOT NULL DEFAULT 0,
  compared BIGINT NOT NULL DEFAULT 0,
  missing_local BIGINT NOT NULL DEFAULT 0,
  missing_master BIGINT NOT NULL DEFAULT 0,
  differ BIGINT NOT NULL DEFAULT 0,
  repaired BIGINT NOT NULL DEFAULT 0,
  skipped BIGINT NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS reconciliations_route ON reconciliations(route, created_at);
CREATE TABLE IF NOT EXISTS reconcile_mismatches (
  seq BIGSERIAL PRIMARY KEY,
  reconciliation TEXT NOT NULL,
  entity TEXT NOT NULL,
  kind TEXT NOT NULL,
  pointers TEXT NOT NULL DEFAULT '',
  repaired BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS reconcile_mismatches_of ON reconcile_mismatches(reconciliation, seq);
)sql";

constexpr const char* kColumns =
    "id, route, repair, dry_run, started_by, status, checkpoint, chunks, compared, missing_local, missing_master, "
    "differ, repaired, skipped, error, owner, lease_until, created_at, updated_at, finished_at";

Reconciliation ReadRow(Stmt& s) {
  Reconciliation r;
  r.id = s.Text(0);
  r.route = s.Text(1);
  r.repair = s.Text(2);
  r.dry_run = s.Int(3) != 0;
  r.trigger = s.Text(4);
  r.status = s.Text(5);
  r.checkpoint = s.Text(6);
  r.chunks = s.Int(7);
  r.compared = s.Int(8);
  r.missing_local = s.Int(9);
  r.missing_master = s.Int(10);
  r.differ = s.Int(11);
  r.repaired = s.Int(12);
  r.skipped = s.Int(13);
  r.error = s.Text(14);
  r.owner = s.Text(15);
  r.lease_until = s.Int(16);
  r.created_at = s.Int(17);
  r.updated_at = s.Int(18);
  r.finished_at = s.Int(19);
  return r;
}

Result<std::optional<Reconciliation>> SelectOne(Conn& c, const std::string& id) {
  auto rows = QueryRows<Reconciliation>(
      c, std::string("SELECT ") + kColumns + " FROM reconciliations WHERE id=?1", [&](Stmt& s) { s.Bind(1, id); },
      &ReadRow);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<Reconciliation>();
  return std::optional<Reconciliation>(std::move(rows->front()));
}

Result<Reconciliation> Must(Result<std::optional<Reconciliation>> r) {
  if (!r.ok()) return r.status();
  if (!r->has_value()) return Status(Code::kNotFound, "no such reconciliation");
  return std::move(**r);
}

// A write on the store's writer, waited for (reconciliations run on their own thread).
template <typename T>
Result<T> Write(Database& db, std::function<Result<T>(Conn&)> work) {
  return Wait<T>([&](auto cb) { SubmitFor<T>(db, std::move(work), cb); });
}

}  // namespace

const char* MismatchKindName(MismatchKind k) {
  switch (k) {
    case MismatchKind::kMissingLocal:
      return "missing_local";
    case MismatchKind::kMissingMaster:
      return "missing_master";
    case MismatchKind::kDiffer:
      return "differ";
  }
  return "?";
}

SchemaStep ReconcileStore::Schema() { return {15, "reconciliations", kSqliteSchema, kPostgresSchema}; }

Result<Reconciliation> ReconcileStore::Create(const std::string& route, const std::string& repair, bool dry_run,
                                              const std::string& trigger, const std::string& owner, Millis ttl) {
  std::string id = TimeOrderedId("rec_", db_.Now());
  Database* db = &db_;
  return Write<Reconciliation>(db_, [=](Conn& c) -> Result<Reconciliation> {
    Millis now = db->Now();
    auto n = Change(c,
                    "INSERT INTO reconciliations (id, route, repair, dry_run, started_by, status, owner, lease_until, "
                    "created_at, updated_at) VALUES (?1,?2,?3,?4,?5,'running',?6,?7,?8,?8)",
                    [&](Stmt& s) {
                      s.Bind(1, id).Bind(2, route).Bind(3, repair).Bind(4, int64_t{dry_run ? 1 : 0}).Bind(5, trigger);
                      s.Bind(6, owner).Bind(7, now + ttl).Bind(8, now);
                    });
    if (!n.ok()) return n.status();
    return Must(SelectOne(c, id));
  });
}

Result<std::optional<Reconciliation>> ReconcileStore::Resume(const std::string& route, const std::string& owner,
                                                             Millis ttl) {
  Database* db = &db_;
  return Write<std::optional<Reconciliation>>(db_, [=](Conn& c) -> Result<std::optional<Reconciliation>> {
    Millis now = db->Now();
    auto ids = QueryRows<std::string>(
        c,
        "SELECT id FROM reconciliations WHERE route=?1 AND status='running' AND lease_until < ?2 ORDER BY created_at "
        "LIMIT 1",
        [&](Stmt& s) { s.Bind(1, route).Bind(2, now); }, +[](Stmt& s) { return s.Text(0); });
    if (!ids.ok()) return ids.status();
    if (ids->empty()) return std::optional<Reconciliation>();
    auto n =
        Change(c, "UPDATE reconciliations SET owner=?2, lease_until=?3, updated_at=?4 WHERE id=?1 AND lease_until < ?4",
               [&](Stmt& s) { s.Bind(1, ids->front()).Bind(2, owner).Bind(3, now + ttl).Bind(4, now); });
    if (!n.ok()) return n.status();
    if (*n == 0) return std::optional<Reconciliation>();
    return SelectOne(c, ids->front());
  });
}

Result<Reconciliation> ReconcileStore::Commit(const std::string& id, const std::string& owner,
                                              const ReconcileChunk& chunk, Millis ttl) {
  Database* db = &db_;
  int64_t ml = 0, mm = 0, df = 0;
  for (const auto& m : chunk.mismatches)
    (m.kind == MismatchKind::kMissingLocal ? ml : m.kind == MismatchKind::kMissingMaster ? mm : df)++;
  return Write<Reconciliation>(db_, [=, &chunk](Conn& c) -> Result<Reconciliation> {
    Millis now = db->Now();
    auto n = Change(c,
                    "UPDATE reconciliations SET checkpoint=?3, chunks=chunks+1, compared=compared+?4, "
                    "missing_local=missing_local+?5, missing_master=missing_master+?6, differ=differ+?7, "
                    "repaired=repaired+?8, skipped=skipped+?9, lease_until=?10, updated_at=?11 "
                    "WHERE id=?1 AND owner=?2 AND status='running'",
                    [&](Stmt& s) {
                      s.Bind(1, id).Bind(2, owner).Bind(3, chunk.checkpoint).Bind(4, chunk.compared).Bind(5, ml);
                      s.Bind(6, mm).Bind(7, df).Bind(8, chunk.repaired).Bind(9, chunk.skipped).Bind(10, now + ttl);
                      s.Bind(11, now);
                    });
    if (!n.ok()) return n.status();
    if (*n == 0) return Status(Code::kConflict, "the reconciliation's lease was lost (another runner resumed it)");
    for (const auto& m : chunk.mismatches) {
      auto ins = Change(c,
                        "INSERT INTO reconcile_mismatches (reconciliation, entity, kind, pointers, repaired) "
                        "VALUES (?1,?2,?3,?4,?5)",
                        [&](Stmt& s) {
                          s.Bind(1, id).Bind(2, m.entity).Bind(3, std::string(MismatchKindName(m.kind)));
                          s.Bind(4, m.pointers).Bind(5, int64_t{m.repaired ? 1 : 0});
                        });
      if (!ins.ok()) return ins.status();
    }
    return Must(SelectOne(c, id));
  });
}

Result<Reconciliation> ReconcileStore::Finish(const std::string& id, const std::string& owner,
                                              const std::string& error) {
  Database* db = &db_;
  return Write<Reconciliation>(db_, [=](Conn& c) -> Result<Reconciliation> {
    Millis now = db->Now();
    auto n = Change(c,
                    "UPDATE reconciliations SET status=?3, error=?4, finished_at=?5, updated_at=?5, lease_until=0 "
                    "WHERE id=?1 AND owner=?2 AND status='running'",
                    [&](Stmt& s) {
                      s.Bind(1, id).Bind(2, owner).Bind(3, std::string(error.empty() ? "done" : "failed"));
                      s.Bind(4, error).Bind(5, now);
                    });
    if (!n.ok()) return n.status();
    if (*n == 0) return Status(Code::kConflict, "the reconciliation's lease was lost (another runner resumed it)");
    return Must(SelectOne(c, id));
  });
}

Result<std::optional<Reconciliation>> ReconcileStore::Get(const std::string& id) {
  return ReadFor<std::optional<Reconciliation>>(db_, [&](Conn& c) { return SelectOne(c, id); });
}

Result<std::vector<Reconciliation>> ReconcileStore::List(const std::string& route, int limit) {
  return ReadFor<std::vector<Reconciliation>>(db_, [&](Conn& c) {
    std::string where = route.empty() ? "" : " WHERE route=?2";
    return QueryRows<Reconciliation>(
        c, std::string("SELECT ") + kColumns + " FROM reconciliations" + where + " ORDER BY created_at DESC LIMIT ?1",
        [&](Stmt& s) {
          s.Bind(1, int64_t{limit});
          if (!route.empty()) s.Bind(2, route);
        },
        &ReadRow);
  });
}

Result<std::vector<Mismatch>> ReconcileStore::Mismatches(const std::string& id, int64_t after, int limit) {
  return ReadFor<std::vector<Mismatch>>(db_, [&](Conn& c) {
    return QueryRows<Mismatch>(
        c,
        "SELECT entity, kind, pointers, repaired, seq FROM reconcile_mismatches WHERE reconciliation=?1 AND seq > ?2 "
        "ORDER BY seq LIMIT ?3",
        [&](Stmt& s) { s.Bind(1, id).Bind(2, after).Bind(3, int64_t{limit}); },
        +[](Stmt& s) {
          Mismatch m;
          m.entity = s.Text(0);
          std::string k = s.Text(1);
          m.kind = k == "missing_local"    ? MismatchKind::kMissingLocal
                   : k == "missing_master" ? MismatchKind::kMissingMaster
                                           : MismatchKind::kDiffer;
          m.pointers = s.Text(2);
          m.repaired = s.Int(3) != 0;
          m.seq = s.Int(4);
          return m;
        });
  });
}

Result<Millis> ReconcileStore::LastStarted(const std::string& route) {
  return ReadFor<Millis>(db_, [&](Conn& c) -> Result<Millis> {
    auto rows = QueryRows<int64_t>(
        c, "SELECT coalesce(max(created_at), 0) FROM reconciliations WHERE route=?1",
        [&](Stmt& s) { s.Bind(1, route); }, +[](Stmt& s) { return s.Int(0); });
    if (!rows.ok()) return rows.status();
    return rows->empty() ? Millis{0} : rows->front();
  });
}

}  // namespace writ
