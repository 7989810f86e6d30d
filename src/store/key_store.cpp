#include "store/key_store.h"

#include "store/sql/keys.h"

namespace writ {

using namespace sql;  // Conn, Stmt and the shared queries

namespace {
// kKeyColumns, then the request.
IdempotencyRecord ReadRecordAndRequest(Stmt& s) {
  IdempotencyRecord r = ReadRecord(s);
  r.request = s.Text(16);
  return r;
}
}  // namespace

SchemaStep KeysSchemaStep();            // keys_schema.cpp
SchemaStep KeysGenerationSchemaStep();  // keys_schema.cpp
SchemaStep KeysOpenIndexSchemaStep();   // keys_schema.cpp
SchemaStep KeysRequestSchemaStep();     // keys_schema.cpp
SchemaStep KeyStore::Schema() { return KeysSchemaStep(); }
SchemaStep KeyStore::GenerationSchema() { return KeysGenerationSchemaStep(); }
SchemaStep KeyStore::OpenIndexSchema() { return KeysOpenIndexSchemaStep(); }
SchemaStep KeyStore::RequestSchema() { return KeysRequestSchemaStep(); }

const char* KeyStateName(KeyState s) {
  switch (s) {
    case KeyState::kInFlight: return "in_flight";
    case KeyState::kCompleted: return "completed";
    case KeyState::kUnknown: return "unknown";
    case KeyState::kReleased: return "released";
    case KeyState::kExpired: return "expired";
  }
  return "?";
}

std::optional<KeyState> ParseKeyState(const std::string& s) {
  if (s == "in_flight") return KeyState::kInFlight;
  if (s == "completed") return KeyState::kCompleted;
  if (s == "unknown") return KeyState::kUnknown;
  if (s == "released") return KeyState::kReleased;
  if (s == "expired") return KeyState::kExpired;
  return std::nullopt;
}

Result<std::optional<IdempotencyRecord>> KeyStore::Lookup(const KeyId& id) {
  Millis now = db_.Now();
  return ReadFor<std::optional<IdempotencyRecord>>(db_, [&](Conn& c) { return SelectLiveRecord(c, id, now); });
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

Result<std::vector<IdempotencyRecord>> KeyStore::Due(const std::string& route, KeyState state, int limit) {
  Millis now = db_.Now();
  return ReadFor<std::vector<IdempotencyRecord>>(db_, [&](Conn& c) {
    // The state term repeats the partial index's condition word for word,
    // which is what lets SQLite's planner use the index.
    return QueryRows<IdempotencyRecord>(c,
                                        std::string("SELECT ") + kKeyColumns +
                                            ", request FROM idem_keys WHERE route = ?1 AND state IN ('in_flight', 'unknown') "
                                            "AND state = ?4 AND lease_until <= ?2 ORDER BY lease_until LIMIT ?3",
                                        [&](Stmt& s) {
                                          s.Bind(1, route).Bind(2, now).Bind(3, int64_t{limit});
                                          s.Bind(4, std::string(KeyStateName(state)));
                                        },
                                        &ReadRecordAndRequest);
  });
}

void KeyStore::TakeOver(IdempotencyRecord rec, Millis lease, Callback<bool> done) {
  Database& db = db_;
  SubmitFor<bool>(
      db_,
      [&db, rec = std::move(rec), lease](Conn& c) {
        Millis now = db.Now();
        return Retake(c, rec, "in_flight", now + lease, now, rec.request);
      },
      std::move(done));
}

void KeyStore::DeferProbe(KeyId id, Millis at, Callback<bool> done) {
  SubmitFor<bool>(
      db_,
      [id = std::move(id), at](Conn& c) {
        return Changed(Change(c,
                              "UPDATE idem_keys SET lease_until=?4 WHERE tenant=?1 AND route=?2 AND key=?3 "
                              "AND state='unknown'",
                              [&](Stmt& s) { s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key).Bind(4, at); }));
      },
      std::move(done), /*durable=*/false);
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
      db_, [&db, req = std::move(req)](Conn& c) { return ClaimKey(c, req, db.Now()); }, std::move(done), durable);
}

