#include "projections/decoded_batches.hpp"

#include "projections/fold_reader.hpp"

namespace tasklog::projections {

DecodedBatches::DecodedBatches(std::string conninfo, Position after, Position up_to, std::size_t batch)
    : reader_([this, conninfo = std::move(conninfo), after, up_to, batch] { read(conninfo, after, up_to, batch); }) {}

DecodedBatches::~DecodedBatches() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  reader_.join();
}

void DecodedBatches::read(std::string conninfo, Position after, Position up_to, std::size_t batch) {
  try {
    pqxx::connection c(conninfo);
    pqxx::read_transaction tx(c, "fold prefetch");
    FoldReader reader(tx);
    while (after < up_to) {
      const auto recorded = reader.range(after, up_to, batch);
      if (recorded.empty()) break;
      after = recorded.back().position;
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stop_ || ready_.size() < kAhead; });
      if (stop_) return;
      ready_.push_back(std::move(recorded));
      changed_.notify_all();
    }
  } catch (...) {
    std::lock_guard lock(mutex_);
    error_ = std::current_exception();
  }
  std::lock_guard lock(mutex_);
  done_ = true;
  changed_.notify_all();
}

std::optional<std::vector<DecodedEvent>> DecodedBatches::next() {
  std::vector<events::RecordedEvent> recorded;
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (ready_.empty()) {
      if (error_) std::rethrow_exception(error_);
      return std::nullopt;
    }
    recorded = std::move(ready_.front());
    ready_.pop_front();
  }
  changed_.notify_all();
  // Decoded here, while the reader waits for the server's next batch.
  std::vector<DecodedEvent> decoded;
  decoded.reserve(recorded.size());
  for (const auto& e : recorded) decoded.push_back(decode(e));
  return decoded;
}

}  // namespace tasklog::projections
