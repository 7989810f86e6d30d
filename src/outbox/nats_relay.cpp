#include "outbox/nats_relay.h"

#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <unordered_map>
#include <unordered_set>

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

namespace {

// How long the relay waits before reading again when nothing is known to wait.
constexpr Millis kPollInterval = 100;
// Publishes in flight at most, and events held at most, in nats.batch units.
// 8 batches (4,096 with the default): what S12's libnats peer keeps in flight.
constexpr int kWindowBatches = 8;
constexpr size_t kHeldBatches = 12;

// One message: a status event or a domain event.
struct Item {
  bool domain = false;
  int64_t seq = 0;
  std::string id, submission, route, type, subject, body, aggregate_type, aggregate_id;
  Millis created_at = 0;
};

// An event whose publish failed (its slot, held until the relay starts
// over), for its mark.
struct Failed {
  uint32_t slot = 0;
  std::string error;
};

Millis SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

constexpr uint32_t kNone = UINT32_MAX;

struct NatsRelay::State {
  // A held event, in a slot that does not move while held (a deque only
  // grows at its end), linked to its submission's next held event.
  struct Slot {
    Item item;
    uint32_t next = kNone;
    bool in_flight = false;
  };
  struct Chain {
    uint32_t head = kNone, tail = kNone;  // the oldest (in flight or next to send) and the newest
  };
  std::deque<Slot> slots;
  std::vector<uint32_t> free_slots;
  std::unordered_map<std::string, Chain> chains[2];  // submission -> its held events; [0] status, [1] domain
  std::unordered_set<int64_t> held[2];               // seqs held
  int64_t cursor[2] = {0, 0};                        // the last seq read
  std::deque<uint32_t> ready;                        // heads waiting to be sent
  std::unordered_map<std::string_view, uint32_t> inflight;  // event id (its slot's) -> slot
  struct Sent {
    Millis at;
    uint32_t slot;
    int64_t seq;
  };
  std::deque<Sent> sent;         // oldest first, for the timeout
  std::vector<uint32_t> acked;   // stored by JetStream, to mark
  std::vector<Failed> failed;    // refused, to mark with the error
  int marks_pending = 0;         // marks handed to the store, not yet answered
  Millis first_acked = 0;        // when the oldest of `acked` was taken (steady clock)
  bool read_more = true;  // the last read filled a page, or something was marked: read again now
  Millis last_read = 0;
  std::unordered_map<std::string, std::pair<Counter*, Counter*>> counters;  // route -> published, failed

