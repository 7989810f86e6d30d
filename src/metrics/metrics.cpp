#include "metrics/metrics.h"

#include <sstream>

namespace writ {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(v * 1e6), std::memory_order_relaxed);
}

std::vector<double> CompletionBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600};
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> SizeBuckets() { return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}; }

std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

Metrics::Family& Metrics::GetFamily(const std::string& name, const std::string& help, const char* type) {
  auto& f = families_[name];
  if (f.type.empty()) {
    f.help = help;
    f.type = type;
  }
  return f;
}

Counter& Metrics::GetCounter(const std::string& name, const std::string& help, const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& slot = GetFamily(name, help, "counter").counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Metrics::GetGauge(const std::string& name, const std::string& help, const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& slot = GetFamily(name, help, "gauge").gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Metrics::GetHistogram(const std::string& name, const std::string& help,
                                 const std::vector<double>& bounds, const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& slot = GetFamily(name, help, "histogram").histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

std::string Metrics::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::ostringstream out;
  auto braces = [](const std::string& l) { return l.empty() ? std::string() : "{" + l + "}"; };
  for (const auto& [name, f] : families_) {
    out << "# HELP " << name << ' ' << f.help << "\n# TYPE " << name << ' ' << f.type << '\n';
    for (const auto& [l, c] : f.counters) out << name << braces(l) << ' ' << c->Value() << '\n';
    for (const auto& [l, g] : f.gauges) out << name << braces(l) << ' ' << g->Value() << '\n';
    for (const auto& [l, h] : f.histograms) {
      uint64_t cum = 0;
      std::string sep = l.empty() ? "" : l + ",";
      for (size_t i = 0; i <= h->bounds_.size(); ++i) {
        cum += h->buckets_[i].load();
        std::ostringstream le;
        if (i < h->bounds_.size()) le << h->bounds_[i];
        else le << "+Inf";
        out << name << "_bucket{" << sep << "le=\"" << le.str() << "\"} " << cum << '\n';
      }
      out << name << "_sum" << braces(l) << ' ' << h->sum_micros_.load() / 1e6 << '\n';
      out << name << "_count" << braces(l) << ' ' << h->count_.load() << '\n';
    }
  }
  return out.str();
}

}  // namespace writ
