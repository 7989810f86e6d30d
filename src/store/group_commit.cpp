#include "store/group_commit.h"

#include <algorithm>
#include <chrono>

#include "metrics/metrics.h"

namespace writ {

GroupCommitDatabase::GroupCommitDatabase(const StoreOptions& o) : opts_(o), clock_(o.clock) {
  if (o.metrics) {
    commit_latency_ = &o.metrics->GetHistogram("writ_store_commit_seconds", "Group commit latency including fsync",
                                               LatencyBuckets());
    batch_size_ =
        &o.metrics->GetHistogram("writ_store_commit_batch_size", "Operations sharing one commit", SizeBuckets());
    commit_errors_ = &o.metrics->GetCounter("writ_store_commit_errors_total", "Failed group commits");
  }
}

GroupCommitDatabase::~GroupCommitDatabase() { StopWriter(); }

void GroupCommitDatabase::Submit(Work work, std::function<void(Status)> done, bool durable) {
  if (opts_.read_only) {
    done(Status(Code::kInvalidArgument, "store opened read-only"));
    return;
  }
  {
    std::lock_guard lock(mu_);
    queue_.push_back({std::move(work), std::move(done), durable});
  }
  cv_.notify_one();
}

void GroupCommitDatabase::StartWriter() {
  if (!opts_.read_only) writer_ = std::thread([this] { WriterLoop(); });
}

void GroupCommitDatabase::StopWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

bool GroupCommitDatabase::stopping() {
  std::lock_guard lock(mu_);
  return stop_;
}

// Take everything queued (up to max_batch), run it in one transaction,
// commit once, then tell every caller.
void GroupCommitDatabase::WriterLoop() {
  std::vector<Op> batch;
  std::vector<Status> results;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) return;
      while (!queue_.empty() && static_cast<int>(batch.size()) < opts_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    auto t0 = std::chrono::steady_clock::now();
    results.assign(batch.size(), Status::Ok());
    Status commit = RunBatch(batch, results);
    if (commit_latency_) {
      commit_latency_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      batch_size_->Observe(static_cast<double>(batch.size()));
      if (!commit.ok()) commit_errors_->Inc();
    }
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(commit.ok() ? results[i] : commit);
    batch.clear();
  }
}

int LatestVersion(const std::vector<SchemaStep>& steps) {
  int v = 0;
  for (const auto& s : steps) v = std::max(v, s.version);
  return v;
}

Result<std::vector<SchemaStep>> PendingSteps(const std::vector<SchemaStep>& steps, int64_t from) {
  if (steps.empty()) return Status(Code::kInternal, "no schema steps given (StoreOptions.schema)");
  std::vector<SchemaStep> sorted = steps;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
  for (size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i].version != static_cast<int>(i) + 1)
      return Status(Code::kInternal, std::string("schema step '") + sorted[i].concern + "' has version " +
                                         std::to_string(sorted[i].version) + ", expected " + std::to_string(i + 1));
  int latest = LatestVersion(sorted);
  if (from > latest)
    return Status(Code::kInvalidArgument, "the store's schema version " + std::to_string(from) +
                                              " is newer than this writ (" + std::to_string(latest) +
                                              "); upgrade writ");
  std::vector<SchemaStep> out;
  for (const auto& s : sorted)
    if (s.version > from) out.push_back(s);
  return out;
}

}  // namespace writ
