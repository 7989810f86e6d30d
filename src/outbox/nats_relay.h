// Status events to NATS JetStream (transactional outbox relay). Events are
// written by the store in the same transaction as the state change they
// describe; this relay publishes those of routes with `sinks.nats` to the
// configured stream and marks each published only after JetStream
// acknowledged it (an acknowledgement saying "duplicate" counts: the stream
// already holds it).
//
// - Once per stream: each message carries Nats-Msg-Id = the event's id, so
//   a publish repeated after a lost acknowledgement or a crash before the
//   mark is dropped by JetStream within the stream's duplicate window.
// - In order per submission (or saga): one event of each is in flight at a
//   time, the oldest unpublished; the next is sent once JetStream
//   acknowledged it.
// - Streaming: up to 8 x nats.batch events (of different submissions) are in
//   flight at once, and acknowledged ones are marked, in batches, on the
//   store's writer while later ones are in flight. The relay holds up to
//   12 x nats.batch events and reads on, nats.batch at a time, from the last
//   one it read (see Read for events that commit out of seq order).
// - Nothing dropped: after a failure (a refused publish, no acknowledgement
//   within nats.timeout, a store error) the relay waits for what is in
//   flight, marks what JetStream stored, forgets the rest and reads it again
//   from the store after a backoff doubling up to nats.max_backoff, forever;
//   writ_nats_lag_seconds shows the age of the oldest event waiting.
//
// At start (and after each lost connection) the relay checks the stream:
// creates it when missing (nats.create_stream), and warns when its duplicate
// window is shorter than a retry could take, or its subjects miss a route's.
//
// Thread-safety: the relay runs on its own thread (libnats calls block).
// Start/Stop from the controlling thread; Stop, then wait for idle() (or
// destroy, which waits).
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "config/config.h"
#include "metrics/metrics.h"
#include "outbox/notify_config.h"
#include "store/store.h"

// libnats' handles (nats.h stays out of this header).
struct __natsConnection;
struct __jsCtx;

namespace writ {

struct NatsTarget {
  const NatsSinkConfig* sink = nullptr;
  const Redactor* redact = nullptr;  // the route's redacted fields, unless sink.redact is false
};

class NatsRelay {
 public:
  // `targets` maps route names to their sink; the relay borrows them.
  NatsRelay(const NatsConfig& config, std::map<std::string, NatsTarget> targets, Store& store, Metrics& metrics);
  ~NatsRelay();
  NatsRelay(const NatsRelay&) = delete;
  NatsRelay& operator=(const NatsRelay&) = delete;

  void Start();
  void Stop();
  bool idle() const;

  // Called by libnats (its thread) for each acknowledged or failed publish.
  void OnAck(const std::string& event_id, const std::string& error, bool duplicate);

 private:
  struct State;  // the held events, what is in flight (the relay's thread only)
  void Run();
  bool Connect();
  void Disconnect();
  bool CheckStream();
  // One pass: reads on when there is room, sends the next event of each
  // submission, takes the acknowledgements that came and marks those events.
  // Returns how many it marked published, or -1 after a failure (Abort ran).
  int Pump();
  // Events in flight at most (libnats' MaxPending too).
  int Window() const;
  // Nothing held, in flight, or known to wait in the store.
  bool Idle() const;
  // Reads the events after the cursor (`domain`: the outbox table); false on
  // a store error.
  bool Read(bool domain);
  // Takes the acknowledgements and mark answers that came (waiting up to
  // `wait`); returns the first failure ("" if none).
  std::string TakeAcks(Millis wait);
  // Hands the acknowledged events' marks to the store (answered through
  // marks_done_, taken by TakeAcks).
  void MarkAcked();
  // After a failure: waits for what is in flight, marks what JetStream
  // stored and the failed tries, and forgets everything held (read again
  // from the store). Returns -1.
  int Abort(const std::string& why);
  // Waits `ms` or until Stop; returns false once stopping.
  bool Sleep(Millis ms);
  // writ_nats_published_total and writ_nats_publish_failures_total of a route (looked up once).
  std::pair<Counter*, Counter*> RouteCounters(const std::string& route);

  const NatsConfig& config_;
  std::map<std::string, NatsTarget> targets_;
  std::vector<std::string> routes_;
  Store& store_;
  Metrics& metrics_;
  Gauge& lag_;
  Counter& store_errors_;
  Counter& duplicates_;
  ::__natsConnection* nc_ = nullptr;
  ::__jsCtx* js_ = nullptr;
  std::unique_ptr<State> state_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool running_ = false;
  std::thread thread_;

  struct Ack {
    std::string id;
    std::string error;  // "": stored
    bool duplicate = false;
  };
  std::mutex acks_mu_;
  std::condition_variable acks_cv_;
  std::vector<Ack> acks_;  // answers not yet taken by the relay's thread
  struct MarkDone {
    std::vector<uint32_t> slots;
    bool ok = false;
  };
  std::vector<MarkDone> marks_done_;  // store answers to marks, likewise
};

}  // namespace writ
