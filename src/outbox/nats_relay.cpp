#include "outbox/nats_relay.h"

#include <nats/nats.h>

#include <algorithm>

#include "core/crash_point.h"
#include "core/log.h"
#include "core/units.h"

namespace writ {

namespace {

// libnats calls this on its thread for each message of js_PublishMsgAsync;
// the message is ours to destroy.
void AckHandler(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  const char* id = nullptr;
  if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id) {
    std::string error;
    if (!pa) error = pae && pae->ErrText ? pae->ErrText : (pae ? natsStatus_GetText(pae->Err) : "no acknowledgement");
    static_cast<NatsRelay*>(closure)->OnAck(id, error, pa && pa->Duplicate);
  }
  natsMsg_Destroy(msg);
}

std::string NatsError(natsStatus s) {
  std::string out = natsStatus_GetText(s);
  if (const char* last = nats_GetLastError(nullptr); last && *last) out += std::string(": ") + last;
  return out;
}

}  // namespace

NatsRelay::NatsRelay(const NatsConfig& config, std::map<std::string, NatsTarget> targets, Store& store,
                     Metrics& metrics)
    : config_(config),
      targets_(std::move(targets)),
      store_(store),
      metrics_(metrics),
      lag_(metrics.GetGauge("writ_nats_lag_seconds", "Age of the oldest event waiting for its NATS publish")),
      store_errors_(metrics.GetCounter("writ_nats_store_errors_total", "NATS relay store reads that failed")) {
  for (const auto& [route, target] : targets_) routes_.push_back(route);
}

NatsRelay::~NatsRelay() {
  Stop();
  if (thread_.joinable()) thread_.join();
  Disconnect();
}

void NatsRelay::Start() {
  if (targets_.empty()) return;
  std::lock_guard lock(mu_);
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

void NatsRelay::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

bool NatsRelay::idle() const {
  std::lock_guard lock(mu_);
  return !running_;
}

bool NatsRelay::Sleep(Millis ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
  return !stopping_;
}

void NatsRelay::OnAck(const std::string& event_id, const std::string& error, bool duplicate) {
  std::lock_guard lock(acks_mu_);
  acks_[event_id] = {error, duplicate};
}

void NatsRelay::Run() {
  Millis backoff = 0;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    int published = -1;
    if (nc_ || Connect()) published = Round();
    if (published < 0) {
      backoff = std::clamp<Millis>(backoff * 2, 100, config_.max_backoff);
    } else {
      backoff = 0;
    }
    // Something published: the next of those submissions may be due now
    // (a saga's events go one per round). Nothing: poll (or back off).
    Millis wait = published < 0 ? backoff : published > 0 ? 0 : 100;
    if (wait > 0 && !Sleep(wait)) break;
  }
  std::lock_guard lock(mu_);
  running_ = false;
}

