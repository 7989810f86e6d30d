#include "store/key_store.h"

#include "store/sql/keys.h"

namespace writ {

using namespace sql;  // Conn, Stmt and the shared queries

SchemaStep KeysSchemaStep();  // keys_schema.cpp
SchemaStep KeyStore::Schema() { return KeysSchemaStep(); }

const char* KeyStateName(KeyState s) {
  switch (s) {
    case KeyState::kInFlight: return "in_flight";
    case KeyState::kCompleted: return "completed";
    case KeyState::kUnknown: return "unknown";
  }
  return "?";
}

std::optional<KeyState> ParseKeyState(const std::string& s) {
  if (s == "in_flight") return KeyState::kInFlight;
  if (s == "completed") return KeyState::kCompleted;
  if (s == "unknown") return KeyState::kUnknown;
  return std::nullopt;
}

namespace {
// A write that reports whether it changed a row.
Result<bool> Changed(Result<int> n) {
  if (!n.ok()) return n.status();
  return *n > 0;
}
}  // namespace

Result<std::optional<IdempotencyRecord>> KeyStore::Lookup(const KeyId& id) {
  return ReadFor<std::optional<IdempotencyRecord>>(db_, [&](Conn& c) { return SelectRecord(c, id); });
}

Result<std::vector<IdempotencyRecord>> KeyStore::List(std::optional<KeyState> state, const std::string& route,
                                                      int limit) {
  return ReadFor<std::vector<IdempotencyRecord>>(db_, [&](Conn& c) {
    return QueryRows<IdempotencyRecord>(
        c,
        std::string("SELECT ") + kKeyColumns +
            " FROM idem_keys WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR route = ?2) "
            "ORDER BY updated_at DESC LIMIT ?3",
        [&](Stmt& s) {
          s.Bind(1, std::string(state ? KeyStateName(*state) : "")).Bind(2, route).Bind(3, int64_t{limit});
        },
        &ReadRecord);
  });
}

Result<KeyCounts> KeyStore::Counts() {
  return ReadFor<KeyCounts>(db_, [&](Conn& c) -> Result<KeyCounts> {
    auto st = c.Prepare("SELECT state, count(*) FROM idem_keys GROUP BY state");
    if (!st.ok()) return st.status();
    KeyCounts k;
    for (int rc; (rc = st->Step()) != kDone;) {
      if (rc != kRow) return c.Error("count keys");
      auto s = ParseKeyState(st->Text(0));
      if (s == KeyState::kInFlight) k.in_flight = st->Int(1);
      if (s == KeyState::kCompleted) k.completed = st->Int(1);
      if (s == KeyState::kUnknown) k.unknown = st->Int(1);
    }
    return k;
  });
}

void KeyStore::Claim(ClaimRequest req, Callback<ClaimResult> done) {
  bool durable = req.durable;
  Database& db = db_;
  SubmitFor<ClaimResult>(
      db_,
      [&db, req = std::move(req)](Conn& c) -> Result<ClaimResult> {
        ClaimResult out;
        Millis now = db.Now();
        // Insert-if-absent first: another instance may claim the same key at
        // the same moment; the database lets exactly one insert through.
        auto n = Change(c,
                        std::string("INSERT INTO idem_keys (") + kKeyColumns +
                            ") VALUES (?1,?2,?3,'in_flight',?4,?5,1,1,?6,?6,?7,?8,0,'',?9) "
                            "ON CONFLICT (tenant, route, key) DO NOTHING",
                        [&](Stmt& s) {
                          s.Bind(1, req.id.tenant).Bind(2, req.id.route).Bind(3, req.id.key);
                          s.Bind(4, req.fingerprint).Bind(5, req.fingerprint_detail);
                          s.Bind(6, now).Bind(7, now + req.lease).Bind(8, now + req.retention);
                          s.BindBlob(9, std::string());
                        });
        if (!n.ok()) return n.status();
        if (*n == 1) {
          out.claimed = true;
          out.fence = 1;
          return out;
        }
        auto cur = SelectRecord(c, req.id, /*lock=*/true);
        if (!cur.ok()) return cur.status();
        if (!cur->has_value()) return Status(Code::kUnavailable, "claim: the key's record vanished; retry");
        IdempotencyRecord& rec = **cur;
        bool expired = rec.state == KeyState::kInFlight && rec.lease_until <= now;
        if (rec.fingerprint != req.fingerprint || !expired) {
          out.existing = std::move(rec);
          return out;
        }
        if (req.park_on_takeover) {
          auto p = Change(c,
                          "UPDATE idem_keys SET state='unknown', expires_at=NULL, updated_at=?4 "
                          "WHERE tenant=?1 AND route=?2 AND key=?3",
                          [&](Stmt& s) {
                            s.Bind(1, req.id.tenant).Bind(2, req.id.route).Bind(3, req.id.key).Bind(4, now);
                          });
          if (!p.ok()) return p.status();
          rec.state = KeyState::kUnknown;
          rec.expires_at = 0;
          out.existing = std::move(rec);
          return out;
        }
        // Take over only the lease just read: a holder that moved on wins.
        auto t = Change(c,
                        "UPDATE idem_keys SET fence=fence+1, attempts=attempts+1, lease_until=?4, "
                        "updated_at=?5 WHERE tenant=?1 AND route=?2 AND key=?3 AND fence=?6 AND state='in_flight'",
                        [&](Stmt& s) {
                          s.Bind(1, req.id.tenant).Bind(2, req.id.route).Bind(3, req.id.key);
                          s.Bind(4, now + req.lease).Bind(5, now).Bind(6, rec.fence);
                        });
        if (!t.ok()) return t.status();
        if (*t == 0) {
          out.existing = std::move(rec);
          return out;
        }
        out.claimed = true;
        out.took_over = true;
        out.fence = rec.fence + 1;
        return out;
      },
      std::move(done), durable);
}

void KeyStore::Complete(KeyId id, int64_t fence, StoredResponse resp, Millis retention, Callback<bool> done) {
  Database& db = db_;
  SubmitFor<bool>(
      db_,
      [&db, id = std::move(id), fence, resp = std::move(resp), retention](Conn& c) {
        Millis now = db.Now();
        return Changed(Change(c,
                              "UPDATE idem_keys SET state='completed', status=?5, headers=?6, body=?7, "
                              "updated_at=?8, expires_at=?9 WHERE tenant=?1 AND route=?2 AND key=?3 "
                              "AND fence=?4 AND state='in_flight'",
                              [&](Stmt& s) {
                                s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key).Bind(4, fence);
                                s.Bind(5, static_cast<int64_t>(resp.status)).Bind(6, HeadersToText(resp.headers));
                                s.BindBlob(7, resp.body).Bind(8, now).Bind(9, now + retention);
                              }));
      },
      std::move(done));
}

