// The agents' hot path: a project's context in one statement from the read models — its tasks in
// creation order with their dependencies and progress, the task being worked on and by whom (no
// lease token), the latest checkpoint, the ten newest decisions — and the same JSON as time
// travel to the same position. Also as the application role.
#include "projections/project_context.hpp"
#include "projections/time_travel.hpp"
#include "tests/projections/replay_fixture.hpp"
#include "tests/support/explain.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

namespace tasklog::projections::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

template <class E>
const E& first_of(const CommandOutcome& outcome) {
  for (const DomainEvent& e : outcome.events)
    if (const auto* found = std::get_if<E>(&e)) return *found;
  throw std::runtime_error("the command produced no such event");
}

class ProjectContextTest : public ReplayTest {
 protected:
  CommandOutcome run(const Command& command) { return engine->execute(command, actor); }

  std::optional<ProjectContext> context_now(std::optional<std::string> role = std::nullopt) {
    pqxx::connection c(db.conninfo());
    pqxx::read_transaction tx(c);
    if (role) tx.exec0("SET LOCAL ROLE " + *role);
    return load_project_context(tx, project);
  }

  Uuid actor = derived_uuid("context-test-owner");
  Uuid project{};
};

TEST_F(ProjectContextTest, CarriesTheProjectItsTasksTheActiveTaskTheLatestCheckpointAndRecentDecisions) {
  project = first_of<ProjectCreated>(run(CreateProject{.project_name = "compiler", .description = "a small compiler"}))
                .project_id;
  const Uuid a = first_of<TaskCreated>(run(CreateTask{.project_id = project,
                                                      .title = "lexer",
                                                      .priority = Priority::high,
                                                      .acceptance_criteria = {"tokens", "errors"}}))
                     .task_id;
  const Uuid b =
      first_of<TaskCreated>(run(CreateTask{.project_id = project, .title = "parser", .dependencies = {a}})).task_id;
  const Uuid c = first_of<TaskCreated>(run(CreateTask{.project_id = project, .title = "codegen"})).task_id;
  const CommandOutcome claimed = run(ClaimTask{.task_id = a, .agent = "agent-7", .lease_seconds = 300});
  const Uuid token = *claimed.lease_token;
  run(MarkCriterionMet{.task_id = a, .index = 0, .evidence = "tests pass", .lease_token = token});
  run(AppendArtifact{.task_id = a, .type = ArtifactType::diff, .ref = "git:abc", .summary = "lexer",
                     .lease_token = token});
  run(BlockTask{.task_id = c, .reason = "waiting for the IR design"});
  run(CreateCheckpoint{.project_id = project, .label = "first", .summary = "early"});
  run(CreateCheckpoint{.project_id = project, .label = "lexer underway", .summary = "a claimed", .repo_ref = "main",
                       .resume_instructions = "continue the lexer"});
  std::vector<Uuid> decisions;
  for (int i = 0; i < 11; ++i)
    decisions.push_back(first_of<DecisionRecorded>(run(RecordDecision{.project_id = project,
                                                                       .title = "decision " + std::to_string(i),
                                                                       .options = {"x", "y"},
                                                                       .choice = "x",
                                                                       .rationale = "because"}))
                            .decision_id);
  const Uuid replacement = first_of<DecisionRecorded>(run(RecordDecision{.project_id = project,
                                                                         .title = "decision 10, revised",
                                                                         .options = {"x", "y"},
                                                                         .choice = "y",
                                                                         .rationale = "learned more",
                                                                         .supersedes = decisions.back()}))
                               .decision_id;

  const auto context = context_now();
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->position, head());
  EXPECT_THAT(context->json, Not(HasSubstr(to_string(token))));
  EXPECT_THAT(context->json, Not(HasSubstr(to_string(lease_id_of(token)))));
  const ProjectContextView view = parse_context(context->json);
  EXPECT_EQ(view.position, context->position);
  EXPECT_EQ(view.project.id, project);
  EXPECT_EQ(view.project.name, "compiler");
  EXPECT_FALSE(view.project.archived);

  ASSERT_EQ(view.tasks.size(), 3u);
  EXPECT_EQ(view.tasks[0].id, a);
  EXPECT_EQ(view.tasks[0].status, TaskStatus::in_progress);
  EXPECT_EQ(view.tasks[0].priority, Priority::high);
  EXPECT_EQ(view.tasks[0].criteria_met, 1);
  EXPECT_EQ(view.tasks[0].criteria_total, 2);
  EXPECT_EQ(view.tasks[0].artifact_count, 1);
  EXPECT_EQ(view.tasks[1].id, b);
  EXPECT_EQ(view.tasks[1].dependencies, std::vector<Uuid>{a});
  EXPECT_EQ(view.tasks[2].id, c);
  EXPECT_EQ(view.tasks[2].status, TaskStatus::blocked);
  EXPECT_EQ(view.tasks[2].block_reason, "waiting for the IR design");

  ASSERT_EQ(view.active_tasks.size(), 1u);
  EXPECT_EQ(view.active_tasks[0].id, a);
  EXPECT_EQ(view.active_tasks[0].agent, "agent-7");
  EXPECT_EQ(view.active_tasks[0].attempt, 1);
  EXPECT_EQ(view.active_tasks[0].expires_at, first_of<TaskClaimed>(claimed).expires_at);

  ASSERT_TRUE(view.latest_checkpoint.has_value());
  EXPECT_EQ(view.latest_checkpoint->label, "lexer underway");
  EXPECT_EQ(view.latest_checkpoint->resume_instructions, "continue the lexer");
  EXPECT_EQ(view.latest_checkpoint->tasks.size(), 3u);

  ASSERT_EQ(view.recent_decisions.size(), kRecentDecisions);
  EXPECT_EQ(view.recent_decisions[0].id, replacement);
  EXPECT_EQ(view.recent_decisions[0].supersedes, decisions.back());
  EXPECT_EQ(view.recent_decisions[1].id, decisions.back());
  EXPECT_EQ(view.recent_decisions[1].superseded_by, replacement);
  for (std::size_t i = 1; i < view.recent_decisions.size(); ++i)
    EXPECT_GT(view.recent_decisions[i - 1].position, view.recent_decisions[i].position);

  // Time travel to the same position answers the same bytes.
  pqxx::connection conn(db.conninfo());
  pqxx::read_transaction tx(conn);
  const auto travelled = project_context_at(tx, project, context->position);
  ASSERT_TRUE(travelled.has_value());
  EXPECT_EQ(travelled->json, context->json);
}

