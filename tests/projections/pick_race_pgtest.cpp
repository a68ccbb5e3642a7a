// pick_next_task under contention: many agents choose and claim at once, and the choice and the
// claim happen under the append lock, so no task is ever handed to two agents.
#include "tests/projections/engine_fixture.hpp"

#include "core/chooser.hpp"
#include "projections/command_context.hpp"

#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace tasklog::projections::testing {
namespace {

class PickRaceTest : public EngineTest {
 protected:
  // Creates `n` tasks concurrently (they share group commits), returns their ids.
  std::vector<Uuid> create_tasks(const Uuid& project, int n) {
    std::vector<std::future<CommandOutcome>> pending;
    for (int i = 0; i < n; ++i) {
      auto promise = std::make_shared<std::promise<CommandOutcome>>();
      pending.push_back(promise->get_future());
      engine->async_execute(CreateTask{.project_id = project,
                                       .title = "task " + std::to_string(i),
                                       .priority = static_cast<Priority>(i % 4)},
                            actor, std::nullopt, [promise](std::optional<CommandOutcome> outcome, std::exception_ptr error) {
                              if (error)
                                promise->set_exception(error);
                              else
                                promise->set_value(std::move(*outcome));
                            });
    }
    std::vector<Uuid> ids;
    for (auto& f : pending) ids.push_back(std::get<TaskCreated>(f.get().events.at(0)).task_id);
    return ids;
  }
};

TEST_F(PickRaceTest, ThirtyTwoAgentsClaimTwoHundredTasksExactlyOnce) {
  constexpr int kAgents = 32;
  constexpr int kTasks = 200;
  const Uuid project = create_project();
  const std::vector<Uuid> tasks = create_tasks(project, kTasks);

  std::mutex mutex;
  std::map<Uuid, int> claims;  // task -> how many agents were handed it
  std::map<Uuid, std::string> holder;
  std::vector<std::thread> agents;
  std::atomic<int> failures{0};
  for (int a = 0; a < kAgents; ++a)
    agents.emplace_back([&, a] {
      const std::string agent = "agent-" + std::to_string(a);
      try {
        for (;;) {
          const CommandOutcome outcome = engine->execute(PickNextTask{.project_id = project, .agent = agent}, actor);
          if (outcome.events.empty()) return;  // nothing ready any more
          const auto& claimed = std::get<TaskClaimed>(outcome.events.at(0));
          std::lock_guard lock(mutex);
          ++claims[claimed.task_id];
          holder[claimed.task_id] = claimed.agent;
        }
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << agent << ": " << e.what();
      }
    });
  for (auto& t : agents) t.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(claims.size(), static_cast<std::size_t>(kTasks));
  for (const Uuid& task : tasks) EXPECT_EQ(claims[task], 1) << to_string(task);
  int total = 0;
  for (const auto& [task, n] : claims) total += n;
  EXPECT_EQ(total, kTasks);

  // The log and the read models agree with what the agents were told.
  EXPECT_EQ(query("SELECT count(*) FROM events WHERE type = 'TaskClaimed'")[0][0].as<int>(), kTasks);
  EXPECT_EQ(query("SELECT count(DISTINCT task_id) FROM events WHERE type = 'TaskClaimed'")[0][0].as<int>(), kTasks);
  for (const auto& row : query("SELECT id, lease_agent FROM readmodel.tasks WHERE status = 'in_progress'"))
    EXPECT_EQ(holder[*parse_uuid(row[0].c_str())], row[1].as<std::string>());
  EXPECT_EQ(query("SELECT count(*) FROM readmodel.ready_tasks")[0][0].as<int>(), 0);
  expect_consistent("after the race");
}

// The engine narrows pick_next_task's candidates in SQL; what it picks must still be exactly what
// the domain's chooser picks from every todo task of the project.
TEST_F(PickRaceTest, PickAgreesWithTheChooserForEveryStrategy) {
  const Uuid project = create_project();
  // More tasks per priority than the engine reads as candidates, all with the same created_at (the
  // clock stands still), so a tie-break in SQL that differs from the chooser's would show.
  static_assert(80 / 4 > kPickCandidates);
  std::vector<Uuid> tasks = create_tasks(project, 80);
  clock.advance(1s);
  const Uuid late_low = create_task(project, "late low", {}, Priority::low);
  const Uuid blocked_critical = create_task(project, "critical but waiting", {tasks[0]}, Priority::critical);
  create_task(project, "waits on late low", {late_low});
  create_task(project, "also waits on late low", {late_low});
  (void)blocked_critical;

  for (const PickStrategy strategy :
       {PickStrategy::priority, PickStrategy::dependencies, PickStrategy::oldest, PickStrategy::newest}) {
    for (int round = 0; round < 3; ++round) {
      std::optional<Uuid> expected;
      {
        pqxx::connection c(db.conninfo());
        pqxx::read_transaction tx(c);
        expected = choose_next_task(load_todo_tasks(tx, project), load_graph(tx, project), strategy, clock());
      }
      const CommandOutcome outcome = run(PickNextTask{.project_id = project, .agent = "a", .strategy = strategy});
      ASSERT_TRUE(expected);
      ASSERT_EQ(outcome.events.size(), 1u);
      const auto& claimed = std::get<TaskClaimed>(outcome.events[0]);
      EXPECT_EQ(to_string(claimed.task_id), to_string(*expected)) << enum_name(strategy) << " round " << round;
      // Finish it, so the next round has to choose again among the rest.
      run(CompleteTask{.task_id = claimed.task_id, .lease_token = *outcome.lease_token, .summary = "ok"});
    }
  }
  expect_consistent("after the picks");
}

TEST_F(PickRaceTest, NothingReadyMeansNoEvents) {
  const Uuid project = create_project();
  const Uuid a = create_task(project, "a");
  create_task(project, "b", {a});
  claim(a);
  const events::Position before = head();
  const CommandOutcome outcome = run(PickNextTask{.project_id = project, .agent = "x"});
  EXPECT_TRUE(outcome.events.empty());
  EXPECT_TRUE(outcome.append.events.empty());
  EXPECT_EQ(head(), before);
}

}  // namespace
}  // namespace tasklog::projections::testing
