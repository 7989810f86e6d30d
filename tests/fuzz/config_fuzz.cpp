// Fuzz target: config loading. Any text gives a config or a list of
// positioned errors; nothing may throw or crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/config.h"
#include "patterns/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  static const auto modes = writ::ModeSpecs();
  auto loaded = writ::LoadConfigText(text, "fuzz.yaml", modes);
  for (const auto& e : loaded.errors)
    if (e.message.empty()) std::abort();
  return 0;
}
