// Shared set-up for the task engine tests: a fresh database, an EventStore with the inline
// projector, a TaskEngine on it, a clock the test moves by hand, and the check that matters
// most — the inline read models equal the fold of the log.
#pragma once

#include "core/error.hpp"
#include "events/event_reader.hpp"
#include "events/event_store.hpp"
#include "projections/event_fold.hpp"
#include "projections/model_diff.hpp"
#include "projections/read_model_store.hpp"
#include "projections/row_handoff.hpp"
#include "projections/task_engine.hpp"
#include "tests/support/test_cluster.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace tasklog::projections::testing {

using namespace std::chrono_literals;

// Starts at the real time (so the views' now() agrees with it) and moves only when told. Thread-safe.
class ManualClock {
 public:
  ManualClock()
      : micros_(std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now())
                    .time_since_epoch()
                    .count()) {}
  Timestamp operator()() const { return Timestamp(std::chrono::microseconds(micros_.load())); }
  void advance(std::chrono::microseconds by) { micros_ += by.count(); }

 private:
  std::atomic<std::int64_t> micros_;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto options = engine_store_options(db.conninfo());
    options.clock = [this] { return clock(); };
    store = std::make_unique<events::EventStore>(std::move(options));
    engine = std::make_unique<TaskEngine>(*store);
  }
  void TearDown() override {
    engine.reset();
    store.reset();
    // Every row the engine handed to the projector was taken or dropped: nothing accumulates.
    EXPECT_EQ(RowHandoff::instance().size(), 0u);
  }

  CommandOutcome run(const Command& command) { return engine->execute(command, actor); }

  // The first event of the command's outcome, as type E.
  template <class E>
  E run_for(const Command& command) {
    const CommandOutcome outcome = run(command);
    EXPECT_FALSE(outcome.events.empty()) << command_name(command);
    return std::get<E>(outcome.events.at(0));
  }

  // Runs a command that must be refused, checks that the log did not change, returns the code.
  ErrorCode refused(const Command& command) {
    const events::Position before = head();
    try {
      run(command);
    } catch (const DomainError& e) {
      EXPECT_EQ(head(), before) << "a refused " << command_name(command) << " changed the log";
      return e.code();
    }
    ADD_FAILURE() << command_name(command) << " was not refused";
    return ErrorCode::internal;
  }

  events::Position head() {
    pqxx::connection c(db.conninfo());
    pqxx::read_transaction tx(c);
    return events::EventReader(tx).head();
  }

  // The inline read models and the fold of the whole log, read in one snapshot.
  std::pair<ProjectModels, ProjectModels> inline_and_folded() {
    pqxx::connection c(db.conninfo());
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
    ProjectModels folded;
    events::EventReader reader(tx);
    for (events::Position after = 0;;) {
      const auto batch = reader.after(after, 1000);
      if (batch.empty()) break;
      for (const auto& e : batch) fold(folded, e);
      after = batch.back().position;
    }
    return {load_all(tx), std::move(folded)};
  }

  // The check after every step: the read models are exactly what the log folds to.
  void expect_consistent(const std::string& step = {}) {
    const auto [stored, folded] = inline_and_folded();
    const auto difference = first_difference(folded, stored);
    EXPECT_FALSE(difference) << step << ": " << difference->describe();
    EXPECT_TRUE(stored == folded) << step;
  }

  // Runs a command and checks the read models against the log.
  CommandOutcome step(const Command& command) {
    CommandOutcome outcome = run(command);
    expect_consistent(std::string(command_name(command)));
    expect_outcome_task_is_stored(outcome, std::string(command_name(command)));
    return outcome;
  }

  // A command on a task's stream hands back that task's row after its events (the HTTP answer is
  // built from it): exactly the row the inline projector wrote.
  void expect_outcome_task_is_stored(const CommandOutcome& outcome, const std::string& step) {
    const bool on_a_task = !outcome.events.empty() && route(outcome.events.front()).stream_type == StreamType::task;
    ASSERT_EQ(outcome.task.has_value(), on_a_task) << step;
    if (!outcome.task) return;
    pqxx::connection c(db.conninfo());
    pqxx::read_transaction tx(c);
    const auto stored = load_task(tx, outcome.task->id);
    ASSERT_TRUE(stored) << step;
    EXPECT_TRUE(*stored == *outcome.task) << step << ": the outcome's task is not the row the projector wrote";
  }

  pqxx::result query(const std::string& sql) {
    pqxx::connection c(db.conninfo());
    pqxx::read_transaction tx(c);
    return tx.exec(sql);
  }

  Uuid create_project(ProjectRules rules = {}) {
    return std::get<ProjectCreated>(step(CreateProject{.project_name = "demo", .description = "a demo", .rules = rules})
                                        .events.at(0))
        .project_id;
  }

  Uuid create_task(const Uuid& project, const std::string& title, std::vector<Uuid> dependencies = {},
                   Priority priority = Priority::medium, std::vector<std::string> criteria = {}) {
    return std::get<TaskCreated>(step(CreateTask{.project_id = project,
                                                 .title = title,
                                                 .priority = priority,
                                                 .acceptance_criteria = std::move(criteria),
                                                 .dependencies = std::move(dependencies)})
                                     .events.at(0))
        .task_id;
  }

  // Queues a command on `on` as the actor without waiting for it (e.g. inside hold_writer_while);
  // the future holds its outcome or its refusal.
  std::future<CommandOutcome> submit(TaskEngine& on, const Command& command) {
    auto p = std::make_shared<std::promise<CommandOutcome>>();
    auto outcome = p->get_future();
    on.async_execute(command, actor, std::nullopt, [p](std::optional<CommandOutcome> o, std::exception_ptr e) {
      if (o) p->set_value(std::move(*o));
      else p->set_exception(e);
    });
    return outcome;
  }

  // Holds the writer in a batch of its own while `queue` submits commands, so that they all share
  // the next batch; returns once the held batch has committed.
  void hold_writer_while(const std::function<void()>& queue) {
    std::promise<void> entered, release;
    auto released = release.get_future();
    std::promise<events::AppendOutcome> held;
    store->async_execute(
        [&](events::AppendContext&) {
          entered.set_value();
          released.wait();
          return std::vector<events::StreamAppend>{};
        },
        [&](events::AppendOutcome o) { held.set_value(std::move(o)); });
    entered.get_future().wait();
    queue();
    release.set_value();
    EXPECT_TRUE(held.get_future().get().result);
  }

  Uuid claim(const Uuid& task, const std::string& agent = "agent-1", std::int64_t seconds = 60) {
    return *step(ClaimTask{.task_id = task, .agent = agent, .lease_seconds = seconds}).lease_token;
  }

  tasklog::testing::TestDatabase db;
  ManualClock clock;
  Uuid actor = derived_uuid("test:alice");
  std::unique_ptr<events::EventStore> store;
  std::unique_ptr<TaskEngine> engine;
};

}  // namespace tasklog::projections::testing
