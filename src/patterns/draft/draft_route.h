// Drafts (CP-4): a collection route where a client builds a large record
// over time and sends only the final, validated record to the master.
//
//   POST   {drafts}                    create (201, Location, ETag "1")
//   GET    {drafts}?status=&limit=&cursor=   list
//   GET    {drafts}/{id}               read (ETag; If-None-Match -> 304)
//   PUT    {drafts}/{id}               replace       } If-Match required (428),
//   PATCH  {drafts}/{id}               merge or JSON } stale -> 412 with the
//                                      patch         } current etag
//   DELETE {drafts}/{id}               erase (204)
//   POST   {drafts}/{id}/submit        Idempotency-Key + If-Match: strict
//                                      schema, then the record to the master
//                                      (sync: its answer; async: 202)
//   GET    {drafts}/{id}/versions      the last keep_versions, newest first
//
// Saves are checked against the route's schema without `required` (a
// half-filled form is fine, a wrong type is not); a submit against the
// whole schema. Each save bumps the version by exactly one. A save retried
// with the same Idempotency-Key after it applied replays its first answer,
// even though the version has moved since; a new request with a stale
// If-Match gets 412.
//
// Thread-safety: Handle may be called concurrently from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/json/value.hpp>

#include "config/config.h"
#include "core/clock.h"
#include "patterns/draft/draft_config.h"
#include "patterns/draft/draft_store.h"
#include "patterns/route.h"
#include "queue/worker.h"
#include "store/store.h"

namespace writ {

class SubmissionsApi;

class DraftRoute : public Route {
 public:
  // `submissions` may be null (tests); async submits then have no status API.
  // `quotas` may be null: no quotas.max_drafts.
  DraftRoute(RouteConfig route, DraftSettings settings, UpstreamConfig upstream, Store& store, UpstreamClient& client,
             Scheduler& scheduler, Metrics& metrics, Rng& rng, SubmissionsApi* submissions,
             const QuotaConfig* quotas = nullptr);
  ~DraftRoute() override;

  const RouteConfig& config() const override { return route_; }
  std::vector<Endpoint> Endpoints() const override;
  void Handle(Request req, PathParams params, Respond respond) override;
  void Start() override;
  void Stop() override;
  int in_flight() const override;
  void Wake() override;
  void UpdateGauges(Scrape& scrape) override;

  DraftStore& drafts() { return drafts_; }

 private:
  struct Call;
  using CallPtr = std::shared_ptr<Call>;
  void Create(CallPtr call);
  void List(CallPtr call);
  void Get(CallPtr call);
  void Replace(CallPtr call);
  void Patch(CallPtr call, int attempts_left);
  void Erase(CallPtr call);
  void Versions(CallPtr call);
  void Submit(CallPtr call);
  void SubmitSync(CallPtr call, int64_t expected_version);
  void SubmitAsync(CallPtr call, int64_t expected_version);
  void CallMaster(CallPtr call, Draft draft, int64_t fence);
  // Each answers the request itself and returns false / nullopt / true
  // when the request is done: a 428; the body's 400 or 422 (JSON, an
  // object, the loose schema); a replay or refusal from its key's record.
  bool RequireIfMatch(const CallPtr& call, const char* what);
  std::optional<boost::json::value> CheckedDocument(const CallPtr& call, const std::string& body);
  bool AnsweredFromKey(const CallPtr& call, const std::string& scoped_key);
  void OnMasterAnswer(CallPtr call, const Draft& draft, int64_t fence, UpstreamResult r);
  // Stores `data` as the draft's next version (or its first), with the key.
  void Save(CallPtr call, bool create, int64_t expected_version, std::string data, std::string changed,
            std::function<void()> on_stale);
  void AnswerSaved(CallPtr call, DraftResult r, std::function<void()> on_stale);
  void AnswerKeyed(CallPtr call, const IdempotencyRecord& rec);
  void Finish(CallPtr call, Response resp, const std::string& outcome);

  RouteConfig route_;
  const QuotaConfig* quotas_;
  DraftSettings settings_;
  UpstreamConfig upstream_;
  Store& store_;
  DraftStore drafts_;
  UpstreamClient& client_;
  Scheduler& scheduler_;
  Metrics& metrics_;
  std::unique_ptr<AsyncWorker> worker_;  // async submits only
  Counter& saves_;
  Counter& stale_;
  Counter& precondition_required_;
  Counter& erasures_;
  Counter& replays_;
  Counter& invalid_;
};

}  // namespace writ
