// Structured logs: one JSON object per line on stdout (stderr after
// LogToStderr()), spdlog underneath.
// Request lines carry ids, route, key hash, outcome and timing, never bodies.
// Thread-safety: all functions may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace writ {

void LogJson(const std::string& level, const std::string& msg, boost::json::object fields = {});
// The per-request line, written without building a JSON document (it is on
// the hot path). Strings are JSON-escaped.
struct RequestLogLine {
  std::string_view request_id, remote, method, route, outcome, key_hash;
  int status = 0;
  int64_t us = 0;
};
void LogRequest(const RequestLogLine& line);

// Sends log lines to stderr instead of stdout: for CLI commands whose
// stdout is their answer (`writ reconcile --json`). Call before the first
// line is logged; later calls change nothing.
void LogToStderr();

// Flushes and stops the logger (and its periodic flusher) before exit.
void ShutdownLogging();

}  // namespace writ
