// The row <-> column mapping against PostgreSQL: what write_all and save_rows_touched_by store,
// load_all reads back equal (every field, timestamps to the microsecond, list order, optional vs
// empty), into any schema created by create_read_model_schema.
#include "projections/event_fold.hpp"
#include "projections/model_diff.hpp"
#include "projections/read_model_store.hpp"
#include "tests/core/domain_world.hpp"
#include "tests/support/test_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

namespace tasklog::projections {
namespace {

using tasklog::testing::DomainWorld;
using namespace std::chrono_literals;

// A project that uses every row and every optional part, folded in memory.
DomainWorld rich_world() {
  DomainWorld w;
  w.now += 123456us;  // a fraction that needs all six digits
  ProjectRules rules;
  rules.gates = {Gate{.kind = GateKind::has_artifacts, .min_count = 2, .name = {}},
                 Gate{.kind = GateKind::custom, .min_count = 1, .name = "lint"}};
  rules.scope = ScopeRules{.allowed = {"src/**"}, .forbidden = {"src/secret/**"}};
  rules.max_attempts = 3;
  const Uuid project = w.create_project(rules);
  w.run(AddMember{.project_id = project, .user_id = tasklog::testing::named_id("bob"), .role = Role::viewer});
  w.run(AddMember{.project_id = project, .user_id = tasklog::testing::named_id("carol"), .role = Role::member});
  const Uuid a = w.create_task("a 'quoted' \\ task\twith tab", {}, Priority::critical, {"c1", "c2"});
  const Uuid b = w.create_task("b", {a}, Priority::low);
  const Uuid c = w.create_task("c ✓ ünïcödé", {b, a});
  w.run(UpdateTask{.task_id = c, .timebox_seconds = 90});
  // What COPY's text format gives a meaning to (write_all sends its rows with COPY): a value that
  // is exactly \N (NULL there), a lone \. (the end of data), carriage returns, and empty texts.
  const Uuid d = w.create_task("\\N");
  w.run(UpdateTask{.task_id = d, .description = "\\.\r\n\\N\r", .type = ""});
  w.run(UpdateTask{.task_id = c, .description = ""});
  w.run(RemoveDependency{.task_id = c, .depends_on = b});
  w.run(AddDependency{.task_id = c, .depends_on = b});

  w.now += 1s;
  const Uuid token = w.claim(a, "agent-1", 60);
  w.run(Heartbeat{.task_id = a, .lease_token = token, .lease_seconds = 600});
  w.run(MarkCriterionMet{.task_id = a, .index = 1, .evidence = "ci \"green\"", .lease_token = token});
  w.run(AppendArtifact{.task_id = a, .type = ArtifactType::diff, .ref = "git:1", .summary = "s",
                       .content = std::string("line1\nline2\t\\"), .lease_token = token});
  w.run(AppendArtifact{.task_id = a, .type = ArtifactType::pr, .ref = "pr:2", .lease_token = token});
  w.run(AssertScope{.task_id = a, .files_changed = {"src/x", "src/secret/k", "/abs"}, .lease_token = token});
  w.run(EvaluateGates{.task_id = a, .custom_passed = {"lint"}, .lease_token = token});
  w.run(RecordGitInfo{.task_id = a, .git = GitInfo{.branch = "b", .pr_number = 7, .pr_url = "https://x/7"}, .lease_token = token});
  w.run(RecordUsage{.task_id = a, .tokens = 10, .cost_usd = 0.1, .lease_token = token});
  w.run(RecordUsage{.task_id = a, .tokens = 5, .cost_usd = 0.2, .lease_token = token});
  w.run(AppendMessage{.task_id = a, .role = MessageRole::assistant, .content = "m1", .lease_token = token});
  w.run(AppendMessage{.task_id = a, .role = MessageRole::user, .content = "m2\n", .lease_token = token});
  w.run(FailTask{.task_id = a, .lease_token = token, .error = "boom"});
  w.now += 1h;
  const Uuid token2 = w.claim(a, "agent-2", 60);
  w.now += 2min;
  w.run(ExpireLease{.task_id = a, .lease_id = lease_id_of(token2)});
  w.run(BlockTask{.task_id = b, .reason = "needs a human", .needs_human = true});
  w.run(CreateCheckpoint{.project_id = project, .task_id = a, .label = "cp", .summary = "s", .repo_ref = "r",
                         .resume_instructions = "go"});
  const auto first = std::get<DecisionRecorded>(
      w.run(RecordDecision{.project_id = project, .title = "d1", .options = {"x", "y"}, .choice = "x", .rationale = "r"})
          .at(0));
  w.run(RecordDecision{.project_id = project, .task_id = a, .title = "d2", .options = {"y"}, .choice = "y",
                       .rationale = "r2", .supersedes = first.decision_id});
  w.run(CancelTask{.task_id = c, .reason = "dup"});
  return w;
}

class ReadModelStoreTest : public ::testing::Test {
 protected:
  tasklog::testing::TestDatabase db;
};

TEST_F(ReadModelStoreTest, WriteAllThenLoadAllRoundTripsEveryField) {
  const DomainWorld world = rich_world();
  const ProjectModels models{{world.project().id, world.model}};
  pqxx::connection c(db.conninfo());
  pqxx::work tx(c);
  create_read_model_schema(tx, "shadow");
  write_all(tx, "shadow", models);
  const ProjectModels loaded = load_all(tx, "shadow");
  const auto difference = first_difference(models, loaded);
  EXPECT_FALSE(difference) << difference->describe();
  EXPECT_TRUE(loaded == models);
  EXPECT_TRUE(load_all(tx).empty());  // the live schema was not touched

  const TaskState& a = world.model.tasks.begin()->second;
  EXPECT_EQ(load_task(tx, a.id, "shadow"), a);
  EXPECT_EQ(load_project(tx, world.project().id, "shadow"), world.project());
  EXPECT_FALSE(load_task(tx, a.id));
}

TEST_F(ReadModelStoreTest, SaveRowsTouchedByFollowsTheFoldEventByEvent) {
  const DomainWorld world = rich_world();
  pqxx::connection c(db.conninfo());
  pqxx::work tx(c);
  create_read_model_schema(tx, "shadow");
  ProjectModels folded;
  for (const auto& [event, meta] : world.log) {
    fold(folded, event, meta);
    save_rows_touched_by(tx, "shadow", folded.at(route(event).project_id), event);
    const ProjectModels loaded = load_all(tx, "shadow");
    const auto difference = first_difference(folded, loaded);
    ASSERT_FALSE(difference) << event_type_name(event) << " at " << meta.position << ": " << difference->describe();
  }
  EXPECT_TRUE(folded.at(world.project().id) == world.model);
}

TEST_F(ReadModelStoreTest, LoadsBySetOfIdsLeaveUnknownIdsOut) {
  const DomainWorld world = rich_world();
  pqxx::connection c(db.conninfo());
  pqxx::work tx(c);
  write_all(tx, kReadSchema, {{world.project().id, world.model}});
  std::vector<Uuid> ids;
  for (const auto& [id, t] : world.model.tasks) ids.push_back(id);
  ids.push_back(tasklog::testing::named_id("unknown"));
  EXPECT_EQ(load_tasks(tx, ids).size(), world.model.tasks.size());
  EXPECT_EQ(load_projects(tx, {world.project().id, ids.back()}).size(), 1u);
  EXPECT_EQ(load_decisions(tx, {ids.back()}).size(), 0u);
  const TaskGraph nodes = load_graph_nodes(tx, world.project().id, {ids[0], ids.back()});
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_TRUE(load_graph_nodes(tx, tasklog::testing::named_id("other project"), {ids[0]}).empty());
  EXPECT_EQ(nodes.at(ids[0]).status, world.model.tasks.at(ids[0]).status);
  EXPECT_EQ(load_graph(tx, world.project().id).size(), world.model.tasks.size());
}

// A row changed by hand into something its type cannot hold is reported, not misread.
TEST_F(ReadModelStoreTest, UnreadableColumnIsReported) {
  const DomainWorld world = rich_world();
  pqxx::connection c(db.conninfo());
  pqxx::work tx(c);
  write_all(tx, kReadSchema, {{world.project().id, world.model}});
  tx.exec("UPDATE readmodel.tasks SET git = '[1]'");
  EXPECT_THROW(load_all(tx), std::runtime_error);
}

}  // namespace
}  // namespace tasklog::projections
