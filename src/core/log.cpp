#include "core/log.h"

#include <atomic>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/json/serialize.hpp>

#include "core/clock.h"

namespace writ {
namespace {
std::atomic<bool> to_stderr{false};

spdlog::logger& Logger() {
  static auto logger = [] {
    auto l = to_stderr ? spdlog::stderr_logger_mt("writ-json") : spdlog::stdout_logger_mt("writ-json");
    l->set_pattern("%v");
    // Request lines are buffered (flushed every second); lifecycle and
    // warning lines are flushed at once (see LogJson).
    l->flush_on(spdlog::level::warn);
    spdlog::flush_every(std::chrono::seconds(1));
    return l;
  }();
  return *logger;
}
}  // namespace

void LogToStderr() { to_stderr = true; }

void LogJson(const std::string& level, const std::string& msg, boost::json::object fields) {
  boost::json::object o;
  o["ts"] = SystemClock().NowMs();
  o["level"] = level;
  o["msg"] = msg;
  for (auto& kv : fields) o[kv.key()] = std::move(kv.value());
  auto& logger = Logger();
  logger.info(boost::json::serialize(o));
  if (msg != "request") logger.flush();
}

namespace {
void AppendEscaped(std::string& out, std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7f) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
}
void Field(std::string& out, const char* name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":\"";
  AppendEscaped(out, value);
  out += '"';
}
}  // namespace

void LogRequest(const RequestLogLine& l) {
  thread_local std::string line;
  line.clear();
  line += "{\"ts\":";
  line += std::to_string(SystemClock().NowMs());
  line += ",\"level\":\"info\",\"msg\":\"request\"";
  Field(line, "request_id", l.request_id);
  Field(line, "remote", l.remote);
  Field(line, "method", l.method);
  Field(line, "route", l.route);
  line += ",\"status\":";
  line += std::to_string(l.status);
  Field(line, "outcome", l.outcome);
  Field(line, "key_hash", l.key_hash);
  line += ",\"us\":";
  line += std::to_string(l.us);
  line += '}';
  Logger().info(std::string_view(line));
}

void ShutdownLogging() {
  Logger().flush();
  spdlog::shutdown();
}

}  // namespace writ