  size_t held_count() const { return held[0].size() + held[1].size(); }
  void Hold(Item item) {
    uint32_t at;
    if (free_slots.empty()) {
      at = static_cast<uint32_t>(slots.size());
      slots.emplace_back();
    } else {
      at = free_slots.back();
      free_slots.pop_back();
    }
    Slot& slot = slots[at];
    slot.item = std::move(item);
    slot.next = kNone;
    slot.in_flight = false;
    held[slot.item.domain].insert(slot.item.seq);
    auto [chain, first] = chains[slot.item.domain].try_emplace(slot.item.submission);
    if (first) {
      chain->second = {at, at};
      ready.push_back(at);
    } else {
      slots[chain->second.tail].next = at;
      chain->second.tail = at;
    }
  }
  // The head `at` was stored: its submission's next event may go.
  void Pop(uint32_t at) {
    Slot& slot = slots[at];
    auto& chains_of = chains[slot.item.domain];
    auto chain = chains_of.find(slot.item.submission);
    if (slot.next == kNone) {
      chains_of.erase(chain);
    } else {
      chain->second.head = slot.next;
      ready.push_back(slot.next);
    }
    acked.push_back(at);
  }
  void Free(uint32_t at) {
    held[slots[at].item.domain].erase(slots[at].item.seq);
    free_slots.push_back(at);
  }
  void Clear() {
    slots.clear();
    free_slots.clear();
    for (bool d : {false, true}) {
      chains[d].clear();
      held[d].clear();
      cursor[d] = 0;
    }
    ready.clear();
    inflight.clear();
    sent.clear();
    acked.clear();
    first_acked = 0;
    failed.clear();
    read_more = true;
  }
};

NatsRelay::NatsRelay(const NatsConfig& config, std::map<std::string, NatsTarget> targets, Store& store,
                     Metrics& metrics)
    : config_(config),
      targets_(std::move(targets)),
      store_(store),
      metrics_(metrics),
      lag_(metrics.GetGauge("writ_nats_lag_seconds", "Age of the oldest event waiting for its NATS publish")),
      store_errors_(metrics.GetCounter("writ_nats_store_errors_total", "NATS relay store reads that failed")),
      duplicates_(metrics.GetCounter("writ_nats_duplicates_total",
                                     "Publishes JetStream acknowledged as duplicates (already stored)")),
      state_(std::make_unique<State>()) {
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
  acks_.push_back({event_id, error, duplicate});
  acks_cv_.notify_one();
}

void NatsRelay::Run() {
  Millis backoff = 0;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    int marked = nc_ || Connect() ? Pump() : -1;
    if (marked < 0) {
      backoff = std::clamp<Millis>(backoff * 2, 100, config_.max_backoff);
      if (!Sleep(backoff)) break;
      continue;
    }
    backoff = 0;
    if (Idle() && !Sleep(kPollInterval)) break;  // nothing held, in flight or known to wait: poll
  }
  // Nothing of the store's or libnats' may call back once the relay is gone.
  if (!state_->inflight.empty() || !state_->acked.empty() || state_->marks_pending > 0) Abort("stopping");
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
  jo.PublishAsync.MaxPending = Window();
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

int NatsRelay::Window() const { return kWindowBatches * config_.batch; }

bool NatsRelay::Idle() const {
  const State& st = *state_;
  return st.inflight.empty() && st.ready.empty() && st.marks_pending == 0 && !st.read_more;
}

bool NatsRelay::Read(bool domain) {
  State& st = *state_;
  int64_t& cursor = st.cursor[domain];
  std::vector<int64_t> before;
  std::vector<Item> items;
  size_t rows = 0;
  if (domain) {
    auto page = store_.queue().UnpublishedDomainEventsAfter(routes_, cursor, config_.batch);
    if (!page.ok()) return false;
    before = std::move(page->before);
    rows = page->rows.size();
    for (auto& d : page->rows)
      items.push_back({true, d.seq, std::move(d.id), std::move(d.submission_id), std::move(d.route), std::move(d.type),
                       std::move(d.subject), std::move(d.payload), std::move(d.aggregatetype),
                       std::move(d.aggregateid), d.created_at});
  } else {
    auto page = store_.queue().UnpublishedEventsAfter(routes_, cursor, config_.batch);
    if (!page.ok()) return false;
    before = std::move(page->before);
    rows = page->rows.size();
    for (auto& e : page->rows) {
      const NatsTarget& t = targets_.at(e.route);  // the query reads only the relay's routes
      std::string subject = NatsSubject(t.sink->subject, e.route, e.type);
      std::string body = t.redact && !t.redact->empty() ? RedactedEventPayload(e.payload, t.redact) : std::move(e.payload);
      items.push_back({false, e.seq, std::move(e.id), std::move(e.submission_id), std::move(e.route),
                       std::move(e.type), std::move(subject), std::move(body), "", "", e.created_at});
    }
  }
  // An unpublished event at or before the cursor that the relay does not
  // hold committed after the relay read past it (PostgreSQL hands out seqs
  // before commit). Its submission's later events, if any, are in this
  // snapshot too: read again from just before it, so they queue behind it.
  int64_t late = 0;
  for (int64_t seq : before)
    if (!st.held[domain].count(seq)) late = late == 0 ? seq : std::min(late, seq);
  if (late != 0) {
    cursor = late - 1;
    st.read_more = true;
    return true;
  }
  for (auto& it : items) {
    cursor = std::max(cursor, it.seq);
    if (!st.held[domain].count(it.seq)) st.Hold(std::move(it));
  }
  st.read_more = st.read_more || static_cast<int>(rows) >= config_.batch;
  return true;
}

std::string NatsRelay::TakeAcks(Millis wait) {
  State& st = *state_;
  std::vector<Ack> acks;
  std::vector<MarkDone> marks;
  {
    std::unique_lock lock(acks_mu_);
    // A good share of what is in flight (fewer, larger marks), or a mark's answer.
    size_t want = std::clamp<size_t>(st.inflight.size(), 1, std::max(1, config_.batch / 4));
    if (wait > 0 && acks_.size() < want && marks_done_.empty())
      acks_cv_.wait_for(lock, std::chrono::milliseconds(wait),
                        [&] { return acks_.size() >= want || !marks_done_.empty(); });
    acks.swap(acks_);
    marks.swap(marks_done_);
  }
  std::string failure;
  for (auto& m : marks) {
    --st.marks_pending;
    if (!m.ok) {
      store_errors_.Inc();
      if (failure.empty()) failure = "store write failed";
      continue;  // held still: the relay starts over
    }
    for (uint32_t at : m.slots) st.Free(at);
    st.read_more = true;  // their submissions' next events may be in the store now
  }
  for (auto& a : acks) {
    auto f = st.inflight.find(a.id);
    if (f == st.inflight.end()) continue;  // an answer to a publish withdrawn before
    uint32_t at = f->second;
    st.inflight.erase(f);
    State::Slot& slot = st.slots[at];
    slot.in_flight = false;
    if (!a.error.empty()) {
      st.failed.push_back({at, a.error});
      if (failure.empty()) failure = a.error;
      continue;  // its successors wait: the relay starts over
    }
    if (a.duplicate) duplicates_.Inc();
    st.Pop(at);
  }
  // No answer within the timeout: the oldest publish still in flight.
  auto answered = [&](const State::Sent& s) {
    const State::Slot& slot = st.slots[s.slot];
    return !slot.in_flight || slot.item.seq != s.seq;
  };
  while (!st.sent.empty() && answered(st.sent.front())) st.sent.pop_front();
  if (failure.empty() && !st.sent.empty() && SteadyMillis() - st.sent.front().at > config_.timeout)
    failure = "no acknowledgement within " + FormatDuration(config_.timeout);
  return failure;
}

std::pair<Counter*, Counter*> NatsRelay::RouteCounters(const std::string& route) {
  auto& counters = state_->counters;
  auto c = counters.find(route);
  if (c == counters.end())
    c = counters
            .emplace(route, std::make_pair(&metrics_.GetCounter("writ_nats_published_total",
                                                                "Events published to NATS JetStream (acknowledged)",
                                                                RouteLabel(route)),
                                           &metrics_.GetCounter("writ_nats_publish_failures_total",
                                                                "NATS publishes that failed", RouteLabel(route))))
            .first;
  return c->second;
}

void NatsRelay::MarkAcked() {
  State& st = *state_;
  if (st.acked.empty()) return;
  // JetStream holds these; a crash here publishes them again under the
  // same Nats-Msg-Id, which the stream drops as duplicates.
  WRIT_CRASH_POINT("nats_after_publish_before_mark");
  std::vector<int64_t> seqs[2];
  std::vector<uint32_t> slots[2];
  for (uint32_t at : st.acked) {
    const Item& it = st.slots[at].item;
    seqs[it.domain].push_back(it.seq);
    slots[it.domain].push_back(at);
    RouteCounters(it.route).first->Inc();
  }
  st.acked.clear();
  st.first_acked = 0;
  // Marked on the store's writer while the relay goes on; the slots stay
  // held (not read again) until the mark is answered.
  for (bool d : {false, true}) {
    if (seqs[d].empty()) continue;
    ++st.marks_pending;
    store_.queue().MarkPublished(d, std::move(seqs[d]), "", [this, held = std::move(slots[d])](Result<int> r) mutable {
      std::lock_guard lock(acks_mu_);
      marks_done_.push_back({std::move(held), r.ok()});
      acks_cv_.notify_one();
    });
  }
}

int NatsRelay::Pump() {
  State& st = *state_;
  // Read on when a page fits.
  size_t batch = static_cast<size_t>(config_.batch);
  bool room = st.held_count() + batch <= kHeldBatches * batch;
  Millis now = SteadyMillis();
  if (room && (st.read_more || now - st.last_read >= kPollInterval)) {
    st.read_more = false;
    st.last_read = now;
    if (!Read(false) || !Read(true)) {
      store_errors_.Inc();
      return Abort("store read failed");
    }
    Millis oldest = 0;
    for (const auto& chains : st.chains)
      for (const auto& [submission, chain] : chains) {
        Millis at = st.slots[chain.head].item.created_at;
        oldest = oldest == 0 ? at : std::min(oldest, at);
      }
    lag_.Set(oldest == 0 ? 0 : std::max<Millis>(0, store_.Now() - oldest) / 1000);
  }
  // Send the head of each ready submission while the window has room.
  while (!st.ready.empty() && static_cast<int>(st.inflight.size()) < Window()) {
    uint32_t at = st.ready.front();
    st.ready.pop_front();
    State::Slot& slot = st.slots[at];
    const Item& it = slot.item;
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, it.subject.c_str(), nullptr, it.body.data(), static_cast<int>(it.body.size()));
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Msg-Id", it.id.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Writ-Event-Type", it.type.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Writ-Submission-Id", it.submission.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Writ-Route", it.route.c_str());
    if (s == NATS_OK && it.domain) s = natsMsgHeader_Set(msg, "Writ-Aggregate-Type", it.aggregate_type.c_str());
    if (s == NATS_OK && it.domain) s = natsMsgHeader_Set(msg, "Writ-Aggregate-Id", it.aggregate_id.c_str());
    if (s == NATS_OK) s = js_PublishMsgAsync(js_, &msg, nullptr);
    natsMsg_Destroy(msg);  // null once the library took it
    if (s != NATS_OK) {
      std::string error = NatsError(s);
      st.failed.push_back({at, error});
      return Abort(error);
    }
    slot.in_flight = true;
    st.inflight.emplace(it.id, at);
    st.sent.push_back({SteadyMillis(), at, it.seq});
  }
  // Take the acknowledgements (waiting a little for a good share of them:
  // fewer, larger marks), send the next events they free, mark.
  std::string failure = TakeAcks(st.inflight.empty() && st.marks_pending == 0 ? 0 : 2);
  if (!failure.empty()) return Abort(failure);
  // Marks go in batches (fewer, larger writes: a page of events is
  // rewritten once): a full one, or whatever is acknowledged once nothing
  // is in flight or the oldest has waited 10 ms.
  int marked = 0;
  if (!st.acked.empty() && st.first_acked == 0) st.first_acked = SteadyMillis();
  if (static_cast<int>(st.acked.size()) >= config_.batch || st.inflight.empty() ||
      (!st.acked.empty() && SteadyMillis() - st.first_acked >= 10)) {
    marked = static_cast<int>(st.acked.size());
    MarkAcked();
  }
  return marked;
}

