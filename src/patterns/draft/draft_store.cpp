#include "patterns/draft/draft_store.h"

#include "core/hash.h"
#include "store/sql/keys.h"

namespace writ {

using namespace sql;  // Conn, Stmt, Change, QueryRows and the key queries

namespace {


constexpr const char* kDraftColumns =
    "seq, id, tenant, route, version, status, data, created_at, updated_at, expires_at, create_key, submit_key, "
    "submit_seq, submit_version, submission_id, canonical_id, answer_status, answer_headers, answer_body";

Draft ReadDraft(Stmt& s) {
  Draft d;
  d.seq = s.Int(0);
  d.id = s.Text(1);
  d.tenant = s.Text(2);
  d.route = s.Text(3);
  d.version = s.Int(4);
  d.status = ParseDraftStatus(s.Text(5)).value_or(DraftStatus::kOpen);
  d.data = s.Text(6);
  d.created_at = s.Int(7);
  d.updated_at = s.Int(8);
  d.expires_at = s.Int(9);
  d.create_key = s.Text(10);
  d.submit_key = s.Text(11);
  d.submit_seq = s.Int(12);
  d.submit_version = s.Int(13);
  d.submission_id = s.Text(14);
  d.canonical_id = s.Text(15);
  d.answer_status = static_cast<int>(s.Int(16));
  d.answer_headers = HeadersFromText(s.Text(17));
  d.answer_body = s.Text(18);
  return d;
}

Result<std::optional<Draft>> SelectDraft(Conn& c, const std::string& tenant, const std::string& route,
                                         const std::string& id, bool lock) {
  auto rows = QueryRows<Draft>(
      c,
      std::string("SELECT ") + kDraftColumns + " FROM drafts WHERE id=?1 AND tenant=?2 AND route=?3" +
          (lock ? c.ForUpdate() : ""),
      [&](Stmt& s) { s.Bind(1, id).Bind(2, tenant).Bind(3, route); }, &ReadDraft);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<Draft>();
  Draft& d = rows->front();
  // An async submit's submission cancelled (never attempted, so never
  // applied; an operator or the client did it through /v1/submissions):
  // the draft is open again. Written back when read for a write.
  if (d.status == DraftStatus::kSubmitting && !d.submission_id.empty()) {
    auto st = QueryRows<std::string>(c, "SELECT status FROM commands WHERE id=?1",
                                     [&](Stmt& s) { s.Bind(1, d.submission_id); },
                                     +[](Stmt& s) { return s.Text(0); });
    if (!st.ok()) return st.status();
    if (!st->empty() && st->front() == "cancelled") {
      d.status = DraftStatus::kOpen;
      d.submit_key.clear();
      if (lock) {
        auto n = Change(c, "UPDATE drafts SET status='open', submit_key='' WHERE id=?1 AND status='submitting'",
                        [&](Stmt& s) { s.Bind(1, d.id); });
        if (!n.ok()) return n.status();
      }
    }
  }
  return std::optional<Draft>(std::move(d));
}

KeyId SaveKey(const std::string& tenant, const std::string& route, const std::string& id, const std::string& key) {
  return {tenant, route, id + ":" + key};
}
KeyId CreateKey(const std::string& tenant, const std::string& route, const std::string& key) {
  return {tenant, route, "create:" + key};
}

Status AddVersion(Conn& c, const Draft& d, const std::string& changed, int keep) {
  auto n = Change(c, "INSERT INTO draft_versions (draft_id, version, data, changed, created_at) VALUES (?1,?2,?3,?4,?5)",
                  [&](Stmt& s) {
                    s.Bind(1, d.id).Bind(2, d.version).BindBlob(3, d.data).Bind(4, changed).Bind(5, d.updated_at);
                  });
  if (!n.ok()) return n.status();
  auto pruned = Change(c, "DELETE FROM draft_versions WHERE draft_id=?1 AND version<=?2",
                       [&](Stmt& s) { s.Bind(1, d.id).Bind(2, d.version - keep); });
  return pruned.ok() ? Status::Ok() : pruned.status();
}

// PRAGMA secure_delete on SQLite: freed cells and pages are overwritten with
// zeros, so an erased draft's bytes do not linger in the file. Set around the
// erasing statements only; other deletes do not pay for it.
Status SecureDelete(Conn& c, bool on) {
  if (c.postgres()) return Status::Ok();
  return c.Exec(on ? "PRAGMA secure_delete=ON" : "PRAGMA secure_delete=OFF");
}

// Deletes one draft and everything that holds its content. The caller
// has checked it may go.
Status EraseRows(Conn& c, const Draft& d) {
  auto step = [](Result<int> n) { return n.ok() ? Status::Ok() : n.status(); };
  if (auto s = step(Change(c, "DELETE FROM draft_versions WHERE draft_id=?1", [&](Stmt& s) { s.Bind(1, d.id); }));
      !s.ok())
    return s;
  if (auto s = step(Change(c, "DELETE FROM drafts WHERE id=?1", [&](Stmt& s) { s.Bind(1, d.id); })); !s.ok())
    return s;
  // Replay records of its saves and submits ("<id>:<key>", a range of the
  // key index) and of its create.
  if (auto s = step(Change(c,
                           "DELETE FROM idem_keys WHERE tenant=?1 AND route=?2 AND "
                           "((key >= ?3 AND key < ?4) OR key = ?5)",
                           [&](Stmt& s) {
                             s.Bind(1, d.tenant).Bind(2, d.route).Bind(3, d.id + ":").Bind(4, d.id + ";");
                             s.Bind(5, d.create_key.empty() ? std::string() : "create:" + d.create_key);
                           }));
      !s.ok())
    return s;
  // A finished async submit's command holds the document as its body.
  if (!d.submission_id.empty()) {
    if (auto s = step(Change(c, "DELETE FROM events WHERE submission_id=?1",
                             [&](Stmt& s) { s.Bind(1, d.submission_id); }));
        !s.ok())
      return s;
    if (auto s = step(Change(c,
                             "DELETE FROM commands WHERE id=?1 AND status IN "
                             "('succeeded','failed','dead','cancelled')",
                             [&](Stmt& s) { s.Bind(1, d.submission_id); }));
        !s.ok())
      return s;
  }
  return Status::Ok();
}

}  // namespace

const char* DraftStatusName(DraftStatus s) {
  switch (s) {
    case DraftStatus::kOpen: return "open";
    case DraftStatus::kSubmitting: return "submitting";
    case DraftStatus::kSubmitted: return "submitted";
  }
  return "?";
}

std::optional<DraftStatus> ParseDraftStatus(const std::string& s) {
  if (s == "open") return DraftStatus::kOpen;
  if (s == "submitting") return DraftStatus::kSubmitting;
  if (s == "submitted") return DraftStatus::kSubmitted;
  return std::nullopt;
}

SchemaStep DraftsSchemaStep();        // draft_schema.cpp
SchemaStep DraftsTenantSchemaStep();  // draft_schema.cpp
SchemaStep DraftStore::Schema() { return DraftsSchemaStep(); }
SchemaStep DraftStore::TenantSchema() { return DraftsTenantSchemaStep(); }

std::string DraftStore::UpstreamKey(const Draft& d) {
  return "writ-draft-" + Sha256Hex(d.tenant + "\n" + d.route + "\n" + d.id + "\n" + std::to_string(d.submit_version) +
                                   "\n" + std::to_string(d.submit_seq))
                             .substr(0, 40);
}

Result<std::optional<Draft>> DraftStore::Get(const std::string& tenant, const std::string& route,
                                             const std::string& id) {
  return ReadFor<std::optional<Draft>>(db_, [&](Conn& c) { return SelectDraft(c, tenant, route, id, false); });
}

Result<std::optional<Draft>> DraftStore::Find(const std::string& id) {
  return ReadFor<std::optional<Draft>>(db_, [&](Conn& c) -> Result<std::optional<Draft>> {
    auto rows = QueryRows<Draft>(c, std::string("SELECT ") + kDraftColumns + " FROM drafts WHERE id=?1",
                                 [&](Stmt& s) { s.Bind(1, id); }, &ReadDraft);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<Draft>();
    return std::optional<Draft>(std::move(rows->front()));
  });
}

Result<std::vector<Draft>> DraftStore::List(const DraftFilter& f) {
  return ReadFor<std::vector<Draft>>(db_, [&](Conn& c) {
    return QueryRows<Draft>(
        c,
        std::string("SELECT ") + kDraftColumns +
            " FROM drafts WHERE tenant=?1 AND (?2 = '' OR route = ?2) AND (?3 = '' OR status = ?3) AND seq > ?4 "
            "ORDER BY seq LIMIT ?5",
        [&](Stmt& s) {
          s.Bind(1, f.tenant).Bind(2, f.route).Bind(3, std::string(f.status ? DraftStatusName(*f.status) : ""));
          s.Bind(4, f.after_seq).Bind(5, int64_t{f.limit});
        },
        &ReadDraft);
  });
}

Result<std::vector<DraftVersion>> DraftStore::Versions(const std::string& tenant, const std::string& route,
                                                       const std::string& id, int limit) {
  return ReadFor<std::vector<DraftVersion>>(db_, [&](Conn& c) {
    return QueryRows<DraftVersion>(
        c,
        "SELECT v.version, v.data, v.changed, v.created_at FROM draft_versions v JOIN drafts d ON d.id = v.draft_id "
        "WHERE v.draft_id=?1 AND d.tenant=?2 AND d.route=?3 ORDER BY v.version DESC LIMIT ?4",
        [&](Stmt& s) { s.Bind(1, id).Bind(2, tenant).Bind(3, route).Bind(4, int64_t{limit}); },
        +[](Stmt& s) {
          return DraftVersion{s.Int(0), s.Text(1), s.Text(2), s.Int(3)};
        });
  });
}

Result<DraftCounts> DraftStore::Counts(const std::string& route) {
  return ReadFor<DraftCounts>(db_, [&](Conn& c) -> Result<DraftCounts> {
    auto st = c.Prepare("SELECT status, count(*) FROM drafts WHERE route=?1 GROUP BY status");
    if (!st.ok()) return st.status();
    st->Bind(1, route);
    DraftCounts n;
    for (int rc; (rc = st->Step()) != kDone;) {
      if (rc != kRow) return c.Error("count drafts");
      auto s = ParseDraftStatus(st->Text(0));
      if (s == DraftStatus::kOpen) n.open = st->Int(1);
      if (s == DraftStatus::kSubmitting) n.submitting = st->Int(1);
      if (s == DraftStatus::kSubmitted) n.submitted = st->Int(1);
    }
    return n;
  });
}

void DraftStore::Save(DraftSave req, Callback<DraftResult> done) {
  Database& db = db_;
  SubmitFor<DraftResult>(
      db_,
      [&db, req = std::move(req)](Conn& c) -> Result<DraftResult> {
        DraftResult out;
        Millis now = db.Now();
        KeyId key_id = req.create ? CreateKey(req.tenant, req.route, req.key.key)
                                  : SaveKey(req.tenant, req.route, req.id, req.key.key);
        if (req.key.has_key) {
          auto taken = TakeLocalKey(c, key_id, req.key, now, out.existing);
          if (!taken.ok()) return taken.status();
          if (!*taken) {
            out.status = DraftWrite::kKeyExists;
            return out;
          }
        }
        Draft& d = out.draft;
        if (req.create && req.max_live > 0) {
          auto st = c.Prepare("SELECT count(*) FROM drafts WHERE tenant=?1 AND status != 'submitted'");
          if (!st.ok()) return st.status();
          st->Bind(1, req.tenant);
          if (st->Step() != kRow) return c.Error("count live drafts");
          out.live = st->Int(0);
          if (out.live >= req.max_live) {
            if (req.key.has_key)
              if (auto s = GiveLocalKeyBack(c, key_id); !s.ok()) return s;
            out.status = DraftWrite::kQuota;
            return out;
          }
        }
        if (req.create) {
          d.id = req.id;
          d.tenant = req.tenant;
          d.route = req.route;
          d.version = 1;
          d.status = DraftStatus::kOpen;
          d.data = req.data;
          d.created_at = d.updated_at = now;
          d.expires_at = now + req.retention;
          d.create_key = req.key.has_key ? req.key.key : "";
          auto st = c.Prepare(
              "INSERT INTO drafts (id, tenant, route, version, status, data, created_at, updated_at, expires_at, "
              "create_key) VALUES (?1,?2,?3,1,'open',?4,?5,?5,?6,?7) RETURNING seq");
          if (!st.ok()) return st.status();
          st->Bind(1, d.id).Bind(2, d.tenant).Bind(3, d.route).BindBlob(4, d.data).Bind(5, now);
          st->Bind(6, d.expires_at).Bind(7, d.create_key);
          if (st->Step() != kRow) return c.Error("insert draft");
          d.seq = st->Int(0);
          if (st->Step() != kDone) return c.Error("insert draft");
        } else {
          auto cur = SelectDraft(c, req.tenant, req.route, req.id, /*lock=*/true);
          if (!cur.ok()) return cur.status();
          DraftWrite refusal = DraftWrite::kDone;
          if (!cur->has_value()) refusal = DraftWrite::kNotFound;
          else if ((*cur)->status != DraftStatus::kOpen) refusal = DraftWrite::kFrozen;
          else if (req.expected_version != 0 && (*cur)->version != req.expected_version) refusal = DraftWrite::kStale;
          if (cur->has_value()) d = std::move(**cur);
          if (refusal != DraftWrite::kDone) {
            if (req.key.has_key)
              if (auto s = GiveLocalKeyBack(c, key_id); !s.ok()) return s;
            out.status = refusal;
            return out;
          }
          d.version += 1;
          d.data = req.data;
          d.updated_at = now;
          d.expires_at = now + req.retention;
          auto n = Change(c, "UPDATE drafts SET version=?2, data=?3, updated_at=?4, expires_at=?5 WHERE id=?1",
                          [&](Stmt& s) {
                            s.Bind(1, d.id).Bind(2, d.version).BindBlob(3, d.data).Bind(4, now).Bind(5, d.expires_at);
                          });
          if (!n.ok()) return n.status();
        }
        if (auto s = AddVersion(c, d, req.changed, req.keep_versions); !s.ok()) return s;
        if (req.respond) out.response = req.respond(d);
        if (req.key.has_key)
          if (auto s = SetLocalKeyAnswer(c, key_id, out.response); !s.ok()) return s;
        return out;
      },
      std::move(done));
}

void DraftStore::BeginSubmit(DraftSubmitBegin req, Callback<DraftResult> done) {
  Database& db = db_;
  bool durable = req.durable;
  SubmitFor<DraftResult>(
      db_,
      [&db, req = std::move(req)](Conn& c) -> Result<DraftResult> {
        DraftResult out;
        Millis now = db.Now();
        // The key first, as any keyed write claims it (insert-if-absent, a
        // dead holder's lease taken over, or parked on at-most-once routes).
        ClaimRequest claim;
        claim.id = SaveKey(req.tenant, req.route, req.id, req.key.key);
        claim.fingerprint = req.key.fingerprint;
        claim.fingerprint_detail = req.key.fingerprint_detail;
        claim.lease = req.lease;
        claim.retention = req.key.retention;
        claim.park_on_takeover = req.park_on_takeover;
        auto k = ClaimKey(c, claim, now);
        if (!k.ok()) return k.status();
        if (!k->claimed) {
          out.status = DraftWrite::kKeyExists;
          out.existing = std::move(k->existing);
          return out;
        }
        out.fence = k->fence;
        out.took_over = k->took_over;
        if (k->took_over) {
          // The dead holder may have reached the master: from now on only a
          // final answer may reopen the draft (a later transient refusal of
          // a resend says nothing about the first attempt).
          auto m = Change(c, "UPDATE drafts SET submit_unknown=1 WHERE id=?1", [&](Stmt& s) { s.Bind(1, req.id); });
          if (!m.ok()) return m.status();
        }
        auto d = SelectDraft(c, req.tenant, req.route, req.id, /*lock=*/true);
        if (!d.ok()) return d.status();
        DraftWrite refusal = DraftWrite::kDone;
        if (!d->has_value()) {
          refusal = DraftWrite::kNotFound;
        } else if (!k->took_over) {
          out.draft = std::move(**d);
          const Draft& draft = out.draft;
          // Open, or frozen by an earlier submit under this same key whose
          // outcome was unknown (its key was freed for this retry).
          bool resend = draft.status == DraftStatus::kSubmitting && draft.submit_key == req.key.key &&
                        draft.submission_id.empty();
          if (draft.status != DraftStatus::kOpen && !resend) refusal = DraftWrite::kNotOpen;
          else if (req.expected_version != 0 && draft.version != req.expected_version) refusal = DraftWrite::kStale;
        } else {
          out.draft = std::move(**d);  // taken over: frozen already, under this key
          return out;
        }
        if (refusal != DraftWrite::kDone) {  // nothing to submit: the key goes again
          if (auto s = GiveLocalKeyBack(c, claim.id); !s.ok()) return s;
          out.status = refusal;
          return out;
        }
        Draft& draft = out.draft;
        draft.status = DraftStatus::kSubmitting;
        draft.submit_key = req.key.key;
        draft.submit_version = draft.version;
        auto u = Change(c,
                        "UPDATE drafts SET status='submitting', submit_key=?2, submit_version=version, updated_at=?3 "
                        "WHERE id=?1",
                        [&](Stmt& s) { s.Bind(1, draft.id).Bind(2, draft.submit_key).Bind(3, now); });
        if (!u.ok()) return u.status();
        return out;
      },
      std::move(done), durable);
}

void DraftStore::FinishSubmit(DraftSubmitFinish req, Callback<bool> done) {
  Database& db = db_;
  SubmitFor<bool>(
      db_,
      [&db, req = std::move(req)](Conn& c) -> Result<bool> {
        Millis now = db.Now();
        KeyId k = SaveKey(req.tenant, req.route, req.id, req.key);
        Result<int> held = 0;
        auto bind_key = [&](Stmt& s) { s.Bind(1, k.tenant).Bind(2, k.route).Bind(3, k.key).Bind(4, req.fence); };
        switch (req.outcome) {
          case DraftSubmitFinish::kSucceeded:
          case DraftSubmitFinish::kRefused:
            held = Change(c,
                          "UPDATE idem_keys SET state='completed', status=?5, headers=?6, body=?7, updated_at=?8, "
                          "expires_at=?9 WHERE tenant=?1 AND route=?2 AND key=?3 AND fence=?4 AND state='in_flight'",
                          [&](Stmt& s) {
                            bind_key(s);
                            s.Bind(5, int64_t{req.answer.status}).Bind(6, HeadersToText(req.answer.headers));
                            s.BindBlob(7, req.answer.body).Bind(8, now).Bind(9, now + req.key_retention);
                          });
            break;
          case DraftSubmitFinish::kRelease:
          case DraftSubmitFinish::kRetry:
            held = Change(c,
                          "DELETE FROM idem_keys WHERE tenant=?1 AND route=?2 AND key=?3 AND fence=?4 "
                          "AND state='in_flight'",
                          bind_key);
            break;
          case DraftSubmitFinish::kPark:
            held = Change(c,
                          "UPDATE idem_keys SET state='unknown', expires_at=NULL, updated_at=?5 "
                          "WHERE tenant=?1 AND route=?2 AND key=?3 AND fence=?4 AND state='in_flight'",
                          [&](Stmt& s) {
                            bind_key(s);
                            s.Bind(5, now);
                          });
            break;
        }
        if (!held.ok()) return held.status();
        if (*held == 0) return false;
        Result<int> n = 0;
        switch (req.outcome) {
          case DraftSubmitFinish::kSucceeded:
            n = Change(c,
                       "UPDATE drafts SET status='submitted', canonical_id=?2, answer_status=?3, answer_headers=?4, "
                       "answer_body=?5, updated_at=?6, expires_at=?7, submit_unknown=0 WHERE id=?1 AND "
                       "status='submitting'",
                       [&](Stmt& s) {
                         s.Bind(1, req.id).Bind(2, req.canonical_id).Bind(3, int64_t{req.answer.status});
                         s.Bind(4, HeadersToText(req.answer.headers)).BindBlob(5, req.answer.body).Bind(6, now);
                         s.Bind(7, now + req.submitted_retention);
                       });
            break;
          case DraftSubmitFinish::kRefused:
            n = Change(c,
                       "UPDATE drafts SET status='open', submit_key='', submit_seq=submit_seq+1, answer_status=?2, "
                       "answer_headers=?3, answer_body=?4, updated_at=?5, submit_unknown=0 WHERE id=?1 AND "
                       "status='submitting'",
                       [&](Stmt& s) {
                         s.Bind(1, req.id).Bind(2, int64_t{req.answer.status});
                         s.Bind(3, HeadersToText(req.answer.headers)).BindBlob(4, req.answer.body).Bind(5, now);
                       });
            break;
          case DraftSubmitFinish::kRelease:
            // Nothing applied by this attempt; unless an earlier attempt of
            // this submission may have been, the draft opens again.
            n = Change(c, "UPDATE drafts SET status='open', submit_key='', updated_at=?2 WHERE id=?1 AND "
                          "status='submitting' AND submit_unknown=0",
                       [&](Stmt& s) { s.Bind(1, req.id).Bind(2, now); });
            break;
          case DraftSubmitFinish::kRetry:  // stays submitting under its key: the retry resends it
            n = Change(c, "UPDATE drafts SET submit_unknown=1, updated_at=?2 WHERE id=?1 AND status='submitting'",
                       [&](Stmt& s) { s.Bind(1, req.id).Bind(2, now); });
            break;
          case DraftSubmitFinish::kPark:  // stays submitting: an operator decides (the outcome is unknown)
            break;
        }
        if (!n.ok()) return n.status();
        return true;
      },
      std::move(done));
}

void DraftStore::AcceptSubmit(DraftSubmitAccept req, Callback<DraftResult> done) {
  Database& db = db_;
  SubmitFor<DraftResult>(
      db_,
      [&db, req = std::move(req)](Conn& c) -> Result<DraftResult> {
        DraftResult out;
        Millis now = db.Now();
        KeyId key_id = SaveKey(req.tenant, req.route, req.id, req.key.key);
        auto rec = SelectRecord(c, key_id, /*lock=*/true);
        if (!rec.ok()) return rec.status();
        if (rec->has_value() && !AbsentOnLookup(**rec, now)) {
          out.status = DraftWrite::kKeyExists;
          out.existing = std::move(**rec);
          return out;
        }
        auto d = SelectDraft(c, req.tenant, req.route, req.id, /*lock=*/true);
        if (!d.ok()) return d.status();
        if (!d->has_value()) {
          out.status = DraftWrite::kNotFound;
          return out;
        }
        out.draft = std::move(**d);
        Draft& draft = out.draft;
        if (draft.status != DraftStatus::kOpen) {
          out.status = DraftWrite::kNotOpen;
          return out;
        }
        if (req.expected_version != 0 && draft.version != req.expected_version) {
          out.status = DraftWrite::kStale;
          return out;
        }
        draft.status = DraftStatus::kSubmitting;
        draft.submit_key = req.key.key;
        draft.submit_version = draft.version;
        Command cmd = req.command;
        cmd.body = draft.data;
        cmd.upstream_key = UpstreamKey(draft);
        draft.submission_id = cmd.id;
        out.response = req.respond(draft, cmd);
        auto inserted = InsertCompletedRecord(c, key_id, req.key.fingerprint, req.key.fingerprint_detail,
                                              out.response, now, req.key.retention);
        if (!inserted.ok()) return inserted.status();
        if (!*inserted) {  // another instance, a moment ago
          auto cur = SelectRecord(c, key_id, true);
          if (!cur.ok()) return cur.status();
          if (!cur->has_value()) return Status(Code::kUnavailable, "submit: the key's record vanished; retry");
          out.status = DraftWrite::kKeyExists;
          out.existing = std::move(**cur);
          return out;
        }
        auto queued = CommandQueue::Enqueue(c, std::move(cmd), req.notify, now);
        if (!queued.ok()) return queued.status();
        auto u = Change(c,
                        "UPDATE drafts SET status='submitting', submit_key=?2, submit_version=version, "
                        "submission_id=?3, updated_at=?4 WHERE id=?1",
                        [&](Stmt& s) {
                          s.Bind(1, draft.id).Bind(2, draft.submit_key).Bind(3, draft.submission_id).Bind(4, now);
                        });
        if (!u.ok()) return u.status();
        return out;
      },
      std::move(done));
}

Status DraftStore::OnSubmissionFinished(Conn& c, const AttemptOutcome& o, Millis now, Millis submitted_retention) {
  Result<int> n = 0;
  if (o.status == SubmissionStatus::kSucceeded) {
    n = Change(c,
               "UPDATE drafts SET status='submitted', canonical_id=?2, answer_status=?3, answer_headers=?4, "
               "answer_body=?5, updated_at=?6, expires_at=?7 WHERE submission_id=?1 AND status='submitting'",
               [&](Stmt& s) {
                 s.Bind(1, o.id).Bind(2, o.canonical_id).Bind(3, int64_t{o.response_status});
                 s.Bind(4, HeadersToText(o.response_headers)).BindBlob(5, o.response_body).Bind(6, now);
                 s.Bind(7, now + submitted_retention);
               });
  } else if (o.status == SubmissionStatus::kFailed) {
    n = Change(c,
               "UPDATE drafts SET status='open', submit_key='', submit_seq=submit_seq+1, answer_status=?2, "
               "answer_headers=?3, answer_body=?4, updated_at=?5 WHERE submission_id=?1 AND status='submitting'",
               [&](Stmt& s) {
                 s.Bind(1, o.id).Bind(2, int64_t{o.response_status});
                 s.Bind(3, HeadersToText(o.response_headers)).BindBlob(4, o.response_body).Bind(5, now);
               });
  }
  // Dead: the draft stays submitting with its submission, which an operator
  // may re-drive (its outcome may be unknown: never resent under a new key).
  return n.ok() ? Status::Ok() : n.status();
}

void DraftStore::Erase(std::string tenant, std::string route, std::string id, int64_t expected_version,
                       Callback<DraftResult> done) {
  Database& db = db_;
  SubmitFor<DraftResult>(
      db_,
      [tenant = std::move(tenant), route = std::move(route), id = std::move(id),
       expected_version](Conn& c) -> Result<DraftResult> {
        DraftResult out;
        auto d = SelectDraft(c, tenant, route, id, /*lock=*/true);
        if (!d.ok()) return d.status();
        if (!d->has_value()) {
          out.status = DraftWrite::kNotFound;
          return out;
        }
        out.draft = std::move(**d);
        if (out.draft.status == DraftStatus::kSubmitting) {
          out.status = DraftWrite::kFrozen;
          return out;
        }
        if (expected_version != 0 && out.draft.version != expected_version) {
          out.status = DraftWrite::kStale;
          return out;
        }
        if (auto s = SecureDelete(c, true); !s.ok()) return s;
        Status erased = EraseRows(c, out.draft);
        if (auto s = SecureDelete(c, false); !s.ok()) return s;
        if (!erased.ok()) return erased;
        return out;
      },
      [&db, done = std::move(done)](Result<DraftResult> r) {
        if (!r.ok() || r->status != DraftWrite::kDone) return done(std::move(r));
        // The erased bytes are zeroed in the pages the commit wrote; a
        // truncating checkpoint takes the older page images out of the WAL.
        auto result = std::make_shared<DraftResult>(std::move(*r));
        db.Checkpoint([done, result](Status s) {
          if (!s.ok()) return done(s);
          done(std::move(*result));
        });
      },
      /*durable=*/true);
}

Result<int> DraftStore::EraseExpired(Conn& c, int batch, Millis now) {
  auto due = QueryRows<Draft>(
      c,
      std::string("SELECT ") + kDraftColumns +
          " FROM drafts WHERE expires_at <= ?1 AND status != 'submitting' ORDER BY expires_at LIMIT ?2",
      [&](Stmt& s) { s.Bind(1, now).Bind(2, int64_t{batch}); }, &ReadDraft);
  if (!due.ok()) return due.status();
  if (due->empty()) return 0;
  if (auto s = SecureDelete(c, true); !s.ok()) return s;
  for (const auto& d : *due) {
    if (auto s = EraseRows(c, d); !s.ok()) {
      (void)SecureDelete(c, false);
      return s;
    }
  }
  if (auto s = SecureDelete(c, false); !s.ok()) return s;
  return static_cast<int>(due->size());
}

Result<DraftResult> SaveDraftSync(DraftStore& s, DraftSave req) {
  return Wait<DraftResult>([&](auto cb) { s.Save(std::move(req), cb); });
}
Result<DraftResult> EraseDraftSync(DraftStore& s, const std::string& tenant, const std::string& route,
                                   const std::string& id, int64_t expected_version) {
  return Wait<DraftResult>([&](auto cb) { s.Erase(tenant, route, id, expected_version, cb); });
}

}  // namespace writ
