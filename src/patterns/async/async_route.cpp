#include "patterns/async/async_route.h"

#include <filesystem>

#include <boost/json.hpp>

#include "core/crash_point.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/problem.h"
#include "patterns/idempotency/key.h"

namespace writ {
namespace {

namespace json = boost::json;

constexpr size_t kMaxOrderingKeyLength = 255;

// The ordering key's value as text: strings as they are, other JSON
// canonically. Empty when the pointer does not resolve.
std::string OrderingValue(const json::value& doc, const std::string& pointer) {
  boost::system::error_code ec;
  const json::value* v = doc.find_pointer(pointer, ec);
  if (!v || v->is_null()) return "";
  if (v->is_string()) return std::string(v->get_string());
  return CanonicalJson(*v);
}

}  // namespace

struct AsyncRoute::Call {
  Request req;
  PathParams params;
  Respond respond;
  KeyedRequest keyed;
  RequestInfo info;
};

AsyncRoute::AsyncRoute(RouteConfig route, AsyncSettings settings, UpstreamConfig upstream, Store& store,
                       Metrics& metrics, std::function<void()> accepted)
    : route_(std::move(route)),
      settings_(std::move(settings)),
      upstream_(std::move(upstream)),
      store_(store),
      accepted_(std::move(accepted)),
      replays_(metrics.GetCounter("writ_replays_total", "Completed keys answered from the store",
                                  RouteLabel(route_.name))),
      mismatches_(metrics.GetCounter("writ_conflicts_total", "Key conflicts by kind",
                                     RouteLabel(route_.name) + ",kind=\"fingerprint\"")),
      invalid_(metrics.GetCounter("writ_schema_violations_total", "Requests refused by the route's JSON Schema",
                                  RouteLabel(route_.name))),
      schema_name_(std::filesystem::path(settings_.validate).filename().string()),
      accepted_count_(metrics.GetCounter("writ_async_accepted_total", "Commands accepted and queued",
                                         RouteLabel(route_.name))) {}

void AsyncRoute::Handle(Request req, PathParams params, Respond respond) {
  auto call = std::make_shared<Call>();
  call->req = std::move(req);
  call->params = std::move(params);
  call->respond = std::move(respond);

  auto prepared = PrepareKeyedRequest(call->req, route_.idempotency, route_.name);
  if (!prepared.keyed) return Finish(*call, std::move(prepared.problem), "rejected");
  call->keyed = std::move(*prepared.keyed);
  KeyedRequest& keyed = call->keyed;
  if (keyed.has_key) call->info.key_hash = KeyHashForLog(keyed.id.tenant, keyed.id.route, keyed.id.key);

  // The payload contract comes first: nothing is stored for a bad payload.
  std::string ordering_key;
  if (settings_.schema || !settings_.queue.ordering_key.empty()) {
    auto doc = ParseJsonStrict(call->req.body);
    if (!doc.ok())
      return Finish(*call, Problem(400, "invalid-json", "Invalid JSON body", doc.status().message()), "rejected");
    if (settings_.schema) {
      auto violations = settings_.schema->Validate(*doc);
      if (!violations.empty()) {
        invalid_.Inc();
        json::array errors;
        for (const auto& v : violations) errors.push_back({{"pointer", v.pointer}, {"reason", v.reason}});
        return Finish(*call,
                      Problem(422, "schema-violation", "Payload violates the route's schema",
                              std::to_string(violations.size()) + " violation(s) of " + schema_name_,
                              {{"errors", std::move(errors)}}),
                      "rejected");
      }
    }
    if (!settings_.queue.ordering_key.empty()) {
      ordering_key = OrderingValue(*doc, settings_.queue.ordering_key);
      if (ordering_key.empty() || ordering_key.size() > kMaxOrderingKeyLength)
        return Finish(*call,
                      Problem(422, "ordering-key-invalid", "Ordering key missing",
                              "this route orders commands by " + settings_.queue.ordering_key +
                                  ", which must be present, non-null and at most 255 characters",
                              {{"pointer", settings_.queue.ordering_key}}),
                      "rejected");
    }
  }

  // Fast path for retries: a stored acknowledgement replays without a write.
  if (keyed.has_key) {
    auto rec = store_.keys().Lookup(keyed.id);
    if (!rec.ok())
      return Finish(*call, Problem(503, "store-unavailable", "Store unavailable", rec.status().message()), "error");
    if (rec->has_value()) return AnswerExisting(*call, **rec);
  }

  AcceptRequest a;
  Command& cmd = a.command;
  cmd.id = TimeOrderedId("sub_", store_.Now());
  cmd.tenant = call->req.tenant.empty() ? kDefaultTenant : call->req.tenant;
  cmd.route = route_.name;
  cmd.idem_key = keyed.has_key ? keyed.id.key : "";
  cmd.ordering_key = ordering_key;
  cmd.method = call->req.method;
  cmd.target = upstream_.base_path + SubstituteParams(route_.upstream_path, call->params);
  if (auto q = call->req.target.find('?'); q != std::string::npos) cmd.target += call->req.target.substr(q);
  if (auto ct = FindHeader(call->req.headers, "Content-Type")) cmd.headers.emplace_back("Content-Type", *ct);
  for (const auto& name : route_.forward_headers)
    if (auto v = FindHeader(call->req.headers, name)) cmd.headers.emplace_back(name, *v);
  if (!call->req.request_id.empty()) cmd.headers.emplace_back("X-Request-Id", call->req.request_id);
  cmd.body = call->req.body;
  // Every attempt carries the same key, so a master that honours keys never
  // applies a command twice, with or without a client key.
  // With a key, the key record's generation is part of it: a client key
  // reused after its record expired reaches the master as a new key.
  cmd.upstream_key = DeriveUpstreamKey(cmd.tenant, route_.name, cmd.id);
  if (keyed.has_key)
    a.upstream_key = [id = keyed.id](const std::string& generation) {
      return DeriveUpstreamKey(id.tenant, id.route, id.key, generation);
    };

  std::string status_url = "/v1/submissions/" + cmd.id;
  a.has_key = keyed.has_key;
  if (keyed.has_key) {
    a.fingerprint = keyed.fp.digest;
    a.fingerprint_detail = keyed.fp.detail();
  }
  a.retention = route_.idempotency.retention;
  a.status = 202;
  a.response_headers = {{"Content-Type", "application/json"}, {"Location", status_url}};
  a.response_body = json::serialize(
      json::object{{"submissionId", cmd.id}, {"status", "accepted"}, {"statusUrl", status_url}});
  a.notify = settings_.event_sinks();
  Response ack;
  ack.status = 202;
  ack.headers = a.response_headers;
  ack.body = a.response_body;

  store_.queue().Accept(std::move(a), [this, call, ack = std::move(ack)](Result<ClaimResult> r) mutable {
    if (!r.ok())
      return Finish(*call,
                    Problem(503, "store-unavailable", "Store unavailable",
                            "the command was not queued (" + r.status().message() +
                                "); retry with the same Idempotency-Key"),
                    "error");
    if (!r->claimed) return AnswerExisting(*call, r->existing);
    accepted_count_.Inc();
    WRIT_CRASH_POINT("after_commit_before_response");
    if (accepted_) accepted_();
    Finish(*call, std::move(ack), "accepted");
  });
}

void AsyncRoute::AnswerExisting(Call& call, const IdempotencyRecord& rec) {
  std::string outcome;
  Response r = AnswerAcknowledged(rec, call.keyed.fp, outcome);
  if (outcome == "mismatch") mismatches_.Inc();
  if (outcome == "replayed") replays_.Inc();
  Finish(call, std::move(r), outcome);
}

void AsyncRoute::Finish(Call& call, Response resp, const std::string& outcome) {
  call.info.outcome = outcome;
  auto respond = std::move(call.respond);
  respond(std::move(resp), call.info);
}

}  // namespace writ
