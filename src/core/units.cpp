#include "core/units.h"

#include <charconv>

namespace writ {
namespace {
// Splits "123unit" into number and unit; false if no leading digits.
bool Split(std::string_view s, double& num, std::string_view& unit) {
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  if (i == 0) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + i, num);
  if (ec != std::errc() || p != s.data() + i) return false;
  unit = s.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return num >= 0;
}
}  // namespace

std::optional<Millis> ParseDuration(std::string_view s) {
  double n;
  std::string_view u;
  if (!Split(s, n, u)) return std::nullopt;
  double mult;
  if (u == "ms") mult = 1;
  else if (u == "s") mult = 1000;
  else if (u == "m") mult = 60'000;
  else if (u == "h") mult = 3'600'000;
  else if (u == "d") mult = 86'400'000;
  else return std::nullopt;
  return static_cast<Millis>(n * mult);
}

std::optional<uint64_t> ParseSize(std::string_view s) {
  double n;
  std::string_view u;
  if (!Split(s, n, u)) return std::nullopt;
  double mult;
  if (u.empty() || u == "B") mult = 1;
  else if (u == "KiB") mult = 1024;
  else if (u == "MiB") mult = 1024.0 * 1024;
  else if (u == "GiB") mult = 1024.0 * 1024 * 1024;
  else if (u == "KB" || u == "kB") mult = 1000;
  else if (u == "MB") mult = 1e6;
  else if (u == "GB") mult = 1e9;
  else return std::nullopt;
  if (n * mult >= 9.0e18) return std::nullopt;  // past what a uint64_t holds exactly
  return static_cast<uint64_t>(n * mult);
}

std::string FormatSize(uint64_t bytes) {
  if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0) return std::to_string(bytes >> 30) + "GiB";
  if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  if (bytes >= (1ull << 10) && bytes % (1ull << 10) == 0) return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes);
}

std::string FormatDuration(Millis ms) {
  if (ms % 3'600'000 == 0 && ms > 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms > 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0 && ms > 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace writ
