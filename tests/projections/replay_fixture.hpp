// Shared set-up for the replay tests (rebuild, verify, time travel, project context): a fresh
// database, a TaskEngine on an EventStore with the inline projector, a stepping clock, and
// helpers to run seeded workloads and read the inline read models.
#pragma once

#include "events/canonical.hpp"
#include "events/event_reader.hpp"
#include "events/event_store.hpp"
#include "projections/model_diff.hpp"
#include "projections/read_model_store.hpp"
#include "projections/task_engine.hpp"
#include "tests/projections/workload.hpp"
#include "tests/support/test_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tasklog::projections::testing {

inline std::string describe(const std::optional<Difference>& difference) {
  return difference ? difference->describe() : std::string("no difference");
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto options = engine_store_options(db.conninfo());
    options.clock = [this] { return clock(); };
    store = std::make_unique<events::EventStore>(std::move(options));
    engine = std::make_unique<TaskEngine>(*store, std::function<Uuid()>{}, [this] { return clock(); });
  }
  void TearDown() override {
    engine.reset();
    store.reset();
  }

  // The read models as the inline projector left them, in one snapshot.
  ProjectModels load_inline() {
    pqxx::connection c(db.conninfo());
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
    return load_all(tx);
  }

  // Every event of a database, in position order.
  static std::vector<events::RecordedEvent> all_events(const std::string& conninfo) {
    pqxx::connection c(conninfo);
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
    return events::EventReader(tx).after(0, 1'000'000);
  }

  // The chain made whole again from `first` on, after an event was changed: what someone who
  // rewrites a log without a secret can always do.
  static void rehash_from(std::vector<events::RecordedEvent>& log, std::size_t first) {
    for (std::size_t i = first; i < log.size(); ++i) {
      log[i].prev_hash = i == 0 ? events::kGenesisHash : log[i - 1].hash;
      log[i].hash = events::chain_hash(log[i].prev_hash, events::canonicalized(log[i]));
    }
  }

  // `event` once more after the log's head, with an event id of its own and its stream's next
  // version, chained on the head: a log that repeats what the payload creates (a message id, say),
  // which every chain check passes.
  static events::RecordedEvent appended_again(const std::vector<events::RecordedEvent>& log,
                                              const events::RecordedEvent& event) {
    events::RecordedEvent again = event;
    again.position = log.back().position + 1;
    again.event_id = derived_uuid("appended again:" + to_string(event.event_id));
    for (const auto& e : log)
      if (e.stream_id == event.stream_id) again.version = std::max(again.version, e.version + 1);
    again.recorded_at = log.back().recorded_at;
    again.prev_hash = log.back().hash;
    again.hash = events::chain_hash(again.prev_hash, events::canonicalized(again));
    return again;
  }

  events::Position head() {
    pqxx::connection c(db.conninfo());
    pqxx::read_transaction tx(c);
    return events::EventReader(tx).head();
  }

  // Each workload on a thread of its own, `commands_each` commands, through one engine: concurrent
  // commands share the store's group commits. Returns when all are done (the log is then still).
  static void run_in_parallel(std::vector<Workload>& workloads, std::size_t commands_each) {
    std::vector<std::thread> threads;
    for (Workload& workload : workloads) threads.emplace_back([&workload, commands_each] { workload.run(commands_each); });
    for (auto& t : threads) t.join();
  }

  std::vector<Workload> make_workloads(int count, std::uint64_t seed) {
    std::vector<Workload> workloads;
    for (int w = 0; w < count; ++w) workloads.emplace_back(*engine, seed + std::uint64_t(w));
    return workloads;
  }

  std::vector<WorkloadStats> run_workloads(int workers, std::size_t commands_each, std::uint64_t seed) {
    std::vector<Workload> workloads = make_workloads(workers, seed);
    run_in_parallel(workloads, commands_each);
    std::vector<WorkloadStats> stats;
    for (const Workload& w : workloads) stats.push_back(w.stats());
    return stats;
  }

  tasklog::testing::TestDatabase db;
  SteppingClock clock;
  std::unique_ptr<events::EventStore> store;
  std::unique_ptr<TaskEngine> engine;
};

}  // namespace tasklog::projections::testing
