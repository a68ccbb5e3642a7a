// The replay commands of the tasklog binary ($TASKLOG_BINARY) on a test database: `verify` exits
// 0 on an honest database and 1 naming the row changed by hand; `rebuild` reports its figures and
// repairs that row; `context` prints the project's JSON, now and as of a past position.
#include "projections/task_engine.hpp"
#include "tests/api/cli_runner.hpp"
#include "tests/support/sql.hpp"
#include "tests/support/test_cluster.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tasklog::api {
namespace {

using ::testing::HasSubstr;
using tasklog::testing::CommandRun;
using tasklog::testing::query_value;

class ReplayCliTest : public ::testing::Test {
 protected:
  CommandRun tasklog(std::vector<std::string> args) { return cli_.run(std::move(args)); }

  tasklog::testing::TestDatabase db_;
  tasklog::testing::TasklogCli cli_{db_.conninfo()};
};

TEST_F(ReplayCliTest, VerifyRebuildAndContext) {
  Uuid project{};
  Uuid task{};
  {
    events::EventStore store(projections::engine_store_options(db_.conninfo()));
    projections::TaskEngine engine(store);
    const Uuid actor = derived_uuid("cli-test");
    project = std::get<ProjectCreated>(engine.execute(CreateProject{.project_name = "cli"}, actor).events.at(0)).project_id;
    task = std::get<TaskCreated>(engine.execute(CreateTask{.project_id = project, .title = "first"}, actor).events.at(0))
               .task_id;
    engine.execute(CreateTask{.project_id = project, .title = "second"}, actor);
  }

  CommandRun run = tasklog({"verify"});
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("ok: 3 events up to position 3"));

  query_value(db_.conninfo(), "UPDATE readmodel.tasks SET status = 'done' WHERE id = '" + to_string(task) + "'");
  run = tasklog({"verify"});
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_THAT(run.output,
              HasSubstr("tasks row " + to_string(task) + ", field status: expected \"todo\", found \"done\""));

  run = tasklog({"rebuild"});
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("from 3 events"));
  EXPECT_THAT(run.output, HasSubstr("swap at position 3"));
  run = tasklog({"verify"});
  EXPECT_EQ(run.status, 0) << run.output;

  run = tasklog({"context", to_string(project)});
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("\"title\":\"second\""));
  run = tasklog({"context", to_string(project), "--at", "2"});
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("\"title\":\"first\""));
  EXPECT_THAT(run.output, ::testing::Not(HasSubstr("\"title\":\"second\"")));
  run = tasklog({"context", to_string(derived_uuid("nobody"))});
  EXPECT_EQ(run.status, 2) << run.output;
}

}  // namespace
}  // namespace tasklog::api
