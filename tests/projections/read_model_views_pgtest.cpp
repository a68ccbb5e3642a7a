// The read-model views against PostgreSQL: ready_tasks, active_tasks, task_progress and
// recent_events answer what the domain says, using the server's now().
#include "tests/projections/engine_fixture.hpp"

#include <set>

namespace tasklog::projections::testing {
namespace {

class ReadModelViewsTest : public EngineTest {
 protected:
  std::set<Uuid> ids(const std::string& sql) {
    std::set<Uuid> out;
    for (const auto& row : query(sql)) out.insert(*parse_uuid(row[0].c_str()));
    return out;
  }
};

TEST_F(ReadModelViewsTest, ReadyTasksFollowDependenciesLeasesAndRetries) {
  const Uuid project = create_project();
  const Uuid a = create_task(project, "a");
  const Uuid b = create_task(project, "b", {a});
  const Uuid held = create_task(project, "held");
  const Uuid retrying = create_task(project, "retrying");
  const Uuid blocked = create_task(project, "blocked");
  const Uuid free = create_task(project, "free");
  claim(held);
  const Uuid token = claim(retrying);
  step(FailTask{.task_id = retrying, .lease_token = token, .error = "flaky"});  // retry 30 s from now
  step(BlockTask{.task_id = blocked, .reason = "waiting"});
  const std::string ready = "SELECT id FROM readmodel.ready_tasks WHERE project_id = '" + to_string(project) + "'";
  EXPECT_EQ(ids(ready), (std::set<Uuid>{a, free}));

  const Uuid lease = claim(a);
  step(CompleteTask{.task_id = a, .lease_token = lease, .summary = "ok"});
  EXPECT_EQ(ids(ready), (std::set<Uuid>{b, free}));

  // What the engine considers ready at the same moment is the same set.
  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  std::set<Uuid> engine_ready;
  for (const TaskState& t : load_ready_tasks(tx, project, clock(), PickStrategy::priority, 0)) engine_ready.insert(t.id);
  EXPECT_EQ(engine_ready, (std::set<Uuid>{b, free}));
}

TEST_F(ReadModelViewsTest, ActiveTasksAreTheUnfinishedOnes) {
  const Uuid project = create_project();
  const Uuid todo = create_task(project, "todo");
  const Uuid held = create_task(project, "held");
  const Uuid blocked = create_task(project, "blocked");
  const Uuid done = create_task(project, "done");
  const Uuid cancelled = create_task(project, "cancelled");
  claim(held);
  step(BlockTask{.task_id = blocked, .reason = "waiting"});
  const Uuid token = claim(done);
  step(CompleteTask{.task_id = done, .lease_token = token, .summary = "ok"});
  step(CancelTask{.task_id = cancelled, .reason = "no"});
  EXPECT_EQ(ids("SELECT id FROM readmodel.active_tasks"), (std::set<Uuid>{todo, held, blocked}));
  EXPECT_EQ(ids("SELECT id FROM readmodel.active_tasks WHERE lease_live"), (std::set<Uuid>{held}));
}

TEST_F(ReadModelViewsTest, TaskProgressCountsCriteriaAndArtifacts) {
  const Uuid project = create_project();
  const Uuid task = create_task(project, "t", {}, Priority::medium, {"one", "two", "three"});
  const Uuid bare = create_task(project, "bare");
  const Uuid token = claim(task);
  step(MarkCriterionMet{.task_id = task, .index = 2, .evidence = "ok", .lease_token = token});
  step(AppendArtifact{.task_id = task, .type = ArtifactType::diff, .ref = "r1", .lease_token = token});
  step(AppendArtifact{.task_id = task, .type = ArtifactType::document, .ref = "r2", .lease_token = token});
  const auto row = query("SELECT criteria_total, criteria_met, artifact_count FROM readmodel.task_progress WHERE task_id = '" +
                         to_string(task) + "'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<int>(), 3);
  EXPECT_EQ(row[0][1].as<int>(), 1);
  EXPECT_EQ(row[0][2].as<int>(), 2);
  const auto empty = query(
      "SELECT criteria_total, criteria_met, artifact_count FROM readmodel.task_progress WHERE task_id = '" +
      to_string(bare) + "'");
  EXPECT_EQ(empty[0][0].as<int>() + empty[0][1].as<int>() + empty[0][2].as<int>(), 0);
}

TEST_F(ReadModelViewsTest, RecentEventsAreNewestFirst) {
  const Uuid project = create_project();
  create_task(project, "a");
  create_task(project, "b");
  const auto rows = query("SELECT position, type FROM readmodel.recent_events LIMIT 2");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].as<long long>(), head());
  EXPECT_EQ(rows[1][0].as<long long>(), head() - 1);
  EXPECT_EQ(rows[0][1].as<std::string>(), "TaskCreated");
}

// The application role reads and writes the read models through the grants, nothing more.
TEST_F(ReadModelViewsTest, ApplicationRoleHasTheGrants) {
  create_project();
  pqxx::connection c(db.conninfo());
  pqxx::work tx(c);
  tx.exec("SET LOCAL ROLE tasklog_app");
  for (const char* view : {"projects", "project_members", "tasks", "task_dependencies", "artifacts", "checkpoints",
                           "decisions", "task_messages", "active_tasks", "ready_tasks", "task_progress", "recent_events"})
    EXPECT_NO_THROW(tx.exec(std::string("SELECT count(*) FROM readmodel.") + view)) << view;
  EXPECT_NO_THROW(tx.exec("DELETE FROM readmodel.task_messages"));
  EXPECT_THROW(tx.exec("DROP TABLE readmodel.tasks"), pqxx::sql_error);
}

}  // namespace
}  // namespace tasklog::projections::testing
