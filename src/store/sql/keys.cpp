#include "store/sql/keys.h"

namespace writ::sql {

const char* const kKeyColumns =
    "tenant, route, key, state, fingerprint, fingerprint_detail, fence, attempts, created_at, "
    "updated_at, lease_until, expires_at, status, headers, body, generation";

IdempotencyRecord ReadRecord(Stmt& s) {
  IdempotencyRecord r;
  r.id = {s.Text(0), s.Text(1), s.Text(2)};
  r.state = ParseKeyState(s.Text(3)).value_or(KeyState::kInFlight);
  r.fingerprint = s.Text(4);
  r.fingerprint_detail = s.Text(5);
  r.fence = s.Int(6);
  r.attempts = static_cast<int>(s.Int(7));
  r.created_at = s.Int(8);
  r.updated_at = s.Int(9);
  r.lease_until = s.Int(10);
  r.expires_at = s.IsNull(11) ? 0 : s.Int(11);
  r.response.status = static_cast<int>(s.Int(12));
  r.response.headers = HeadersFromText(s.Text(13));
  r.response.body = s.Text(14);
  r.generation = s.Text(15);
  return r;
}

bool ExpiredCompleted(const IdempotencyRecord& r, Millis now) {
  return r.state == KeyState::kCompleted && r.expires_at != 0 && r.expires_at <= now;
}

bool AbsentOnLookup(const IdempotencyRecord& r, Millis now) {
  return ExpiredCompleted(r, now) || r.state == KeyState::kReleased || r.state == KeyState::kExpired;
}

std::string NextGeneration(const std::string& g) {
  return std::to_string((g.empty() ? 0 : std::stoll(g)) + 1);
}

namespace {
// The request column: NULL when none is kept.
void BindRequest(Stmt& s, int i, const std::string& request) {
  if (request.empty()) s.BindNull(i);
  else s.BindBlob(i, request);
}

bool ExpiredReleased(const IdempotencyRecord& r, Millis now) {
  return r.state == KeyState::kReleased && r.expires_at != 0 && r.expires_at <= now;
}

// Replaces a record that answers nothing (`old`: completed past its
// retention, a tombstone, or released for another request) with a new one,
// as if the key were unused: the next generation (so the master sees a new
// derived key), the fence moved on so no holder of the old record can write
// to the new one. Deterministic: if this transaction is lost in a crash,
// the retry computes the same generation from the same old record.
Result<bool> ReplaceAbsent(Conn& c, const IdempotencyRecord& old, const std::string& state,
                           const std::string& fingerprint, const std::string& detail, const StoredResponse& response,
                           Millis now, Millis lease_until, Millis retention, const std::string& request) {
  const KeyId& id = old.id;
  auto n = Change(c,
                  "UPDATE idem_keys SET state=?4, fingerprint=?5, fingerprint_detail=?6, fence=fence+1, attempts=1, "
                  "created_at=?7, updated_at=?7, lease_until=?8, expires_at=?9, status=?10, headers=?11, body=?12, "
                  "generation=?13, request=?15 WHERE tenant=?1 AND route=?2 AND key=?3 AND fence=?14",
                  [&](Stmt& s) {
                    s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key).Bind(4, state);
                    s.Bind(5, fingerprint).Bind(6, detail).Bind(7, now).Bind(8, lease_until);
                    s.Bind(9, now + retention).Bind(10, int64_t{response.status});
                    s.Bind(11, HeadersToText(response.headers)).BindBlob(12, response.body);
                    s.Bind(13, NextGeneration(old.generation)).Bind(14, old.fence);
                    BindRequest(s, 15, request);
                  });
  if (!n.ok()) return n.status();
  return *n > 0;
}
}  // namespace

