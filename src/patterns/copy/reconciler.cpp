#include "patterns/copy/reconciler.h"

#include <chrono>
#include <future>
#include <thread>

#include <boost/json.hpp>

#include "core/crash_point.h"
#include "core/json.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "patterns/copy/copy_route.h"
#include "patterns/local_copy/edge_store.h"

namespace writ {

namespace json = boost::json;

namespace {

// Leaves out `pointer` (the field it names) of `v`.
void Erase(json::value& v, const std::string& pointer) {
  size_t slash = pointer.rfind('/');
  boost::system::error_code ec;
  json::value* parent = slash == 0 ? &v : v.find_pointer(pointer.substr(0, slash), ec);
  if (!parent || !parent->is_object()) return;
  std::string key = pointer.substr(slash + 1);
  for (size_t i; (i = key.find("~1")) != std::string::npos;) key.replace(i, 2, "/");
  for (size_t i; (i = key.find("~0")) != std::string::npos;) key.replace(i, 2, "~");
  parent->as_object().erase(key);
}

std::string Escape(const std::string& key) {
  std::string out;
  for (char ch : key) out += ch == '~' ? "~0" : ch == '/' ? "~1" : std::string(1, ch);
  return out;
}

// The JSON Pointers at which `a` and `b` differ (at most `max`).
void Diff(const json::value& a, const json::value& b, const std::string& at, std::vector<std::string>& out,
          size_t max) {
  if (out.size() >= max || a == b) return;
  if (a.is_object() && b.is_object()) {
    for (const auto& kv : a.as_object()) {
      const json::value* other = b.as_object().if_contains(kv.key());
      if (!other)
        out.push_back(at + "/" + Escape(kv.key()));
      else
        Diff(kv.value(), *other, at + "/" + Escape(kv.key()), out, max);
      if (out.size() >= max) return;
    }
    for (const auto& kv : b.as_object())
      if (!a.as_object().contains(kv.key()) && out.size() < max) out.push_back(at + "/" + Escape(kv.key()));
    return;
  }
  if (a.is_array() && b.is_array() && a.as_array().size() == b.as_array().size()) {
    for (size_t i = 0; i < a.as_array().size(); ++i)
      Diff(a.as_array()[i], b.as_array()[i], at + "/" + std::to_string(i), out, max);
    return;
  }
  out.push_back(at.empty() ? "/" : at);
}

struct MasterItem {
  std::string id, etag;
  json::value data;
};

}  // namespace

Reconciler::Reconciler(std::string route, std::string collection, const CopySettings& settings,
                       const UpstreamConfig& upstream, Database& db, UpstreamClient& client, Metrics* metrics)
    : route_(std::move(route)),
      collection_(std::move(collection)),
      settings_(settings),
      upstream_(upstream),
      db_(db),
      client_(client),
      metrics_(metrics) {}

Reconciliation Reconciler::Run(Reconciliation r, const std::string& owner,
                               const std::function<void(const Reconciliation&)>& progress,
                               const std::atomic<bool>* stop) {
  const ReconcileConfig& rc = settings_.reconcile;
  const RefreshConfig& f = settings_.refresh;
  ReconcileStore recs(db_);
  EdgeStore records(db_);
  const std::string& collection = collection_;
  auto finish = [&](const std::string& error) {
    auto done = recs.Finish(r.id, owner, error);
    if (done.ok())
      r = *done;
    else
      r.error = done.status().message();
    LogJson(error.empty() ? "info" : "warn", "reconciliation ended",
            {{"route", route_},
             {"reconciliation", r.id},
             {"compared", r.compared},
             {"mismatches", r.mismatches()},
             {"repaired", r.repaired},
             {"error", error}});
    return r;
  };
  while (true) {
    if (stop && *stop) return r;  // leased: resumed later from its checkpoint
    auto chunk_start = std::chrono::steady_clock::now();
    // A record that changes while the chunk is read (a local write, a sync,
    // a refresh) is compared against a master read from before: skipped as
    // in flight. So the master is read first, then the copy.
    Millis chunk_began = db_.Now();
    // The master's next chunk, in id order.
    std::string target = upstream_.base_path + rc.path;
    if (auto at = target.find("{after}"); at != std::string::npos) target.replace(at, 7, PercentEncode(r.checkpoint));
    if (auto at = target.find("{limit}"); at != std::string::npos) target.replace(at, 7, std::to_string(rc.chunk));
    std::promise<UpstreamResult> answer;
    auto got = answer.get_future();
    client_.Send({"GET", target, {{"Accept", "application/json"}}, "", false},
                 [&answer](UpstreamResult res) { answer.set_value(std::move(res)); });
    UpstreamResult res = got.get();
    if (res.error != UpstreamError::kNone) return finish("listing the master: " + res.message);
    if (res.response.status < 200 || res.response.status > 299)
      return finish("listing the master: it answered " + std::to_string(res.response.status));
    auto page = ParseJsonStrict(res.response.body);
    boost::system::error_code ec;
    const json::value* items = page.ok() ? page->find_pointer(f.items, ec) : nullptr;
    if (!items || !items->is_array()) return finish("listing the master: no array at " + f.items);
    std::vector<MasterItem> master;
    for (const auto& item : items->get_array()) {
      MasterItem m;
      m.id = ItemText(item, f.id);
      boost::system::error_code e2;
      const json::value* del = item.find_pointer(f.deleted, e2);
      if (del && del->is_bool() && del->get_bool()) continue;
      const json::value* data = f.data.empty() ? &item : item.find_pointer(f.data, e2);
      if (m.id.empty() || !data || !data->is_object()) return finish("listing the master: an item has no id or data");
      if (!master.empty() && m.id <= master.back().id)
        return finish("listing the master: ids are not in ascending byte order ('" + master.back().id + "', then '" +
                      m.id + "')");
      if (m.id <= r.checkpoint) return finish("listing the master: '" + m.id + "' is not after {after}");
      m.etag = ItemText(item, f.version);
      m.data = *data;
      master.push_back(std::move(m));
    }
    bool full = static_cast<int>(items->get_array().size()) >= rc.chunk;
    std::string upto = full && !master.empty() ? master.back().id : "";
    auto local = records.ListByCanonical(CopyRoute::kCopyTenant, route_, r.checkpoint, upto);
    if (!local.ok()) return finish("reading the copy: " + local.status().message());

    ReconcileChunk chunk;
    std::vector<MasterState> take;    // master-wins
    std::vector<LocalRepair> resend;  // local-wins
    auto canon = [&](json::value v) {
      for (const auto& p : rc.ignore_fields) Erase(v, p);
      return v;
    };
    std::vector<size_t> repairable;  // indexes into chunk.mismatches
    auto mismatch = [&](const std::string& id, MismatchKind kind, std::string pointers, const MasterItem* m,
                        const EdgeRecord* l) {
      chunk.mismatches.push_back({id, kind, std::move(pointers), false});
      // restore: the master's state wins where it has one; what it lost
      // (missing_master) is sent again from the copy.
      bool local = r.repair == "local-wins" || (r.repair == "restore" && kind == MismatchKind::kMissingMaster);
      if (r.repair == "master-wins" || (r.repair == "restore" && !local)) {
        MasterState s;
        s.id = id;
        s.force = true;
        if (m) {
          s.data = json::serialize(m->data);
          s.etag = m->etag;
        } else {
          s.deleted = true;
        }
        take.push_back(std::move(s));
        repairable.push_back(chunk.mismatches.size() - 1);
      } else if (local && l) {  // a copy that never had it has nothing to send
        resend.push_back({id, m != nullptr, m ? m->etag : ""});
        repairable.push_back(chunk.mismatches.size() - 1);
      }
    };
    std::vector<size_t> master_only;  // indexes into master
    size_t i = 0, j = 0;
    const auto& L = *local;
    while (i < master.size() || j < L.size()) {
      int cmp = i == master.size() ? 1 : j == L.size() ? -1 : master[i].id.compare(L[j].canonical_id);
      if (cmp < 0) {  // the master's only: judged below, once no local create is in flight
        master_only.push_back(i);
        ++i;
        continue;
      }
      const EdgeRecord& l = L[j];
      if (l.pending > 0 || l.held || l.updated_at >= chunk_began || l.synced_at >= chunk_began) {
        ++chunk.skipped;
        if (cmp == 0) ++i;
        ++j;
        continue;
      }
      if (cmp > 0) {  // the copy's only
        if (!l.deleted) {
          ++chunk.compared;
          mismatch(l.canonical_id, MismatchKind::kMissingMaster, "", nullptr, &l);
        }
        ++j;
        continue;
      }
      ++chunk.compared;
      if (l.deleted) {
        mismatch(l.canonical_id, MismatchKind::kMissingLocal, "", &master[i], &l);
      } else {
        auto mine = ParseJsonStrict(l.data);
        json::value a = canon(master[i].data), b = canon(mine.ok() ? *mine : json::value());
        if (a != b) {
          std::vector<std::string> ptrs;
          Diff(b, a, "", ptrs, 20);
          std::string joined;
          for (const auto& p : ptrs) joined += (joined.empty() ? "" : ",") + p;
          mismatch(l.canonical_id, MismatchKind::kDiffer, joined, &master[i], &l);
        }
      }
      ++i;
      ++j;
    }
    // An entity only the master has may be a local create whose answer is
    // not recorded yet (it has no canonical id in the copy): wait for the
    // creates in flight to be answered (a while at most), then look again.
    if (!master_only.empty()) {
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      for (;;) {
        auto n = records.CreatesPending(route_);
        if (!n.ok() || *n == 0 || std::chrono::steady_clock::now() > until || (stop && *stop)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      for (size_t k : master_only) {
        auto now = records.Get(CopyRoute::kCopyTenant, route_, master[k].id);
        if (now.ok() && now->has_value()) {  // it was being created locally meanwhile
          ++chunk.skipped;
          continue;
        }
        ++chunk.compared;
        mismatch(master[k].id, MismatchKind::kMissingLocal, "", &master[k], nullptr);
      }
    }
    if (!r.dry_run && !take.empty()) {
      auto applied = Wait<MasterApply>(
          [&](auto cb) { records.ApplyMaster(CopyRoute::kCopyTenant, route_, collection, take, 0, nullptr, cb); });
      if (!applied.ok()) return finish("repairing the copy: " + applied.status().message());
      chunk.repaired += applied->inserted + applied->updated;
      for (size_t k : repairable) chunk.mismatches[k].repaired = true;
    }
    if (!r.dry_run && !resend.empty()) {
      auto queued = records.Resend(CopyRoute::kCopyTenant, route_, resend, settings_.update_method);
      if (!queued.ok()) return finish("queueing the copy's states: " + queued.status().message());
      chunk.repaired += *queued;
      for (size_t k : repairable) chunk.mismatches[k].repaired = true;
    }
    if (!chunk.mismatches.empty()) WRIT_CRASH_POINT("reconcile_after_repair");
    chunk.checkpoint = !upto.empty() ? upto : r.checkpoint;
    if (!full) {
      if (!master.empty()) chunk.checkpoint = std::max(chunk.checkpoint, master.back().id);
      if (!L.empty()) chunk.checkpoint = std::max(chunk.checkpoint, L.back().canonical_id);
    }
    auto committed = recs.Commit(r.id, owner, chunk, rc.lease);
    if (!committed.ok()) {
      r.error = committed.status().message();
      return r;
    }
    r = *committed;
    WRIT_CRASH_POINT("reconcile_after_chunk_commit");
    if (metrics_)
      for (const auto& m : chunk.mismatches)
        metrics_
            ->GetCounter("writ_reconcile_mismatches_total", "Mismatches reconciliations found, by kind",
                         RouteLabel(route_) + ",kind=\"" + MismatchKindName(m.kind) + "\"")
            .Inc();
    if (progress) progress(r);
    if (!full) return finish("");
    if (rc.rate > 0) {  // throttled: at most rate entities a second
      auto spent = std::chrono::steady_clock::now() - chunk_start;
      auto due = std::chrono::duration<double>(static_cast<double>(master.size()) / rc.rate);
      if (due > spent) std::this_thread::sleep_for(due - spent);
    }
  }
}

}  // namespace writ