void KeyStore::Release(KeyId id, int64_t fence, Callback<bool> done) {
  SubmitFor<bool>(
      db_,
      [id = std::move(id), fence](Conn& c) {
        return Changed(Change(c,
                              "DELETE FROM idem_keys WHERE tenant=?1 AND route=?2 AND key=?3 AND fence=?4 "
                              "AND state='in_flight'",
                              [&](Stmt& s) {
                                s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key).Bind(4, fence);
                              }));
      },
      std::move(done), /*durable=*/false);
}

void KeyStore::MarkUnknown(KeyId id, int64_t fence, Callback<bool> done) {
  Database& db = db_;
  SubmitFor<bool>(
      db_,
      [&db, id = std::move(id), fence](Conn& c) {
        return Changed(Change(c,
                              "UPDATE idem_keys SET state='unknown', expires_at=NULL, updated_at=?5 "
                              "WHERE tenant=?1 AND route=?2 AND key=?3 AND fence=?4 AND state='in_flight'",
                              [&](Stmt& s) {
                                s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key).Bind(4, fence);
                                s.Bind(5, db.Now());
                              }));
      },
      std::move(done));
}

void KeyStore::Remove(KeyId id, Callback<bool> done) {
  SubmitFor<bool>(
      db_,
      [id = std::move(id)](Conn& c) {
        return Changed(Change(c, "DELETE FROM idem_keys WHERE tenant=?1 AND route=?2 AND key=?3",
                              [&](Stmt& s) { s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key); }));
      },
      std::move(done));
}

Result<int> KeyStore::DeleteExpired(Conn& c, int batch, Millis now) {
  // Never delete an in-flight record whose holder still has a lease.
  return Change(c,
                "DELETE FROM idem_keys WHERE id IN (SELECT id FROM idem_keys "
                "WHERE expires_at IS NOT NULL AND expires_at <= ?1 "
                "AND (state != 'in_flight' OR lease_until <= ?1) LIMIT ?2)",
                [&](Stmt& s) { s.Bind(1, now).Bind(2, static_cast<int64_t>(batch)); });
}

Result<ClaimResult> ClaimSync(KeyStore& s, ClaimRequest req) {
  return Wait<ClaimResult>([&](auto cb) { s.Claim(std::move(req), cb); });
}
Result<bool> CompleteSync(KeyStore& s, KeyId id, int64_t fence, StoredResponse r, Millis retention) {
  return Wait<bool>([&](auto cb) { s.Complete(std::move(id), fence, std::move(r), retention, cb); });
}
Result<bool> ReleaseSync(KeyStore& s, KeyId id, int64_t fence) {
  return Wait<bool>([&](auto cb) { s.Release(std::move(id), fence, cb); });
}
Result<bool> MarkUnknownSync(KeyStore& s, KeyId id, int64_t fence) {
  return Wait<bool>([&](auto cb) { s.MarkUnknown(std::move(id), fence, cb); });
}
Result<bool> RemoveSync(KeyStore& s, KeyId id) {
  return Wait<bool>([&](auto cb) { s.Remove(std::move(id), cb); });
}

}  // namespace writ
