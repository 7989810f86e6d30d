// Structured logs: one JSON object per line on stdout (spdlog underneath).
// Request lines carry ids, route, key hash, outcome and timing, never bodies.
// Thread-safety: all functions may be called from any thread.
#pragma once

#include <string>

#include <boost/json/object.hpp>

namespace writ {

void LogJson(const std::string& level, const std::string& msg, boost::json::object fields = {});
// Flushes and stops the logger (and its periodic flusher) before exit.
void ShutdownLogging();

}  // namespace writ
