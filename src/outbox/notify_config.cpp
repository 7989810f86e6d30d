#include "outbox/notify_config.h"

#include <cctype>
#include <string_view>

#include "config/config.h"
#include "config/reader.h"

namespace writ {

void ReadNotifyConfig(Reader& r, const YAML::Node& n, NotifyConfig& c) {
  if (!r.CheckMap(n, "notify", {"url", "secret", "timeout", "ca_file", "redact"})) return;
  r.Str(n, "url", c.url);
  if (auto v = n["secret"]; v && v.IsScalar() && v.Scalar().rfind("${", 0) == 0) ReadSecret(r, n, "secret", c.secret);
  else r.Str(n, "secret", c.secret);
  r.Bool(n, "redact", c.redact);
  r.Duration(n, "timeout", c.timeout);
  if (!n["url"]) return r.Error(n, "notify needs a url (http://host:port/path)");
  if (!ParseHttpUrl(c.url, c.host, c.port, c.path, &c.tls))
    r.Error(n["url"], "notify url must be http[s]://host[:port]/path, got '" + c.url + "'");
  r.File(n, "ca_file", c.ca_file, "CA file");
  if (c.path.empty()) c.path = "/";
  if (!n["secret"] || c.secret.size() < 8)
    r.Error(At(n, "secret"), "notify needs a secret of at least 8 characters (Standard Webhooks: whsec_<base64>)");
}


std::string NatsSubject(const std::string& subject, const std::string& route, const std::string& type) {
  std::string token;
  for (char ch : route) {
    bool keep = std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
    if (keep) token += ch;
    else if (!token.empty() && token.back() != '_') token += '_';
  }
  while (!token.empty() && token.back() == '_') token.pop_back();
  if (token.empty()) token = "_";
  std::string out;
  for (size_t i = 0; i < subject.size();) {
    if (subject.compare(i, 7, "{route}") == 0) out += token, i += 7;
    else if (subject.compare(i, 6, "{type}") == 0) out += type, i += 6;
    else out += subject[i++];
  }
  return out;
}

bool NatsSubjectMatches(const std::string& pattern, const std::string& subject) {
  size_t p = 0, s = 0;
  while (p <= pattern.size() && s <= subject.size()) {
    size_t pe = std::min(pattern.find('.', p), pattern.size());
    size_t se = std::min(subject.find('.', s), subject.size());
    std::string_view pt(pattern.data() + p, pe - p), st(subject.data() + s, se - s);
    if (pt == ">") return true;
    if (pt != "*" && pt != st) return false;
    bool p_end = pe == pattern.size(), s_end = se == subject.size();
    if (p_end || s_end) return p_end && s_end;
    p = pe + 1;
    s = se + 1;
  }
  return false;
}

namespace {

void ReadNatsSink(Reader& r, const YAML::Node& n, const NatsConfig* nats, NatsSinkConfig& c) {
  if (n.IsMap() && !r.CheckMap(n, "sinks.nats", {"subject", "redact"})) return;
  c.enabled = true;
  if (n.IsMap()) {
    r.Str(n, "subject", c.subject);
    r.Bool(n, "redact", c.redact);
  } else if (!n.IsNull()) {
    return r.Error(n, "sinks.nats must be a mapping, e.g. nats: {subject: \"writ.events.{route}.{type}\"}");
  }
  if (!nats || !nats->enabled())
    r.Error(n, "sinks.nats needs the NATS server: add a top-level nats: {url: nats://127.0.0.1:4222}");
  CheckNatsSubject(r, At(n, "subject"), "sinks.nats", c.subject, nats);
}

}  // namespace

void CheckNatsSubject(Reader& r, const YAML::Node& at, const std::string& what, const std::string& subject,
                      const NatsConfig* nats) {
  // With sample values filled in, a valid literal subject.
  std::string sample = NatsSubject(subject, "r", "t.u");
  bool ok = !sample.empty() && sample.front() != '.' && sample.back() != '.' && sample.find("..") == std::string::npos;
  for (char ch : sample)
    if (ch == '*' || ch == '>' || ch == '{' || ch == '}' || static_cast<unsigned char>(ch) < 0x21) ok = false;
  if (!ok)
    return r.Error(at, what + " subject must be dot-separated tokens without spaces or wildcards ({route} and "
                              "{type} are filled in), got '" + subject + "'");
  if (!nats || !nats->enabled() || !nats->create_stream) return;
  bool covered = false;
  for (const auto& p : nats->subjects) covered = covered || NatsSubjectMatches(p, sample);
  if (!covered) r.Error(at, what + " subject '" + subject + "' is not among the stream's subjects (nats.subjects)");
}

EventSinks ReadEventSinks(Reader& r, const YAML::Node& route, const NatsConfig* nats, NotifyConfig& webhook,
                          NatsSinkConfig& nats_sink) {
  auto notify = route["notify"];
  auto sinks = route["sinks"];
  if (notify && sinks)
    r.Error(sinks, "give a route's webhook as notify: or as sinks.webhook, not both");
  if (notify) ReadNotifyConfig(r, notify, webhook);
  if (sinks && r.CheckMap(sinks, "sinks", {"webhook", "nats"})) {
    if (auto w = sinks["webhook"]) ReadNotifyConfig(r, w, webhook);
    if (auto n = sinks["nats"]) ReadNatsSink(r, n, nats, nats_sink);
  }
  return (webhook.enabled() ? kWebhookSink : 0) | (nats_sink.enabled ? kNatsSink : 0);
}

}  // namespace writ