bool NatsRelay::Connect() {
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, config_.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(opts, "writ outbox relay");
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2'000);
  // Reconnects forever; publishes made while away wait in the reconnect
  // buffer (their round times out and is tried again).
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
  if (s == NATS_OK) s = natsConnection_Connect(&nc_, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    LogJson("warn", "nats connect failed", {{"url", config_.url}, {"reason", NatsError(s)}});
    nc_ = nullptr;
    return false;
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = config_.timeout;
  jo.PublishAsync.AckHandler = &AckHandler;
  jo.PublishAsync.AckHandlerClosure = this;
  jo.PublishAsync.MaxPending = 2 * config_.batch;  // a round: up to `batch` status and `batch` domain events
  s = natsConnection_JetStream(&js_, nc_, &jo);
  if (s != NATS_OK || !CheckStream()) {
    if (s != NATS_OK) LogJson("warn", "nats jetstream context failed", {{"reason", NatsError(s)}});
    Disconnect();
    return false;
  }
  LogJson("info", "nats relay connected", {{"url", config_.url}, {"stream", config_.stream}});
  return true;
}

void NatsRelay::Disconnect() {
  if (js_) jsCtx_Destroy(js_);
  js_ = nullptr;
  if (nc_) natsConnection_Destroy(nc_);
  nc_ = nullptr;
}

bool NatsRelay::CheckStream() {
  jsStreamInfo* si = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js_, config_.stream.c_str(), nullptr, &code);
  if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr) {
    if (!config_.create_stream) {
      LogJson("error", "nats stream missing and nats.create_stream is false: events wait",
              {{"stream", config_.stream}});
      return false;
    }
    std::vector<const char*> subjects;
    for (const auto& sub : config_.subjects) subjects.push_back(sub.c_str());
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = config_.stream.c_str();
    cfg.Subjects = subjects.data();
    cfg.SubjectsLen = static_cast<int>(subjects.size());
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = config_.duplicate_window * 1'000'000;  // nanoseconds
    s = js_AddStream(&si, js_, &cfg, nullptr, &code);
    if (s != NATS_OK) {
      LogJson("error", "nats stream could not be created",
              {{"stream", config_.stream}, {"reason", NatsError(s)}, {"code", static_cast<int>(code)}});
      return false;
    }
    LogJson("info", "nats stream created",
            {{"stream", config_.stream}, {"duplicateWindow", FormatDuration(config_.duplicate_window)}});
  } else if (s != NATS_OK) {
    LogJson("warn", "nats stream check failed", {{"stream", config_.stream}, {"reason", NatsError(s)}});
    return false;
  }
  // A retry of a publish whose acknowledgement was lost comes within
  // timeout + max_backoff; a stream forgetting ids sooner may keep it twice.
  Millis window = si->Config->Duplicates / 1'000'000;
  if (window <= config_.timeout + config_.max_backoff)
    LogJson("warn", "nats stream's duplicate window is shorter than a publish retry can take: a retried event may be "
                    "stored twice",
            {{"stream", config_.stream}, {"duplicateWindow", FormatDuration(window)},
             {"retryHorizon", FormatDuration(config_.timeout + config_.max_backoff)}});
  for (const auto& [route, target] : targets_) {
    std::string sample = NatsSubject(target.sink->subject, route, "submission.accepted");
    bool covered = false;
    for (int i = 0; i < si->Config->SubjectsLen; ++i) covered = covered || NatsSubjectMatches(si->Config->Subjects[i], sample);
    if (!covered)
      LogJson("warn", "nats stream does not take a route's subject: its publishes will fail",
              {{"stream", config_.stream}, {"route", route}, {"subject", sample}});
  }
  jsStreamInfo_Destroy(si);
  return true;
}

namespace {

// One message of a round: a status event or a domain event.
struct Item {
  bool domain = false;
  int64_t seq = 0;
  std::string id, submission, route, type, subject, body, aggregate_type, aggregate_id;
  Millis created_at = 0;
};

}  // namespace