Result<bool> Retake(Conn& c, const IdempotencyRecord& rec, const char* from, Millis lease_until, Millis now,
                    const std::string& request) {
  auto n = Change(c,
                  "UPDATE idem_keys SET state='in_flight', fence=fence+1, attempts=attempts+1, lease_until=?4, "
                  "updated_at=?5, request=?8 WHERE tenant=?1 AND route=?2 AND key=?3 AND fence=?6 AND state=?7",
                  [&](Stmt& s) {
                    s.Bind(1, rec.id.tenant).Bind(2, rec.id.route).Bind(3, rec.id.key);
                    s.Bind(4, lease_until).Bind(5, now).Bind(6, rec.fence).Bind(7, std::string(from));
                    BindRequest(s, 8, request);
                  });
  if (!n.ok()) return n.status();
  return *n > 0;
}

Result<std::optional<IdempotencyRecord>> SelectLiveRecord(Conn& c, const KeyId& id, Millis now) {
  auto rec = SelectRecord(c, id);
  if (!rec.ok() || !rec->has_value() || !AbsentOnLookup(**rec, now)) return rec;
  return std::optional<IdempotencyRecord>();
}

Result<std::optional<IdempotencyRecord>> SelectRecord(Conn& c, const KeyId& id, bool lock) {
  auto st = c.Prepare(std::string("SELECT ") + kKeyColumns + " FROM idem_keys WHERE tenant=?1 AND route=?2 AND key=?3" +
                      (lock ? c.ForUpdate() : ""));
  if (!st.ok()) return st.status();
  st->Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key);
  int rc = st->Step();
  if (rc == kRow) return std::optional<IdempotencyRecord>(ReadRecord(*st));
  if (rc == kDone) return std::optional<IdempotencyRecord>();
  return c.Error("select key");
}

Result<bool> InsertCompletedRecord(Conn& c, const KeyId& id, const std::string& fingerprint,
                                   const std::string& detail, const StoredResponse& response, Millis now,
                                   Millis retention, std::string* generation) {
  auto n = Change(c,
                  std::string("INSERT INTO idem_keys (") + kKeyColumns +
                      ") VALUES (?1,?2,?3,'completed',?4,?5,1,1,?6,?6,0,?7,?8,?9,?10,'') "
                      "ON CONFLICT (tenant, route, key) DO NOTHING",
                  [&](Stmt& s) {
                    s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key);
                    s.Bind(4, fingerprint).Bind(5, detail);
                    s.Bind(6, now).Bind(7, now + retention).Bind(8, int64_t{response.status});
                    s.Bind(9, HeadersToText(response.headers)).BindBlob(10, response.body);
                  });
  if (!n.ok()) return n.status();
  if (generation) generation->clear();
  if (*n > 0) return true;
  auto cur = SelectRecord(c, id, /*lock=*/true);
  if (!cur.ok()) return cur.status();
  if (!cur->has_value() || !AbsentOnLookup(**cur, now)) return false;
  auto r = ReplaceAbsent(c, **cur, "completed", fingerprint, detail, response, now, 0, retention, "");
  if (r.ok() && *r && generation) *generation = NextGeneration((*cur)->generation);
  return r;
}

