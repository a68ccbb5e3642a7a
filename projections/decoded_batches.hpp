// DecodedBatches: the log read ahead on a thread and a connection of its own, so that the
// server's work for the next batch overlaps with decoding and folding this one (the rebuild's
// first pass is the long one). Reads committed positions only — at or below a head the
// caller read before — which every transaction sees alike, so no snapshot needs sharing.
//
// Thread-safety: next() from one thread; the reader thread is internal.
#pragma once

#include "projections/fold.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tasklog::projections {

class DecodedBatches {
 public:
  DecodedBatches(std::string conninfo, Position after, Position up_to, std::size_t batch);
  ~DecodedBatches();  // stops the reader and waits for it
  DecodedBatches(const DecodedBatches&) = delete;
  DecodedBatches& operator=(const DecodedBatches&) = delete;

  // The next batch in position order; nullopt at the end. Rethrows the reader's error (FoldError
  // for an event that cannot be decoded).
  std::optional<std::vector<DecodedEvent>> next();

 private:
  void read(std::string conninfo, Position after, Position up_to, std::size_t batch);

  static constexpr std::size_t kAhead = 2;  // batches decoded but not yet taken
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::vector<events::RecordedEvent>> ready_;
  bool done_ = false;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread reader_;
};

}  // namespace tasklog::projections
