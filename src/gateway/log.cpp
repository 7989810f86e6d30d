#include "gateway/log.h"

#include <boost/json/serialize.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace writ {
namespace {
spdlog::logger& Logger() {
  static auto logger = [] {
    auto l = spdlog::stdout_logger_mt("writ-json");
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

void ShutdownLogging() {
  Logger().flush();
  spdlog::shutdown();
}

}  // namespace writ
