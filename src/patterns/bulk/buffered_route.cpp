#include "patterns/bulk/buffered_route.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <boost/json.hpp>

#include "core/crash_point.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/problem.h"
#include "patterns/bulk/batch.h"
#include "patterns/idempotency/key.h"

namespace writ {
namespace {

namespace json = boost::json;

constexpr size_t kMaxItemKeyLength = 255;
constexpr size_t kMaxListed = 100;  // rejected items named in one answer

// An item's key as text: strings as they are, numbers canonically.
std::string ItemKey(const json::value& item, const std::string& pointer, std::string& error) {
  boost::system::error_code ec;
  const json::value* v = item.find_pointer(pointer, ec);
  std::string key;
  if (v && v->is_string()) key = std::string(v->get_string());
  else if (v && v->is_number()) key = CanonicalJson(*v);
  if (key.empty()) error = "item key " + pointer + " is missing or not a string or number";
  else if (key.size() > kMaxItemKeyLength) error = "item key " + pointer + " is longer than 255 characters";
  return key;
}

json::array RejectedJson(const std::vector<RejectedItem>& rejected) {
  json::array a;
  for (size_t i = 0; i < rejected.size() && i < kMaxListed; ++i)
    a.push_back({{"position", rejected[i].position}, {"reason", rejected[i].reason}});
  return a;
}

}  // namespace

ProducerHeaders ParseProducerHeaders(const Headers& headers) {
  ProducerHeaders p;
  size_t ids = CountHeader(headers, "Producer-Id"), seqs = CountHeader(headers, "Producer-Seq");
  if (ids == 0 && seqs == 0) return p;
  if (ids != 1 || seqs != 1) {
    p.error = "send Producer-Id and Producer-Seq together, once each";
    return p;
  }
  std::string id(*FindHeader(headers, "Producer-Id"));
  std::string seq(*FindHeader(headers, "Producer-Seq"));
  bool id_ok = !id.empty() && id.size() <= 128 &&
               id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
                   std::string::npos;
  if (!id_ok) {
    p.error = "Producer-Id must be 1-128 characters of A-Z a-z 0-9 . _ : -";
    return p;
  }
  if (seq.empty() || seq.size() > 15 || seq.find_first_not_of("0123456789") != std::string::npos) {
    p.error = "Producer-Seq must be a non-negative integer below 10^15";
    return p;
  }
  p.id = std::move(id);
  p.seq = std::stoll(seq);
  return p;
}

struct BufferedRoute::Call {
  Request req;
  PathParams params;
  Respond respond;
  KeyedRequest keyed;
  RequestInfo info;
  int64_t items = 0;  // valid items in the batch
};

BufferedRoute::BufferedRoute(RouteConfig route, BufferedSettings settings, UpstreamConfig upstream, Store& store,
                             Metrics& m, Hooks hooks)
    : route_(std::move(route)),
      settings_(std::move(settings)),
      upstream_(std::move(upstream)),
      store_(store),
      hooks_(std::move(hooks)),
      items_in_(m.GetCounter("writ_bulk_items_in_total", "Items accepted into the buffer", RouteLabel(route_.name))),
      duplicates_(m.GetCounter("writ_bulk_duplicates_total", "Items skipped: their key was queued or applied",
                               RouteLabel(route_.name))),
      rejected_(m.GetCounter("writ_bulk_items_rejected_total", "Items refused by validation",
                             RouteLabel(route_.name))),
      refused_full_(m.GetCounter("writ_bulk_refused_total", "Batches refused with 429: the buffer was full",
                                 RouteLabel(route_.name))),
      replays_(m.GetCounter("writ_replays_total", "Completed keys answered from the store", RouteLabel(route_.name))) {}

void BufferedRoute::Handle(Request req, PathParams params, Respond respond) {
  auto call = std::make_shared<Call>();
  call->req = std::move(req);
  call->params = std::move(params);
  call->respond = std::move(respond);
  const Request& r = call->req;

  auto ct = FindHeader(r.headers, "Content-Type");
  auto format = BatchFormatFor(ct.value_or(""));
  if (!format)
    return Finish(*call,
                  Problem(415, "unsupported-media-type", "Unsupported media type",
                          "a batch is application/x-ndjson (one JSON item per line) or application/json (an "
                          "array of items); got '" + std::string(ct.value_or("")) + "'"),
                  "rejected");
  auto prepared = PrepareKeyedRequest(r, route_.idempotency, route_.name);
  if (!prepared.keyed) return Finish(*call, std::move(prepared.problem), "rejected");
  call->keyed = std::move(*prepared.keyed);
  KeyedRequest& keyed = call->keyed;
  if (keyed.has_key) call->info.key_hash = KeyHashForLog(keyed.id.tenant, keyed.id.route, keyed.id.key);
  ProducerHeaders producer = ParseProducerHeaders(r.headers);
  if (!producer.error.empty())
    return Finish(*call, Problem(400, "producer-headers-invalid", "Invalid producer headers", producer.error),
                  "rejected");

  auto items = SplitBatch(r.body, *format, settings_.buffered.max_items);
  if (!items.ok()) {
    if (items.status().code() == Code::kResourceExhausted)
      return Finish(*call,
                    Problem(413, "batch-too-large", "Batch too large", items.status().message(),
                            {{"maxItems", settings_.buffered.max_items}}),
                    "rejected");
    return Finish(*call, Problem(400, "invalid-batch", "Invalid batch", items.status().message()), "rejected");
  }
  if (items->empty())
    return Finish(*call, Problem(400, "empty-batch", "Empty batch", "the batch holds no items"), "rejected");

  // Each item's contract: JSON, a key, the schema. Nothing is stored yet.
  JobAcceptRequest job;
  job.job_id = TimeOrderedId("job_", store_.Now());
  std::vector<RejectedItem>& rejected = job.rejected;
  for (BatchItem& item : *items) {
    std::string error = item.error;
    std::string key;
    if (error.empty() && !settings_.buffered.item_key.empty()) key = ItemKey(item.value, settings_.buffered.item_key, error);
    if (error.empty() && settings_.schema) {
      auto violations = settings_.schema->Validate(item.value);
      if (!violations.empty())
        error = "schema: " + (violations[0].pointer.empty() ? std::string("(root)") : violations[0].pointer) + ": " +
                violations[0].reason;
    }
    if (!error.empty()) {
      rejected.push_back({item.position, std::move(error)});
      continue;
    }
    if (key.empty()) key = job.job_id + ":" + std::to_string(item.position);  // no item key: its position
    JobItem ji;
    ji.position = item.position;
    ji.upstream_key = DeriveUpstreamKey(keyed.id.tenant, route_.name, key);
    ji.key = std::move(key);
    ji.body = std::move(item.text);
    job.items.push_back(std::move(ji));
  }
  if (!rejected.empty()) rejected_.Inc(rejected.size());
  if (job.items.empty() || (settings_.buffered.reject_batch && !rejected.empty()))
    return Finish(*call,
                  Problem(422, "invalid-items", "Invalid items",
                          std::to_string(rejected.size()) + " of " + std::to_string(items->size()) +
                              " item(s) are invalid" +
                              (job.items.empty() ? "; no item is valid" : "; this route rejects the whole batch"),
                          {{"rejected", RejectedJson(rejected)}}),
                  "rejected");

  // Fast path for retries: a stored acknowledgement replays without a write.
  if (keyed.has_key) {
    auto rec = store_.keys().Lookup(keyed.id);
    if (!rec.ok())
      return Finish(*call, Problem(503, "store-unavailable", "Store unavailable", rec.status().message()), "error");
    if (rec->has_value()) {
      std::string outcome;
      Response answer = AnswerAcknowledged(**rec, keyed.fp, outcome);
      if (outcome == "replayed") replays_.Inc();
      return Finish(*call, std::move(answer), outcome);
    }
  }

  job.tenant = keyed.id.tenant;
  job.route = route_.name;
  call->items = static_cast<int64_t>(job.items.size());
  job.method = "POST";
  job.target = upstream_.base_path + (settings_.buffered.bulk_path.empty()
                                          ? SubstituteParams(route_.upstream_path, call->params)
                                          : settings_.buffered.bulk_path);
  job.headers.emplace_back("Content-Type", "application/json");
  for (const auto& name : route_.forward_headers)
    if (auto v = FindHeader(r.headers, name)) job.headers.emplace_back(name, *v);
  if (!r.request_id.empty()) job.headers.emplace_back("X-Request-Id", r.request_id);
  job.total_items = static_cast<int64_t>(items->size());
  job.max_pending = settings_.buffered.max_pending_items;
  job.dedup_window = settings_.buffered.dedup_window;
  job.retention = settings_.queue.retention;
  job.has_key = keyed.has_key;
  if (keyed.has_key) {
    job.idem_key = keyed.id.key;
    job.fingerprint = keyed.fp.digest;
    job.fingerprint_detail = keyed.fp.detail();
  }
  job.key_retention = route_.idempotency.retention;
  job.producer_id = producer.id;
  job.producer_seq = producer.seq;
  job.respond = [rejected_list = RejectedJson(rejected)](const JobSummary& s) {
    std::string url = "/v1/jobs/" + s.job_id;
    json::array dups;
    for (size_t i = 0; i < s.duplicate_positions.size() && i < 1000; ++i) dups.push_back(s.duplicate_positions[i]);
    StoredResponse resp;
    resp.status = 202;
    resp.headers = {{"Content-Type", "application/json"}, {"Location", url}};
    resp.body = json::serialize(json::object{{"jobId", s.job_id},
                                             {"status", "accepted"},
                                             {"statusUrl", url},
                                             {"items", s.items},
                                             {"accepted", s.accepted},
                                             {"duplicates", s.duplicates},
                                             {"duplicatePositions", std::move(dups)},
                                             {"rejected", rejected_list}});
    return resp;
  };
  store_.jobs().AcceptJob(std::move(job), [this, call](Result<JobAcceptResult> r) { OnStored(*call, std::move(r)); });
}

void BufferedRoute::OnStored(Call& call, Result<JobAcceptResult> r) {
  if (!r.ok())
    return Finish(call,
                  Problem(503, "store-unavailable", "Store unavailable",
                          "the batch was not queued (" + r.status().message() +
                              "); retry with the same Idempotency-Key or Producer-Seq"),
                  "error");
  switch (r->status) {
    case JobAcceptStatus::kAccepted: {
      items_in_.Inc(static_cast<uint64_t>(r->summary.accepted));
      duplicates_.Inc(static_cast<uint64_t>(r->summary.duplicates));
      WRIT_CRASH_POINT("after_commit_before_response");
      if (hooks_.accepted && r->summary.accepted > 0) hooks_.accepted();
      Response ack;
      ack.status = r->response.status;
      ack.headers = r->response.headers;
      ack.body = r->response.body;
      return Finish(call, std::move(ack), "accepted");
    }
    case JobAcceptStatus::kKeyExists: {
      std::string outcome;
      Response answer = AnswerAcknowledged(r->existing, call.keyed.fp, outcome);
      if (outcome == "replayed") replays_.Inc();
      return Finish(call, std::move(answer), outcome);
    }
    case JobAcceptStatus::kProducerReplay:
      replays_.Inc();
      return Finish(call, ReplayStored(r->response), "replayed");
    case JobAcceptStatus::kProducerExpired:
      return Finish(call,
                    Problem(409, "producer-sequence-old", "Producer sequence already used",
                            "this Producer-Seq was accepted before and its job is no longer kept",
                            {{"expectedSeq", r->expected_seq}}),
                    "conflict");
    case JobAcceptStatus::kProducerGap:
      return Finish(call,
                    Problem(409, "producer-sequence-gap", "Producer sequence gap",
                            "Producer-Seq must be the last accepted sequence + 1; send the missing batches first",
                            {{"expectedSeq", r->expected_seq}}),
                    "conflict");
    case JobAcceptStatus::kFull:
      refused_full_.Inc();
      return Finish(call, BufferFull(r->pending, call.items), "full");
  }
}

Response BufferedRoute::BufferFull(int64_t pending, int64_t items) {
  // How long until the batch fits: the excess over the current drain rate.
  int64_t max = settings_.buffered.max_pending_items;
  double rate = hooks_.drain_rate ? hooks_.drain_rate() : 0;
  if (rate <= 0 && settings_.buffered.rate > 0) rate = settings_.buffered.rate;
  int64_t excess = std::max<int64_t>(1, pending + items - max);
  int64_t secs = rate > 0 ? static_cast<int64_t>(std::ceil(static_cast<double>(excess) / rate)) : 5;
  secs = std::clamp<int64_t>(secs, 1, 300);
  Response p = Problem(429, "buffer-full", "Buffer full",
                       "this route's buffer holds " + std::to_string(pending) + " of " + std::to_string(max) +
                           " items and cannot take this batch; nothing was stored, retry after " +
                           std::to_string(secs) + "s",
                       {{"pending", pending}, {"maxPendingItems", max}, {"retryAfterSeconds", secs}});
  p.headers.emplace_back("Retry-After", std::to_string(secs));
  return p;
}

void BufferedRoute::Finish(Call& call, Response resp, const std::string& outcome) {
  call.info.outcome = outcome;
  auto respond = std::move(call.respond);
  respond(std::move(resp), call.info);
}

}  // namespace writ