int NatsRelay::Round() {
  auto due = store_.queue().UnpublishedEvents(routes_, config_.batch, config_.batch * 4);
  auto domain = store_.queue().UnpublishedDomainEvents(routes_, config_.batch, config_.batch * 4);
  if (!due.ok() || !domain.ok()) {
    store_errors_.Inc();
    return -1;
  }
  std::vector<Item> items;
  for (const auto& e : *due) {
    const NatsTarget& t = targets_.at(e.route);  // the query reads only the relay's routes
    items.push_back({false, e.seq, e.id, e.submission_id, e.route, e.type, NatsSubject(t.sink->subject, e.route, e.type),
                     RedactedEventPayload(e.payload, t.redact), "", "", e.created_at});
  }
  for (const auto& d : *domain)
    items.push_back({true, d.seq, d.id, d.submission_id, d.route, d.type, d.subject, d.payload, d.aggregatetype,
                     d.aggregateid, d.created_at});
  Millis oldest = 0;
  for (const auto& it : items) oldest = oldest == 0 ? it.created_at : std::min(oldest, it.created_at);
  lag_.Set(items.empty() ? 0 : std::max<Millis>(0, store_.Now() - oldest) / 1000);
  if (items.empty()) return 0;
  {
    std::lock_guard lock(acks_mu_);
    acks_.clear();
  }
  std::map<std::string, std::string> send_errors;  // event id -> why it was not sent
  for (const auto& it : items) {
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, it.subject.c_str(), nullptr, it.body.data(), static_cast<int>(it.body.size()));
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Msg-Id", it.id.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Writ-Event-Type", it.type.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Writ-Submission-Id", it.submission.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Writ-Route", it.route.c_str());
    if (s == NATS_OK && it.domain) s = natsMsgHeader_Set(msg, "Writ-Aggregate-Type", it.aggregate_type.c_str());
    if (s == NATS_OK && it.domain) s = natsMsgHeader_Set(msg, "Writ-Aggregate-Id", it.aggregate_id.c_str());
    if (s == NATS_OK) s = js_PublishMsgAsync(js_, &msg, nullptr);
    if (s != NATS_OK) send_errors[it.id] = NatsError(s);
    natsMsg_Destroy(msg);  // null once the library took it
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = config_.timeout;
  natsStatus s = js_PublishAsyncComplete(js_, &po);
  if (s != NATS_OK) {
    // Unanswered by the deadline: withdrawn, tried again next round.
    natsMsgList pending{};
    if (js_PublishAsyncGetPendingList(&pending, js_) == NATS_OK) natsMsgList_Destroy(&pending);
  }
  // published/failed seqs, [0] status events, [1] domain events.
  std::vector<int64_t> published[2], failed[2];
  std::vector<bool> ok(items.size());
  std::string first_error;
  int duplicates = 0;
  {
    std::lock_guard lock(acks_mu_);
    for (size_t i = 0; i < items.size(); ++i) {
      const Item& it = items[i];
      auto ack = acks_.find(it.id);
      std::string error = send_errors.count(it.id) ? send_errors[it.id]
                          : ack == acks_.end()     ? "no acknowledgement within " + FormatDuration(config_.timeout)
                                                   : ack->second.error;
      ok[i] = error.empty();
      (ok[i] ? published : failed)[it.domain].push_back(it.seq);
      if (ok[i]) {
        duplicates += ack->second.duplicate ? 1 : 0;
        continue;
      }
      if (first_error.empty()) first_error = error;
      LogJson("warn", "nats publish failed",
              {{"event", it.id}, {"submission", it.submission}, {"route", it.route}, {"reason", error}});
    }
  }
  // JetStream holds these; a crash here publishes them again under the
  // same Nats-Msg-Id, which the stream drops as duplicates.
  if (!published[0].empty() || !published[1].empty()) WRIT_CRASH_POINT("nats_after_publish_before_mark");
  for (size_t i = 0; i < items.size(); ++i)
    metrics_
        .GetCounter(ok[i] ? "writ_nats_published_total" : "writ_nats_publish_failures_total",
                    ok[i] ? "Events published to NATS JetStream (acknowledged)" : "NATS publishes that failed",
                    RouteLabel(items[i].route))
        .Inc();
  if (duplicates > 0)
    metrics_.GetCounter("writ_nats_duplicates_total", "Publishes JetStream acknowledged as duplicates (already stored)")
        .Inc(duplicates);
  bool any_failed = !failed[0].empty() || !failed[1].empty();
  bool marked = true;
  for (bool d : {false, true})
    for (auto* seqs : {&published[d], &failed[d]}) {
      if (seqs->empty()) continue;
      std::string error = seqs == &published[d] ? "" : first_error;
      auto r = Wait<int>([&](auto cb) { store_.queue().MarkPublished(d, std::move(*seqs), std::move(error), cb); });
      if (!r.ok()) store_errors_.Inc();
      marked = marked && r.ok();
    }
  if (any_failed || s != NATS_OK) {
    // The connection may be gone for good (a server replaced): start over.
    if (natsConnection_Status(nc_) == NATS_CONN_STATUS_CLOSED) Disconnect();
  }
  return marked && !any_failed ? static_cast<int>(items.size()) : -1;
}

}  // namespace writ