int NatsRelay::Abort(const std::string& why) {
  State& st = *state_;
  if (!st.inflight.empty()) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = config_.timeout;
    if (js_PublishAsyncComplete(js_, &po) != NATS_OK) {
      // Unanswered by the deadline: withdrawn, read again from the store.
      natsMsgList pending{};
      if (js_PublishAsyncGetPendingList(&pending, js_) == NATS_OK) natsMsgList_Destroy(&pending);
    }
    TakeAcks(0);
    for (const auto& [id, at] : st.inflight)
      st.failed.push_back({at, "no acknowledgement within " + FormatDuration(config_.timeout)});
  }
  MarkAcked();
  while (st.marks_pending > 0) TakeAcks(50);
  std::vector<int64_t> seqs[2];
  for (const Failed& f : st.failed) {
    const Item& it = st.slots[f.slot].item;
    seqs[it.domain].push_back(it.seq);
    LogJson("warn", "nats publish failed",
            {{"event", it.id}, {"submission", it.submission}, {"route", it.route}, {"reason", f.error}});
    RouteCounters(it.route).second->Inc();
  }
  if (st.failed.empty())
    LogJson("warn", "nats relay starts over", {{"reason", why}});
  for (bool d : {false, true}) {
    if (seqs[d].empty()) continue;
    auto r = Wait<int>([&](auto cb) { store_.queue().MarkPublished(d, std::move(seqs[d]), why, cb); });
    if (!r.ok()) store_errors_.Inc();
  }
  st.Clear();
  {
    std::lock_guard lock(acks_mu_);
    acks_.clear();
  }
  // The connection may be gone for good (a server replaced): start over.
  if (nc_ && natsConnection_Status(nc_) == NATS_CONN_STATUS_CLOSED) Disconnect();
  return -1;
}

}  // namespace writ
