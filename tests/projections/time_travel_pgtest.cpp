// Time travel: a project folded from the log as of three positions equals the inline read models
// snapshotted at those moments (load_all), and its context JSON equals the one the read models
// served then (load_project_context), byte for byte. A time stands for the last event recorded
// at or before it.
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

// `replay --at TIME`: a time stands for the last event recorded at or before it, so the state at
// the time a snapshot was taken equals that snapshot; a time before the first event is position 0.
TEST_F(ReplayTest, ATimeResolvesToTheLastEventRecordedAtOrBeforeIt) {
  std::vector<Workload> workloads = make_workloads(2, 606);
  std::vector<std::pair<Timestamp, Moment>> moments;
  for (int i = 0; i < 3; ++i) {
    run_in_parallel(workloads, 80);
    Moment moment{.position = head(), .models = load_inline(), .contexts = {}};
    pqxx::connection c(db.conninfo());
    pqxx::read_transaction tx(c);
    const auto last = events::EventReader(tx).range(moment.position - 1, moment.position, 1).at(0);
    moments.emplace_back(last.recorded_at, std::move(moment));
  }
  run_in_parallel(workloads, 50);

  pqxx::connection c(db.conninfo());
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
  for (const auto& [time, moment] : moments) {
    const std::string text = format_timestamp(time);
    SCOPED_TRACE(text);
    const auto point = parse_log_point(text);
    ASSERT_TRUE(point.has_value());
    // The events after the snapshot were recorded later (the clock steps on every reading).
    EXPECT_EQ(resolve_log_point(tx, *point), moment.position);
    for (const auto& [project, snapshot] : moment.models) {
      const auto then = project_at(tx, project, resolve_log_point(tx, *point));
      ASSERT_TRUE(then.has_value());
      EXPECT_TRUE(then->model == snapshot) << describe(first_difference({{project, snapshot}}, {{project, then->model}}));
    }
  }
  EXPECT_EQ(resolve_log_point(tx, *parse_log_point("2000-01-01T00:00:00Z")), 0);
  EXPECT_EQ(std::get<Position>(*parse_log_point("42")), 42);
  EXPECT_FALSE(parse_log_point("-1").has_value());
  EXPECT_FALSE(parse_log_point("42x").has_value());
  EXPECT_FALSE(parse_log_point("").has_value());
  EXPECT_FALSE(parse_log_point("yesterday").has_value());
}

}  // namespace
}  // namespace tasklog::projections::testing
