// project_diff between two points of the log lists exactly the changes made between them: the
// task claimed (status and the fields that came with it), the task created, the artifact, the
// decision and the checkpoint appended, the project row they touched — and nothing of the task
// left alone or of another project.
#include "projections/project_diff.hpp"
#include "tests/projections/engine_fixture.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <algorithm>
#include <set>
#include <tuple>

namespace tasklog::projections::testing {
namespace {

using Change = std::tuple<std::string, std::string, std::string>;  // table, row, added|changed|removed

std::set<Change> summary(const ProjectDiff& diff) {
  std::set<Change> out;
  for (const RowChange& c : diff.changes)
    out.emplace(c.table, c.row, c.before.empty() ? "added" : c.after.empty() ? "removed" : "changed");
  return out;
}

class ProjectDiffTest : public EngineTest {
 protected:
  std::optional<ProjectDiff> diff(const Uuid& project, Position from, Position to) {
    pqxx::connection c(db.conninfo());
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
    return diff_project(tx, project, from, to);
  }
};

TEST_F(ProjectDiffTest, ListsExactlyTheChangesMadeBetweenTwoPositions) {
  const Uuid project = create_project();
  const Uuid claimed = create_task(project, "to be claimed");
  const Uuid untouched = create_task(project, "left alone");
  const Uuid other_project = create_project();
  const Position from = head();

  const Uuid token = claim(claimed, "agent-7");
  const auto artifact = run_for<ArtifactAppended>(
      AppendArtifact{.task_id = claimed, .type = ArtifactType::diff, .summary = "patch", .lease_token = token});
  const auto decision =
      run_for<DecisionRecorded>(RecordDecision{.project_id = project, .title = "db", .choice = "postgres"});
  const auto checkpoint =
      run_for<CheckpointCreated>(CreateCheckpoint{.project_id = project, .label = "half way", .summary = "ok"});
  const Uuid created = create_task(project, "new since");
  create_task(other_project, "elsewhere");
  const Position to = head();

  const auto d = diff(project, from, to);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->from, from);
  EXPECT_EQ(d->to, to);
  const auto events_between = query("SELECT count(*) FROM events WHERE project_id = '" + to_string(project) +
                                    "' AND position > " + std::to_string(from) + " AND position <= " + std::to_string(to));
  EXPECT_EQ(d->events, events_between[0][0].as<std::uint64_t>());
  EXPECT_GE(d->events, 5u);
  const std::set<Change> expected = {
      {"projects", to_string(project), "changed"},
      {"tasks", to_string(claimed), "changed"},
      {"tasks", to_string(created), "added"},
      {"artifacts", to_string(artifact.artifact_id), "added"},
      {"decisions", to_string(decision.decision_id), "added"},
      {"checkpoints", to_string(checkpoint.checkpoint_id), "added"},
  };
  EXPECT_EQ(summary(*d), expected) << d->describe();

  // The claimed task's status is among its changed fields, with both values.
  rapidjson::Document json;
  json.Parse(d->json().c_str());
  ASSERT_FALSE(json.HasParseError()) << d->json();
  const auto* changed = rapidjson::Pointer("/tables/tasks/changed/0").Get(json);
  ASSERT_NE(changed, nullptr) << d->json();
  EXPECT_EQ(std::string((*changed)["id"].GetString()), to_string(claimed));
  EXPECT_STREQ((*changed)["fields"]["status"]["from"].GetString(), "todo");
  EXPECT_STREQ((*changed)["fields"]["status"]["to"].GetString(), "in_progress");
  EXPECT_STREQ(rapidjson::Pointer("/tables/tasks/added/0/title").Get(json)->GetString(), "new since");
  EXPECT_STREQ(rapidjson::Pointer("/tables/decisions/added/0/choice").Get(json)->GetString(), "postgres");
  EXPECT_EQ(rapidjson::Pointer("/tables/tasks/removed").Get(json)->Size(), 0u);
  EXPECT_EQ(d->describe().find(to_string(untouched)), std::string::npos) << d->describe();

  // Nothing happened between a point and itself; from the beginning, everything is new.
  const auto same = diff(project, to, to);
  ASSERT_TRUE(same.has_value());
  EXPECT_TRUE(same->changes.empty()) << same->describe();
  EXPECT_EQ(same->events, 0u);
  const auto all = diff(project, 0, to);
  ASSERT_TRUE(all.has_value());
  for (const RowChange& c : all->changes) EXPECT_TRUE(c.before.empty()) << c.table << " " << c.row;
  EXPECT_EQ(std::count_if(all->changes.begin(), all->changes.end(), [](const RowChange& c) { return c.table == "tasks"; }),
            3);

  EXPECT_THROW(diff(project, to, from), std::invalid_argument);
  EXPECT_FALSE(diff(derived_uuid("no such project"), 0, to).has_value());
  EXPECT_FALSE(diff(other_project, 0, from - 1).has_value());  // it did not exist yet
}

}  // namespace
}  // namespace tasklog::projections::testing