void KeyStore::Complete(KeyId id, int64_t fence, StoredResponse resp, Millis retention, Callback<bool> done) {
  Database& db = db_;
  SubmitFor<bool>(
      db_,
      [&db, id = std::move(id), fence, resp = std::move(resp), retention](Conn& c) {
        Millis now = db.Now();
        return Changed(Change(c,
                              "UPDATE idem_keys SET state='completed', status=?5, headers=?6, body=?7, "
                              "updated_at=?8, expires_at=?9, request=NULL WHERE tenant=?1 AND route=?2 AND key=?3 "
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
  Database& db = db_;
  SubmitFor<bool>(
      db_,
      [&db, id = std::move(id), fence](Conn& c) {
        return Changed(Change(c,
                              "UPDATE idem_keys SET state='released', lease_until=0, updated_at=?5 "
                              "WHERE tenant=?1 AND route=?2 AND key=?3 AND fence=?4 AND state='in_flight'",
                              [&](Stmt& s) {
                                s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key).Bind(4, fence);
                                s.Bind(5, db.Now());
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
                              "UPDATE idem_keys SET state='unknown', expires_at=NULL, updated_at=?5, lease_until=?5 "
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

void KeyStore::Resolve(KeyId id, bool applied, StoredResponse answer, Millis retention, Callback<bool> done) {
  Database& db = db_;
  SubmitFor<bool>(
      db_,
      [&db, id = std::move(id), applied, answer = std::move(answer), retention](Conn& c) {
        Millis now = db.Now();
        if (!applied)
          return Changed(Change(c,
                                "UPDATE idem_keys SET state='released', lease_until=0, updated_at=?4, expires_at=?5 "
                                "WHERE tenant=?1 AND route=?2 AND key=?3 AND state='unknown'",
                                [&](Stmt& s) {
                                  s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key);
                                  s.Bind(4, now).Bind(5, now + retention);
                                }));
        return Changed(Change(c,
                              "UPDATE idem_keys SET state='completed', status=?4, headers=?5, body=?6, "
                              "updated_at=?7, expires_at=?8 WHERE tenant=?1 AND route=?2 AND key=?3 "
                              "AND state='unknown'",
                              [&](Stmt& s) {
                                s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key);
                                s.Bind(4, int64_t{answer.status}).Bind(5, HeadersToText(answer.headers));
                                s.BindBlob(6, answer.body).Bind(7, now).Bind(8, now + retention);
                              }));
      },
      std::move(done));
}

Result<int> KeyStore::DeleteExpired(Conn& c, int batch, Millis now) {
  // Never an in-flight record (its holder may have sent the request: if it
  // died, the record waits for a retry or the completer) nor an unknown one
  // (an operator resolves it). Completed and released records past their
  // retention lose their answer and stay as tombstones for as long again
  // (their generation numbers the key's next record); tombstones past that
  // are deleted.
  auto gone = Change(c,
                     "DELETE FROM idem_keys WHERE id IN (SELECT id FROM idem_keys "
                     "WHERE expires_at IS NOT NULL AND expires_at <= ?1 AND state = 'expired' LIMIT ?2)",
                     [&](Stmt& s) { s.Bind(1, now).Bind(2, static_cast<int64_t>(batch)); });
  if (!gone.ok() || *gone >= batch) return gone;
  auto tomb = Change(c,
                     "UPDATE idem_keys SET state='expired', status=0, headers='', body=?3, fingerprint_detail='{}', "
                     "updated_at=?1, expires_at=?1 + (expires_at - created_at) WHERE id IN (SELECT id FROM idem_keys "
                     "WHERE expires_at IS NOT NULL AND expires_at <= ?1 AND state IN ('completed', 'released') "
                     "LIMIT ?2)",
                     [&](Stmt& s) {
                       s.Bind(1, now).Bind(2, static_cast<int64_t>(batch - *gone)).BindBlob(3, std::string());
                     });
  if (!tomb.ok()) return tomb.status();
  return *gone + *tomb;
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
Result<bool> ResolveSync(KeyStore& s, KeyId id, bool applied, StoredResponse answer, Millis retention) {
  return Wait<bool>([&](auto cb) { s.Resolve(std::move(id), applied, std::move(answer), retention, cb); });
}

}  // namespace writ