Result<ClaimResult> ClaimKey(Conn& c, const ClaimRequest& req, Millis now) {
  ClaimResult out;
  // Insert-if-absent first: another instance may claim the same key at
  // the same moment; the database lets exactly one insert through.
  auto n = Change(c,
                  std::string("INSERT INTO idem_keys (") + kKeyColumns +
                      ", request) VALUES (?1,?2,?3,'in_flight',?4,?5,1,1,?6,?6,?7,?8,0,'',?9,'',?10) "
                      "ON CONFLICT (tenant, route, key) DO NOTHING",
                  [&](Stmt& s) {
                    s.Bind(1, req.id.tenant).Bind(2, req.id.route).Bind(3, req.id.key);
                    s.Bind(4, req.fingerprint).Bind(5, req.fingerprint_detail);
                    s.Bind(6, now).Bind(7, now + req.lease).Bind(8, now + req.retention);
                    s.BindBlob(9, std::string());
                    BindRequest(s, 10, req.request);
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
  if (rec.state == KeyState::kReleased && rec.fingerprint == req.fingerprint && !ExpiredReleased(rec, now)) {
    // The retry of a request the master refused for now: the same record
    // again, with its generation (the same derived key).
    auto t = Retake(c, rec, "released", now + req.lease, now, req.request);
    if (!t.ok()) return t.status();
    if (!*t) return Status(Code::kUnavailable, "claim: the key's record changed; retry");
    out.claimed = true;
    out.fence = rec.fence + 1;
    out.generation = rec.generation;
    return out;
  }
  if (AbsentOnLookup(rec, now)) {
    // Past its retention (or released, for another request) the old record
    // is absent: the key starts anew.
    auto r = ReplaceAbsent(c, rec, "in_flight", req.fingerprint, req.fingerprint_detail, StoredResponse{}, now,
                           now + req.lease, req.retention, req.request);
    if (!r.ok()) return r.status();
    if (!*r) return Status(Code::kUnavailable, "claim: the key's record changed; retry");
    out.claimed = true;
    out.fence = rec.fence + 1;
    out.generation = NextGeneration(rec.generation);
    return out;
  }
  bool expired = rec.state == KeyState::kInFlight && rec.lease_until <= now;
  if (rec.fingerprint != req.fingerprint || !expired) {
    out.existing = std::move(rec);
    return out;
  }
  if (req.park_on_takeover) {
    auto p = Change(c,
                    "UPDATE idem_keys SET state='unknown', expires_at=NULL, updated_at=?4, lease_until=?4 "
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
  auto t = Retake(c, rec, "in_flight", now + req.lease, now, req.request);
  if (!t.ok()) return t.status();
  if (!*t) {
    out.existing = std::move(rec);
    return out;
  }
  out.claimed = true;
  out.took_over = true;
  out.fence = rec.fence + 1;
  out.generation = rec.generation;  // the same record: the same derived key
  return out;
}

std::string HeadersToText(const Headers& h) {
  std::string out;
  for (const auto& [k, v] : h) {
    out += k;
    out += ": ";
    out += v;
    out += '\n';
  }
  return out;
}

Headers HeadersFromText(const std::string& s) {
  Headers h;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find('\n', pos);
    if (end == std::string::npos) end = s.size();
    size_t colon = s.find(": ", pos);
    if (colon != std::string::npos && colon < end) h.emplace_back(s.substr(pos, colon - pos), s.substr(colon + 2, end - colon - 2));
    pos = end + 1;
  }
  return h;
}

Result<bool> TakeLocalKey(Conn& c, const KeyId& id, const LocalKey& key, Millis now, IdempotencyRecord& existing,
                          const StoredResponse& answer) {
  auto inserted = InsertCompletedRecord(c, id, key.fingerprint, key.fingerprint_detail, answer, now, key.retention);
  if (!inserted.ok()) return inserted.status();
  if (*inserted) return true;
  auto cur = SelectRecord(c, id, /*lock=*/true);
  if (!cur.ok()) return cur.status();
  if (!cur->has_value()) return Status(Code::kUnavailable, "idempotency key: the record vanished; retry");
  existing = std::move(**cur);
  return false;
}

Status GiveLocalKeyBack(Conn& c, const KeyId& id) {
  auto n = Change(c, "DELETE FROM idem_keys WHERE tenant=?1 AND route=?2 AND key=?3",
                  [&](Stmt& s) { s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key); });
  return n.ok() ? Status::Ok() : n.status();
}

Status SetLocalKeyAnswer(Conn& c, const KeyId& id, const StoredResponse& r) {
  auto n = Change(c, "UPDATE idem_keys SET status=?4, headers=?5, body=?6 WHERE tenant=?1 AND route=?2 AND key=?3",
                  [&](Stmt& s) {
                    s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key);
                    s.Bind(4, int64_t{r.status}).Bind(5, HeadersToText(r.headers)).BindBlob(6, r.body);
                  });
  return n.ok() ? Status::Ok() : n.status();
}

}  // namespace writ::sql
