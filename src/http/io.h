// Internal to http/: the Asio types behind Runtime. Never include outside http/.
#pragma once

#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "http/runtime.h"

namespace writ {

struct Runtime::Impl {
  explicit Impl(int threads) : ioc(threads), work(ioc.get_executor()), thread_count(threads) {}
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  int thread_count;
  std::vector<std::thread> threads;
  std::unique_ptr<Scheduler> scheduler;
};

}  // namespace writ
