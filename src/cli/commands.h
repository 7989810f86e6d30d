// Sub-commands of the `writ` binary that live outside the gateway library.
#pragma once

#include <string>

namespace writ {

struct DemoOptions {
  int writes = 2000;       // logical writes per scenario
  int concurrency = 16;    // client threads
  uint64_t seed = 0;       // 0: random; printed either way
  bool serve = false;      // keep running with curl examples instead of driving load
  std::string data_dir;    // default: a fresh temp dir
};
int RunDemo(const DemoOptions& o);

int RunKeysList(const std::string& config_path, const std::string& state, const std::string& route, int limit);
// Deletes every expired idempotency record now, in batches; prints the count.
int RunGc(const std::string& config_path);
int RunKeysDelete(const std::string& config_path, const std::string& route, const std::string& key);

}  // namespace writ
