// POST /tasks/next under contention over real HTTP: 16 agents on 16 connections pick from 100
// ready tasks at once; every task is handed out exactly once and every agent stops on a 204.
#include "tests/api/routes_fixture.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace tasklog::testing {
namespace {

class PickRaceOverHttpTest : public RoutesTest {
 protected:
  void configure(api::ApiServerOptions& options) override { options.worker_threads = 16; }
};

TEST_F(PickRaceOverHttpTest, SixteenAgentsTakeAHundredTasksExactlyOnce) {
  constexpr int kAgents = 16;
  constexpr int kTasks = 100;
  const auto project = create_project(*alice);
  std::set<std::string> tasks;
  for (int i = 0; i < kTasks; ++i)
    tasks.insert(create_task(*alice, project, R"({"title":"t)" + std::to_string(i) + R"(","priority":")" +
                                                  std::vector<std::string>{"low", "medium", "high", "critical"}[i % 4] +
                                                  R"("})"));
  ASSERT_EQ(tasks.size(), static_cast<std::size_t>(kTasks));

  std::mutex mutex;
  std::map<std::string, std::vector<std::string>> handed;  // task -> agents it was handed to
  std::set<std::string> tokens;
  std::vector<std::thread> agents;
  std::atomic<int> failures{0};
  for (int a = 0; a < kAgents; ++a)
    agents.emplace_back([&, a] {
      auto client = alice_user.client();
      const std::string agent = "agent-" + std::to_string(a);
      for (;;) {
        const auto r = client->post("/v1/projects/" + project + "/tasks/next", R"({"agent":")" + agent + R"("})");
        if (r.status == 204) return;
        if (r.status != 200) {
          ++failures;
          ADD_FAILURE() << agent << ": " << r.status << " " << r.body;
          return;
        }
        std::lock_guard lock(mutex);
        handed[str_at(r, "/data/id")].push_back(agent);
        tokens.insert(str_at(r, "/lease/token"));
      }
    });
  for (auto& t : agents) t.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(handed.size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(tokens.size(), static_cast<std::size_t>(kTasks));
  for (const auto& task : tasks) EXPECT_EQ(handed[task].size(), 1u) << task;
  EXPECT_EQ(query_value(conninfo(), "SELECT count(*) FROM events WHERE type = 'TaskClaimed'"), "100");
  EXPECT_EQ(query_value(conninfo(), "SELECT count(*) FROM readmodel.tasks WHERE status = 'in_progress'"), "100");
  // The read models agree with what each agent was told.
  for (const auto& [task, agents_of] : handed)
    EXPECT_EQ(query_value(conninfo(), "SELECT lease_agent FROM readmodel.tasks WHERE id = '" + task + "'"),
              agents_of.front());
}

}  // namespace
}  // namespace tasklog::testing
