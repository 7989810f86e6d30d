#include "store/commands.h"

#include <ctime>

#include <boost/json.hpp>

#include "core/json.h"

namespace writ {

const char* SubmissionStatusName(SubmissionStatus s) {
  switch (s) {
    case SubmissionStatus::kAccepted: return "accepted";
    case SubmissionStatus::kProcessing: return "processing";
    case SubmissionStatus::kSucceeded: return "succeeded";
    case SubmissionStatus::kFailed: return "failed";
    case SubmissionStatus::kDead: return "dead";
    case SubmissionStatus::kCancelled: return "cancelled";
    case SubmissionStatus::kDuplicate: return "duplicate";
  }
  return "?";
}

std::optional<SubmissionStatus> ParseSubmissionStatus(const std::string& s) {
  for (auto st : {SubmissionStatus::kAccepted, SubmissionStatus::kProcessing, SubmissionStatus::kSucceeded,
                  SubmissionStatus::kFailed, SubmissionStatus::kDead, SubmissionStatus::kCancelled, SubmissionStatus::kDuplicate})
    if (s == SubmissionStatusName(st)) return st;
  return std::nullopt;
}

std::string FormatTimestamp(Millis ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

boost::json::object SubmissionToJson(const Command& c, const Redactor* redact) {
  namespace json = boost::json;
  auto ts = [](Millis ms) -> json::value { return ms > 0 ? json::value(FormatTimestamp(ms)) : json::value(nullptr); };
  json::object o;
  o["submissionId"] = c.id;
  o["route"] = c.route;
  o["status"] = SubmissionStatusName(c.status);
  o["statusUrl"] = "/v1/submissions/" + c.id;
  o["attempts"] = c.attempts;
  o["redrives"] = c.redrives;
  // The master may have applied it whatever the status says (an attempt's
  // outcome was unknown).
  o["possiblyApplied"] = c.unknown_attempt > 0;
  if (c.unknown_attempt > 0) o["possiblyAppliedAttempt"] = c.unknown_attempt;
  bool waiting = !IsTerminal(c.status) && c.lease_until == 0;
  o["nextAttemptAt"] = waiting ? ts(c.next_attempt_at) : json::value(nullptr);
  o["lastError"] = c.last_error.empty() ? json::value(nullptr) : json::value(c.last_error);
  o["canonicalId"] = c.canonical_id.empty() ? json::value(nullptr) : json::value(c.canonical_id);
  if (!c.ordering_key.empty()) o["orderingKey"] = c.ordering_key;
  if (!c.job_id.empty()) {
    o["jobId"] = c.job_id;
    o["position"] = c.item_pos;
    o["itemKey"] = c.item_key;
  }
  if (c.response_status != 0) {
    json::object r;
    r["status"] = c.response_status;
    // A JSON answer is embedded as JSON; anything else as text.
    auto parsed = ParseJsonStrict(c.response_body);
    if (!c.response_body.empty()) r["body"] = parsed.ok() ? std::move(*parsed) : json::value(c.response_body);
    if (redact && !redact->empty() && !c.response_body.empty()) {
      if (parsed.ok()) redact->Apply(r["body"]);
      else r["body"] = kRedactedText;
    }
    o["response"] = std::move(r);
  } else {
    o["response"] = nullptr;
  }
  o["createdAt"] = ts(c.created_at);
  o["updatedAt"] = ts(c.updated_at);
  o["finishedAt"] = ts(c.finished_at);
  return o;
}

std::string RedactedEventPayload(const std::string& payload, const Redactor* redact) {
  if (!redact || redact->empty()) return payload;
  boost::system::error_code ec;
  auto v = boost::json::parse(payload, ec);
  if (ec || !v.is_object()) return payload;
  auto* data = v.as_object().if_contains("data");
  auto* response = data && data->is_object() ? data->as_object().if_contains("response") : nullptr;
  auto* body = response && response->is_object() ? response->as_object().if_contains("body") : nullptr;
  if (!body) return payload;
  if (body->is_string()) *body = kRedactedText;  // a text answer cannot be searched
  else redact->Apply(*body);
  return boost::json::serialize(v);
}

std::string EventStreamBody(const std::vector<StatusEvent>& events, size_t from, const Redactor* redact) {
  std::string body = "retry: 500\n\n";
  for (size_t i = from; i < events.size(); ++i) {
    const auto& e = events[i];
    body += "id: " + e.id + "\nevent: " + e.type + "\ndata: " + RedactedEventPayload(e.payload, redact) + "\n\n";
  }
  if (from >= events.size()) body += ": no new events; reconnect with Last-Event-ID\n\n";
  return body;
}

}  // namespace writ
