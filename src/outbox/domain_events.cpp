#include "outbox/domain_events.h"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

#include "config/config.h"
#include "config/reader.h"
#include "core/hash.h"
#include "core/json.h"
#include "outbox/notify_config.h"
#include "store/sql/queue.h"

namespace writ {

namespace json = boost::json;

namespace {

bool ValidPointer(const std::string& p) { return p.empty() || p[0] == '/'; }

// The body as JSON, or its text as a JSON string when it is not JSON.
json::value BodyValue(const std::string& body) {
  if (body.empty()) return nullptr;
  auto v = ParseJsonStrict(body);
  return v.ok() ? *v : json::value(body);
}

}  // namespace

void ReadDomainEvents(Reader& r, const YAML::Node& list, const std::string& route, const NatsConfig* nats,
                      std::vector<DomainEventDef>& out) {
  if (!list.IsSequence())
    return r.Error(list, "events must be a list, e.g. [{on: succeeded, type: order.created, payload: /response/body}]");
  for (const auto& n : list) {
    if (!r.CheckMap(n, "events[]", {"on", "type", "subject", "payload", "aggregate_type", "aggregate_id"})) continue;
    DomainEventDef d;
    std::string on = "succeeded";
    r.Str(n, "on", on);
    r.Str(n, "type", d.type);
    r.Str(n, "subject", d.subject);
    r.Str(n, "payload", d.payload);
    r.Str(n, "aggregate_type", d.aggregate_type);
    r.Str(n, "aggregate_id", d.aggregate_id);
    auto status = ParseSubmissionStatus(on);
    // The worker's outcomes: a cancel (an operator's, before any attempt)
    // and a probe's "found applied" write no domain event.
    if (!status || (*status != SubmissionStatus::kSucceeded && *status != SubmissionStatus::kFailed &&
                    *status != SubmissionStatus::kDead))
      r.Error(At(n, "on"), "events[].on must be succeeded, failed or dead, got '" + on + "'");
    else
      d.on = *status;
    if (d.type.empty()) r.Error(n, "events[] needs a type, e.g. type: order.created");
    if (d.subject.empty()) d.subject = d.type;
    if (!d.type.empty()) CheckNatsSubject(r, At(n, n["subject"] ? "subject" : "type"), "events[]", d.subject, nats);
    for (const char* k : {"payload", "aggregate_id"}) {
      const std::string& p = k[0] == 'p' ? d.payload : d.aggregate_id;
      if (!ValidPointer(p))
        r.Error(At(n, k), std::string("events[].") + k + " must be a JSON Pointer (e.g. /response/body), got '" + p + "'");
    }
    if (d.aggregate_type.empty()) d.aggregate_type = NatsSubject("{route}", route, "");
    out.push_back(std::move(d));
  }
}

Status InsertDomainEvents(sql::Conn& c, const AttemptOutcome& o, const std::string& route,
                          const std::vector<DomainEventDef>& defs, bool publish) {
  std::vector<const DomainEventDef*> due;
  for (const auto& d : defs)
    if (d.on == o.status) due.push_back(&d);
  if (due.empty()) return Status::Ok();
  auto cmd = sql::SelectCommand(c, o.id);
  if (!cmd.ok()) return cmd.status();
  if (!cmd->has_value()) return Status(Code::kNotFound, "domain event for unknown submission " + o.id);
  const Command& k = **cmd;
  Millis now = k.updated_at;
  // What the pointers read: the request, the master's answer, the submission.
  json::object doc{{"request", json::object{{"body", BodyValue(k.body)}}},
                   {"response", json::object{{"status", k.response_status}, {"body", BodyValue(k.response_body)}}},
                   {"submission", SubmissionToJson(k)}};
  json::value root(std::move(doc));
  for (const auto* d : due) {
    std::error_code ec;
    const json::value* payload = d->payload.empty() ? &root : root.find_pointer(d->payload, ec);
    std::string aggregate_id = k.canonical_id.empty() ? k.id : k.canonical_id;
    if (!d->aggregate_id.empty()) {
      std::error_code ec2;
      if (const json::value* v = root.find_pointer(d->aggregate_id, ec2))
        aggregate_id = v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
    }
    auto n = sql::Change(
        c,
        "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, submission_id, route, subject, created_at, "
        "publish) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
        [&](sql::Stmt& s) {
          s.Bind(1, TimeOrderedId("dev_", now)).Bind(2, d->aggregate_type).Bind(3, aggregate_id).Bind(4, d->type);
          s.Bind(5, payload ? json::serialize(*payload) : std::string("null")).Bind(6, k.id).Bind(7, route);
          s.Bind(8, NatsSubject(d->subject, route, d->type)).Bind(9, now).Bind(10, int64_t{publish ? 1 : 0});
        });
    if (!n.ok()) return n.status();
  }
  return Status::Ok();
}

}  // namespace writ
