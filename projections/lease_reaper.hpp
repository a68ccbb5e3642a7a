// LeaseReaper: gives up leases that ran out. A thread with its own connection looks for tasks
// whose lease expired and runs the domain's expire_lease for each through the TaskEngine, so the
// expiry is decided under the append lock like any command: a holder that heartbeated in the
// meantime wins, and the reaper's command is refused (counted, not an error).
//
// Thread-safety: start/stop/reap_once/stats from any thread; passes never overlap.
#pragma once

#include "projections/read_model_store.hpp"
#include "projections/task_engine.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace tasklog::projections {

struct LeaseReaperOptions {
  std::string conninfo{};
  std::optional<std::string> role = "tasklog_app";
  std::chrono::milliseconds interval{1000};  // between passes
  std::size_t batch = 256;                   // expired leases handled per pass at most
  Uuid actor{};                              // who the expiry events are recorded as (the system)
  std::string schema = std::string(kReadSchema);
  // What "expired" is judged against; default: the database's now(). Tests that move the engine's
  // clock forward give the reaper the same clock.
  std::function<Timestamp()> clock{};
};

struct LeaseReaperStats {
  std::uint64_t passes = 0;
  std::uint64_t expired = 0;  // TaskLeaseExpired appended
  std::uint64_t refused = 0;  // the holder heartbeated, completed or released first
  std::uint64_t errors = 0;   // passes or commands that failed for another reason
};

class LeaseReaper {
 public:
  LeaseReaper(TaskEngine& engine, LeaseReaperOptions options);
  ~LeaseReaper();  // stop()
  LeaseReaper(const LeaseReaper&) = delete;
  LeaseReaper& operator=(const LeaseReaper&) = delete;

  void start();  // idempotent
  void stop();   // finishes the running pass, joins; idempotent

  // One pass: expires what is due now and returns how many leases it expired.
  std::size_t reap_once();

  LeaseReaperStats stats() const;

 private:
  void run();

  TaskEngine& engine_;
  LeaseReaperOptions options_;
  std::mutex pass_mutex_;  // one pass at a time; guards connection_
  std::unique_ptr<pqxx::connection> connection_;
  std::mutex mutex_;  // guards stopping_ and thread_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<std::uint64_t> passes_{0}, expired_{0}, refused_{0}, errors_{0};
};

}  // namespace tasklog::projections
