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
// - In order per submission (or saga): a round publishes at most one event
//   of each, the oldest unpublished; the next waits for its acknowledgement.
// - Nothing dropped: a failed round is tried again after a backoff doubling
//   up to nats.max_backoff, forever; writ_nats_lag_seconds shows the age of
//   the oldest event waiting.
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
#include <mutex>
#include <string>
#include <thread>
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
  void Run();
  bool Connect();
  void Disconnect();
  bool CheckStream();
  // One round: publishes the due events, waits for their acknowledgements,
  // marks them. Returns the events published, or -1 when the round failed.
  int Round();
  // Waits `ms` or until Stop; returns false once stopping.
  bool Sleep(Millis ms);

  const NatsConfig& config_;
  std::map<std::string, NatsTarget> targets_;
  std::vector<std::string> routes_;
  Store& store_;
  Metrics& metrics_;
  Gauge& lag_;
  Counter& store_errors_;
  ::__natsConnection* nc_ = nullptr;
  ::__jsCtx* js_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool running_ = false;
  std::thread thread_;

  std::mutex acks_mu_;
  struct Ack {
    std::string error;  // "": stored
    bool duplicate = false;
  };
  std::map<std::string, Ack> acks_;  // event id -> answer, for the round in flight
};

}  // namespace writ
