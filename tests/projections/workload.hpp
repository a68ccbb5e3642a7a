// A seeded random workload for the replay tests: a stream of every kind of command over a few
// projects of its own, driven through TaskEngine, learning ids from the events and lease tokens from the answers
// it gets back. Refusals (stale tokens, illegal transitions, failing gates, cycles) are part of
// the mix: they must leave no trace in the log or the read models.
//
// Not thread-safe: one Workload per thread (several may share one TaskEngine).
#pragma once

#include "core/commands.hpp"
#include "projections/task_engine.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace tasklog::projections::testing {

// A clock for the store and the engine that moves forward `step` on every reading, so leases
// run out and retries come due within a test's few thousand commands. Thread-safe.
class SteppingClock {
 public:
  explicit SteppingClock(std::chrono::microseconds step = std::chrono::milliseconds(50));
  Timestamp operator()();

 private:
  std::chrono::microseconds step_;
  std::atomic<std::int64_t> micros_;
};

struct WorkloadStats {
  std::uint64_t commands = 0;
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;
  std::uint64_t events = 0;
  std::map<std::string, std::uint64_t, std::less<>> accepted_by_command{};
};

class Workload {
 public:
  Workload(TaskEngine& engine, std::uint64_t seed, int projects = 2);

  // Creates the projects on first use, then runs `commands` more commands.
  void run(std::size_t commands);

  const std::vector<Uuid>& projects() const { return projects_; }
  const WorkloadStats& stats() const { return stats_; }

 private:
  Command next_command();
  void execute(const Command& command);
  void learn(const std::vector<DomainEvent>& events, const std::optional<Uuid>& lease_token);

  std::size_t pick(std::size_t size) { return std::uniform_int_distribution<std::size_t>(0, size - 1)(random_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(random_); }
  Uuid some_project() { return projects_[pick(projects_.size())]; }
  std::optional<Uuid> some_task();
  std::optional<Uuid> some_task_of(const Uuid& project);
  // A held lease's task and token, or a task with a stale/unknown token (for fencing refusals).
  std::optional<std::pair<Uuid, Uuid>> some_lease();
  std::optional<Uuid> token_for(const Uuid& task);
  std::string words(std::size_t count);

  TaskEngine& engine_;
  std::mt19937_64 random_;
  int project_count_;
  Uuid actor_;
  std::string agent_;
  std::vector<Uuid> projects_;
  std::map<Uuid, std::vector<Uuid>> tasks_;  // by project, in creation order
  std::map<Uuid, Uuid> task_project_;
  std::map<Uuid, Uuid> leases_;                  // task -> token held by this workload
  std::vector<Uuid> stale_tokens_;
  std::map<Uuid, std::vector<Uuid>> artifacts_;  // by task
  std::map<Uuid, std::vector<Uuid>> decisions_;  // by project
  std::vector<Uuid> members_;
  WorkloadStats stats_;
};

}  // namespace tasklog::projections::testing
