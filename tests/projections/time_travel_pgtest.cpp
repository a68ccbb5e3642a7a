// Time travel: a project folded from the log as of three positions equals the inline read models
// snapshotted at those moments (load_all), and its context JSON equals the one the read models
// served then (load_project_context), byte for byte.
#include "projections/project_context.hpp"
#include "projections/time_travel.hpp"
#include "tests/projections/replay_fixture.hpp"

#include <gtest/gtest.h>

namespace tasklog::projections::testing {
namespace {

struct Moment {
  events::Position position = 0;
  ProjectModels models;
  std::map<Uuid, ProjectContext> contexts;
};

TEST_F(ReplayTest, TimeTravelAtThreePositionsEqualsSnapshotsOfTheInlineModels) {
  std::vector<Workload> workloads = make_workloads(3, 9001);
  std::vector<Uuid> projects;
  std::vector<Moment> moments;
  for (int i = 0; i < 3; ++i) {
    run_in_parallel(workloads, 150);  // then the log is still: a moment to snapshot
    Moment moment{.position = head(), .models = load_inline(), .contexts = {}};
    if (projects.empty())
      for (const Workload& w : workloads) projects.insert(projects.end(), w.projects().begin(), w.projects().end());
    pqxx::connection c(db.conninfo());
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
    for (const Uuid& project : projects) {
      auto context = load_project_context(tx, project);
      ASSERT_TRUE(context.has_value());
      moment.contexts.emplace(project, *context);
    }
    moments.push_back(std::move(moment));
  }
  run_in_parallel(workloads, 100);  // the present moves on

  pqxx::connection c(db.conninfo());
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
  for (const Moment& moment : moments) {
    for (const Uuid& project : projects) {
      SCOPED_TRACE("position " + std::to_string(moment.position) + ", project " + to_string(project));
      const auto then = project_at(tx, project, moment.position);
      ASSERT_TRUE(then.has_value());
      const ProjectModel& snapshot = moment.models.at(project);
      const auto difference = first_difference({{project, snapshot}}, {{project, then->model}});
      EXPECT_FALSE(difference.has_value()) << describe(difference);
      EXPECT_TRUE(then->model == snapshot);
      EXPECT_LE(then->position, moment.position);

      const auto context = project_context_at(tx, project, moment.position);
      ASSERT_TRUE(context.has_value());
      EXPECT_EQ(context->json, moment.contexts.at(project).json);
      EXPECT_EQ(context->position, moment.contexts.at(project).position);
    }
  }
  // Before a project's first event there is nothing to travel to.
  EXPECT_FALSE(project_at(tx, projects.back(), 0).has_value());
}

}  // namespace
}  // namespace tasklog::projections::testing
