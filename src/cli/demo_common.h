// What the scenarios of `writ demo` share (demo.cpp): a mock master and a
// writ started as a pair, calls carrying the demo's API key, the master's
// counters. The sync and async scenarios are in demo.cpp; each other mode's
// in demo_<mode>.cpp.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "cli/commands.h"
#include "cli/process.h"
#include "core/http_types.h"

namespace writ::demo {

struct Scenario {
  std::string title;
  bool honor = false;
  std::string on_unknown;
  bool async = false;  // drive POST /payments (mode: async) instead of POST /orders
  bool probe = false;  // POST /orders has a probe; clients keep retrying parked keys
};

struct Running {
  ChildProcess master, writ;
  uint16_t master_port = 0, writ_port = 0, admin_port = 0;
  std::string config;
  std::string key;  // an API key of tenant demo (client, reader, operator)
};

// What a scenario's clients saw.
struct Tally {
  std::atomic<int64_t> requests{0}, retries{0}, replays{0}, bad_replays{0}, conflicts{0}, succeeded{0}, parked{0},
      failed{0}, accepted{0}, dead{0}, unknown_answers{0}, reconstructed{0};
};

// A client's wait before attempt n (n > 0): exponential backoff with full
// jitter, capped at 400 ms, as a well-behaved client retries.
void ClientBackoff(int attempt, std::mt19937_64& rng, Tally& t);
// A call to writ with the demo's API key.
Result<Response> WritCall(uint16_t port, Request req, Millis timeout = 10'000);
Result<Response> Send(uint16_t port, const std::string& method, const std::string& target, const std::string& body,
                      Headers headers);
// The mock master's command line (port 0: any free one), and the pair started.
std::vector<std::string> MasterArgs(const Scenario& s, uint64_t seed, bool faults, uint16_t port = 0);
// `config` writes writ's config (the master's port, the store's file, the
// pepper's file); unset: the demo's config of every other scenario.
using DemoConfigFn = std::function<std::string(uint16_t master_port, const std::string& db, const std::string& pepper)>;
Result<Running> StartPair(const std::string& dir, const Scenario& s, uint64_t seed, bool faults,
                          const DemoConfigFn& config = {});
boost::json::object MasterStats(uint16_t port);
int64_t Num(const boost::json::object& o, const char* k);
// A string field of a JSON body ("" if none).
std::string DraftField(const Response& r, const char* name);

// The scenarios with a file of their own (demo_<mode>.cpp).
int RunBulkScenario(const std::string& dir, const DemoOptions& o, uint64_t seed);
int RunDraftScenario(const std::string& dir, const DemoOptions& o, uint64_t seed);
int RunEdgeScenario(const std::string& dir, const DemoOptions& o, uint64_t seed);
int RunCopyScenario(const std::string& dir, const DemoOptions& o, uint64_t seed);
int RunSagaScenario(const std::string& dir, const DemoOptions& o, uint64_t seed);

}  // namespace writ::demo