TEST_F(ProjectContextTest, WorksAsTheApplicationRoleAndAnswersNothingForAnUnknownProject) {
  project = first_of<ProjectCreated>(run(CreateProject{.project_name = "empty"})).project_id;
  const auto context = context_now("tasklog_app");
  ASSERT_TRUE(context.has_value());
  const ProjectContextView view = parse_context(context->json);
  EXPECT_TRUE(view.tasks.empty());
  EXPECT_TRUE(view.active_tasks.empty());
  EXPECT_FALSE(view.latest_checkpoint.has_value());
  EXPECT_TRUE(view.recent_decisions.empty());
  EXPECT_THAT(context->json, Not(HasSubstr("latest_checkpoint")));

  project = derived_uuid("no such project");
  EXPECT_FALSE(context_now("tasklog_app").has_value());
}

// A small project beside a large one: the small one's context position (its last event) comes from
// the (project_id, position) index at the project's end — not from walking the log backwards by
// position until one of its events turns up, which the statistics of a log with one large project
// invite under the generic plan a pooled connection settles on, and not from walking the large
// project's index entries either, which row-level security's `project_id = ANY(visible)` invites
// when the large project's id sorts above the small one's. Read as a member of both.
TEST_F(ProjectContextTest, TheProjectsPositionIsReadFromItsOwnEndWhateverTheStatisticsSay) {
  const Uuid first = first_of<ProjectCreated>(run(CreateProject{.project_name = "one"})).project_id;
  const Uuid second = first_of<ProjectCreated>(run(CreateProject{.project_name = "two"})).project_id;
  project = std::min(first, second);
  const Uuid large = std::max(first, second);
  run(CreateTask{.project_id = project, .title = "one"});
  // Enough of the large project's events for their index entries to fill several pages.
  constexpr int kLarge = 2000;
  std::atomic<int> left{kLarge};
  std::atomic<int> failed{0};
  for (int i = 0; i < kLarge; ++i)
    engine->async_execute(CreateTask{.project_id = large, .title = "task " + std::to_string(i)}, actor, std::nullopt,
                          [&](std::optional<CommandOutcome> outcome, std::exception_ptr) {
                            if (!outcome) ++failed;
                            --left;
                          });
  while (left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(failed, 0);
  pqxx::connection c(db.conninfo());
  pqxx::nontransaction(c).exec0("ANALYZE public.events");

  pqxx::work tx(c);
  tx.exec("SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL ROLE tasklog_query; "
           "SELECT set_config('tasklog.user_id', '" + to_string(actor) + "', true)");
  const auto context = load_project_context(tx, project);  // prepares the statement, as that role
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->position,
            tx.exec1("SELECT max(position) FROM public.events WHERE project_id = '" + to_string(project) + "'")[0]
                .as<events::Position>());
  std::string plan;
  const auto read = tasklog::testing::explain_events_read(
      tx, "EXECUTE tasklog_project_context_readmodel('" + to_string(project) + "', 10)", plan);
  EXPECT_LE(read.rows, 1) << plan;
  // The index's root and one leaf, and the row's heap page: a walk through the large project's
  // entries reads a dozen leaves or more.
  EXPECT_LE(read.blocks, 5) << plan;
}

}  // namespace
}  // namespace tasklog::projections::testing
