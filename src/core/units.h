// Parsing of human units used in config and flags: durations ("250ms", "30s",
// "5m", "24h", "7d") and sizes ("512", "64KiB", "1MiB", "1MB").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace writ {

std::optional<Millis> ParseDuration(std::string_view s);
std::optional<uint64_t> ParseSize(std::string_view s);
std::string FormatDuration(Millis ms);
std::string FormatSize(uint64_t bytes);  // "64KiB", "1MiB", or plain bytes

}  // namespace writ
