#include "cli/reconcile_lookup.h"

#include <future>

#include "core/http_types.h"
#include "patterns/local_copy/edge_store.h"
#include "store/command_queue.h"
#include "store/store.h"
#include "upstream/client.h"
#include "upstream/probe.h"

namespace writ {
namespace {

constexpr int kChunk = 200;

// One acknowledged write to look up.
struct Lookup {
  int64_t seq = 0;
  std::string entity;  // what the report names: the master's id, or the submission id
  UpstreamRequest request;
};

UpstreamResult Send(UpstreamClient& client, UpstreamRequest req) {
  std::promise<UpstreamResult> answer;
  auto got = answer.get_future();
  client.Send(std::move(req), [&answer](UpstreamResult res) { answer.set_value(std::move(res)); });
  return got.get();
}

// The route's next writes after `after`; `full` when there may be more.
Result<std::vector<Lookup>> NextChunk(Store& store, const RouteConfig& route, const UpstreamConfig& upstream,
                                      int64_t after, bool* full) {
  std::vector<Lookup> out;
  if (route.mode == "edge") {
    EdgeFilter f;
    f.route = route.name;  // every tenant
    f.status = SyncStatus::kSynced;
    f.after_seq = after;
    f.limit = kChunk;
    auto rows = EdgeStore(store.db()).List(f);
    if (!rows.ok()) return rows.status();
    *full = static_cast<int>(rows->size()) == kChunk;
    for (const auto& r : *rows) {
      Lookup l;
      l.seq = r.seq;
      if (!r.canonical_id.empty() && !r.deleted) {  // a deletion the master took has nothing to find
        l.entity = r.canonical_id;
        l.request = {
            "GET", r.collection + "/" + PercentEncode(r.canonical_id), {{"Accept", "application/json"}}, "", false};
      }
      out.push_back(std::move(l));
    }
    return out;
  }
  CommandFilter f;
  f.route = route.name;
  f.status = SubmissionStatus::kSucceeded;
  f.after_seq = after;
  f.limit = kChunk;
  auto rows = store.queue().ListCommands(f);
  if (!rows.ok()) return rows.status();
  *full = static_cast<int>(rows->size()) == kChunk;
  for (const auto& c : *rows) {
    Lookup l;
    l.seq = c.seq;
    l.entity = c.id;
    l.request = BuildProbeRequest(route.idempotency.probe, upstream.base_path, c.upstream_key);
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace

Reconciliation RunLookups(Reconciliation r, const std::string& owner, Store& store, const RouteConfig& route,
                          const UpstreamConfig& upstream, UpstreamClient& client,
                          const std::function<void(const Reconciliation&)>& progress) {
  ReconcileStore recs(store.db());
  auto finish = [&](const std::string& error) {
    auto done = recs.Finish(r.id, owner, error);
    if (done.ok()) return *done;
    r.status = "failed";
    r.error = error.empty() ? done.status().message() : error;
    return r;
  };
  for (;;) {
    int64_t after = 0;
    if (!r.checkpoint.empty()) after = std::stoll(r.checkpoint);
    bool full = false;
    auto chunk_rows = NextChunk(store, route, upstream, after, &full);
    if (!chunk_rows.ok()) return finish("reading the store: " + chunk_rows.status().message());
    ReconcileChunk chunk;
    chunk.checkpoint = r.checkpoint;
    for (auto& l : *chunk_rows) {
      chunk.checkpoint = std::to_string(l.seq);
      if (l.entity.empty()) continue;
      UpstreamResult res = Send(client, l.request);
      bool missing = false;
      if (route.mode == "edge") {
        if (res.error != UpstreamError::kNone) return finish("looking up " + l.entity + ": " + res.message);
        int status = res.response.status;
        if (status == 404 || status == 410) {
          missing = true;
        } else if (status < 200 || status > 299) {
          return finish("looking up " + l.entity + ": the master answered " + std::to_string(status));
        }
      } else {
        StoredResponse unused;
        ProbeVerdict v = ReadProbeAnswer(route.idempotency.probe, res, &unused);
        if (v == ProbeVerdict::kFailed)
          return finish("probing for " + l.entity + ": " +
                        (res.error != UpstreamError::kNone
                             ? res.message
                             : "the master answered " + std::to_string(res.response.status)));
        missing = v == ProbeVerdict::kNotFound;
      }
      ++chunk.compared;
      if (missing) chunk.mismatches.push_back({l.entity, MismatchKind::kMissingMaster, "", false, 0});
    }
    if (!chunk_rows->empty()) {
      auto committed = recs.Commit(r.id, owner, chunk, kLookupLease);
      if (!committed.ok()) {
        r.error = committed.status().message();
        return r;
      }
      r = *committed;
      if (progress) progress(r);
    }
    if (!full) return finish("");
  }
}

}  // namespace writ
