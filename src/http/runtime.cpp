#include "http/runtime.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "http/io.h"

namespace writ {
namespace {
class AsioScheduler : public Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& ioc) : ioc_(ioc) {}
  void Post(std::function<void()> fn) override { boost::asio::post(ioc_, std::move(fn)); }
  void After(Millis delay, std::function<void()> fn) override {
    auto t = std::make_shared<boost::asio::steady_timer>(ioc_, std::chrono::milliseconds(delay));
    t->async_wait([t, fn = std::move(fn)](boost::system::error_code ec) {
      if (!ec) fn();
    });
  }

 private:
  boost::asio::io_context& ioc_;
};
}  // namespace

Runtime::Runtime(int threads) : impl_(std::make_unique<Impl>(threads < 1 ? 1 : threads)) {
  impl_->scheduler = std::make_unique<AsioScheduler>(impl_->ioc);
}

Runtime::~Runtime() {
  Stop();
  Join();
}

void Runtime::Start() {
  for (int i = 0; i < impl_->thread_count; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
}

void Runtime::Stop() {
  impl_->work.reset();
  impl_->ioc.stop();
}

void Runtime::Join() {
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  impl_->threads.clear();
}

Scheduler& Runtime::scheduler() { return *impl_->scheduler; }

}  // namespace writ
