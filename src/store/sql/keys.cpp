#include "store/sql/keys.h"

namespace writ::sql {

const char* const kKeyColumns =
    "tenant, route, key, state, fingerprint, fingerprint_detail, fence, attempts, created_at, "
    "updated_at, lease_until, expires_at, status, headers, body";

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
  return r;
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
                                   Millis retention) {
  auto n = Change(c,
                  std::string("INSERT INTO idem_keys (") + kKeyColumns +
                      ") VALUES (?1,?2,?3,'completed',?4,?5,1,1,?6,?6,0,?7,?8,?9,?10) "
                      "ON CONFLICT (tenant, route, key) DO NOTHING",
                  [&](Stmt& s) {
                    s.Bind(1, id.tenant).Bind(2, id.route).Bind(3, id.key);
                    s.Bind(4, fingerprint).Bind(5, detail);
                    s.Bind(6, now).Bind(7, now + retention).Bind(8, int64_t{response.status});
                    s.Bind(9, HeadersToText(response.headers)).BindBlob(10, response.body);
                  });
  if (!n.ok()) return n.status();
  return *n > 0;
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

}  // namespace writ::sql
