// In-process stand-ins for pattern tests that run without sockets:
// HonouringMaster, a master that honours Idempotency-Key (and per-item keys
// of bulk requests, like `writ mock-master --honor-idempotency-key`), and
// LoopScheduler, a one-thread timer loop that can be stopped and joined.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "core/scheduler.h"
#include "upstream/client.h"

namespace writ::testing {

class HonouringMaster : public UpstreamClient {
 public:
  void Send(UpstreamRequest req, std::function<void(UpstreamResult)> done) override {
    UpstreamResult r;
    if (req.target.size() > 6 && req.target.compare(req.target.size() - 6, 6, "/_bulk") == 0) {
      r.response = ApplyBulk(req.body);
    } else {
      std::lock_guard lock(mu_);
      r.response = ApplyOne(std::string(FindHeader(req.headers, "Idempotency-Key").value_or("")));
    }
    done(std::move(r));
  }
  // Side effects in total, and per key.
  int applied() {
    std::lock_guard lock(mu_);
    return applied_;
  }
  std::map<std::string, int> applied_by_key() {
    std::lock_guard lock(mu_);
    return by_key_;
  }

 private:
  Response ApplyOne(const std::string& key) {  // caller holds mu_
    auto it = answers_.find(key);
    if (it == answers_.end()) {
      ++applied_;
      ++by_key_[key];
      Response created;
      created.status = 201;
      created.headers = {{"Content-Type", "application/json"}, {"Location", "/orders/" + std::to_string(applied_)}};
      created.body = "{\"id\":" + std::to_string(applied_) + "}";
      it = answers_.emplace(key, created).first;
    }
    return it->second;
  }
  Response ApplyBulk(const std::string& body) {
    boost::json::array results;
    auto doc = boost::json::parse(body);
    std::lock_guard lock(mu_);
    for (auto& item : doc.as_object()["items"].as_array()) {
      Response one = ApplyOne(std::string(item.as_object()["key"].as_string()));
      results.push_back({{"status", one.status}, {"id", boost::json::parse(one.body).as_object()["id"]}});
    }
    Response r;
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = boost::json::serialize(boost::json::object{{"results", std::move(results)}});
    return r;
  }

  std::mutex mu_;
  std::map<std::string, Response> answers_;
  std::map<std::string, int> by_key_;
  int applied_ = 0;
};

class LoopScheduler : public Scheduler {
 public:
  LoopScheduler() : thread_([this] { Run(); }) {}
  ~LoopScheduler() override { Stop(); }
  void Post(std::function<void()> fn) override { After(0, std::move(fn)); }
  void After(Millis delay, std::function<void()> fn) override {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      tasks_.push({Clock::now() + std::chrono::milliseconds(delay), seq_++, std::move(fn)});
    }
    cv_.notify_one();
  }
  // Runs nothing more; joins the loop thread.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Task {
    Clock::time_point at;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Task& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  void Run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (tasks_.empty()) {
        cv_.wait(lock);
        continue;
      }
      if (auto at = tasks_.top().at; at > Clock::now()) {  // a copy: pushes may move the queue's storage
        cv_.wait_until(lock, at);
        continue;
      }
      auto fn = tasks_.top().fn;
      tasks_.pop();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Task, std::vector<Task>, std::greater<Task>> tasks_;
  uint64_t seq_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace writ::testing
