// A small metrics registry rendered in the Prometheus text format.
// Components get the registry injected and look up their series once (or per
// label set); the returned references stay valid for the registry's lifetime.
// Thread-safety: everything here may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace writ {

class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Add(int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  void Set(int64_t n) { v_.store(n, std::memory_order_relaxed); }
  int64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  uint64_t Count() const { return count_.load(); }

 private:
  friend class Metrics;
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // one per bound, plus +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};  // sum scaled by 1e6 to stay atomic
};

// Bucket bounds for latencies in seconds, 100 µs .. 10 s.
std::vector<double> LatencyBuckets();
// Bucket bounds for background completions in seconds, 1 ms .. 1 h.
std::vector<double> CompletionBuckets();
// Bucket bounds for counts (batch sizes), 1 .. 4096.
std::vector<double> SizeBuckets();

class Metrics {
 public:
  // `labels` is the Prometheus label body, e.g. route="POST /orders",status="201".
  Counter& GetCounter(const std::string& name, const std::string& help, const std::string& labels = "");
  Gauge& GetGauge(const std::string& name, const std::string& help, const std::string& labels = "");
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const std::vector<double>& bounds, const std::string& labels = "");
  std::string RenderPrometheus() const;

 private:
  struct Family {
    std::string help, type;
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& GetFamily(const std::string& name, const std::string& help, const char* type);
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

// Escapes a label value for the text format.
std::string LabelValue(const std::string& v);
// The label body route="NAME" that per-route series share.
inline std::string RouteLabel(const std::string& route) { return "route=\"" + LabelValue(route) + "\""; }

}  // namespace writ
