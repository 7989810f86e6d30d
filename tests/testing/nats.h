// A real nats-server with JetStream for the tests that need one: each test
// starts its own (`nats-server -js`, store in the test's directory, on a
// loopback port below the ephemeral range so a restart gets it back), and a
// reader of what a stream holds. The binary is Debian's, unpacked by
// scripts/install-deps.sh into .deps/nats (never a system service).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/process.h"

namespace writ::testing {

class NatsServerProcess {
 public:
  // Starts and waits until it takes connections (fails the test if not).
  void Start(const std::string& dir);
  void Stop() { proc_.Stop(); }  // SIGTERM: a clean shutdown, the stream kept on disk
  void Kill() {
    proc_.Signal(9);
    proc_.Wait();
  }
  // Starts again on the same port with the same store.
  void Restart();
  uint16_t port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  bool running() const { return proc_.running(); }

 private:
  void Launch();
  ChildProcess proc_;
  std::string dir_;
  uint16_t port_ = 0;
  int starts_ = 0;
};

// One message of a stream, with the headers Writ sets.
struct StreamMessage {
  uint64_t seq = 0;
  std::string subject, id, type, submission, data;
};
// Every message `stream` holds, in stream order; empty (and a test failure)
// when the stream cannot be read.
std::vector<StreamMessage> ReadStream(const std::string& url, const std::string& stream);
// One row of the store's events table, with its two sinks' states.
struct EventRow {
  int64_t seq = 0;
  std::string id, submission, type;
  bool published = false, delivered = false;
};
// Every event the store at `store_url` holds, in write order.
std::vector<EventRow> StoredEvents(const std::string& store_url);

// The stream's duplicate window in milliseconds (-1 if it cannot be read).
int64_t StreamDuplicateWindow(const std::string& url, const std::string& stream);

}  // namespace writ::testing
