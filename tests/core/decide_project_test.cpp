#include "core/decide.hpp"

#include "domain_world.hpp"

#include <gtest/gtest.h>

using namespace tasklog;
using namespace tasklog::testing;

namespace {

class ProjectCommands : public ::testing::Test {
 protected:
  DomainWorld w;
  Uuid project = w.create_project();
  Uuid bob = named_id("bob");
};

bool snap_has(const std::vector<TaskStatusSnapshot>& tasks, const Uuid& id) {
  return std::any_of(tasks.begin(), tasks.end(), [&](const TaskStatusSnapshot& s) { return s.task_id == id; });
}

}  // namespace

TEST_F(ProjectCommands, CreateMakesTheActorOwner) {
  const ProjectState& p = w.project();
  EXPECT_EQ(p.id, project);
  EXPECT_EQ(p.name, "demo");
  EXPECT_EQ(p.version, 1);
  ASSERT_EQ(p.members.size(), 1u);
  EXPECT_EQ(p.members[0].user_id, named_id("alice"));
  EXPECT_EQ(p.members[0].role, Role::owner);
  EXPECT_EQ(p.created_by, named_id("alice"));
  EXPECT_EQ(p.created_at, kT0);
  EXPECT_EQ(p.rules.max_attempts, 3);
}

TEST_F(ProjectCommands, CreateRefusesBadRules) {
  ProjectRules rules;
  rules.gates = {{GateKind::custom, 1, ""}};
  DomainError e = w.refused(CreateProject{"p", "", rules});
  EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  EXPECT_EQ(str(details(e)["path"]), "/rules/gates/0/name");

  rules.gates = {{GateKind::has_tests, 1, ""}, {GateKind::has_tests, 1, ""}};
  e = w.refused(CreateProject{"p", "", rules});
  EXPECT_EQ(std::string(e.what()), "gate 'has_tests' is listed twice");

  rules.gates = {{GateKind::has_docs, 1, "named"}};
  EXPECT_EQ(w.refused(CreateProject{"p", "", rules}).code(), ErrorCode::validation_failed);

  rules = {};
  rules.max_attempts = 0;
  EXPECT_EQ(str(details(w.refused(CreateProject{"p", "", rules}))["path"]), "/rules/max_attempts");
  rules = {};
  rules.default_lease_seconds = 1;
  EXPECT_EQ(str(details(w.refused(CreateProject{"p", "", rules}))["path"]), "/rules/default_lease_seconds");
}

TEST_F(ProjectCommands, UpdateChangesOnlyWhatIsGiven) {
  w.now += 5s;
  ProjectRulesPatch rules;
  rules.max_attempts = 7;
  w.run(UpdateProject{project, std::nullopt, "new description", rules});
  EXPECT_EQ(w.project().name, "demo");
  EXPECT_EQ(w.project().description, "new description");
  EXPECT_EQ(w.project().rules.max_attempts, 7);
  EXPECT_EQ(w.project().version, 2);
  EXPECT_EQ(w.project().updated_at, kT0 + 5s);
  EXPECT_EQ(w.project().created_at, kT0);
}

// Rules are patched, not replaced: a member left out keeps its value (a PATCH of max_attempts alone
// switched the gates and the scope off), `scope` merges member by member, a gate list given
// replaces the list. The event records the whole rules as they now stand.
TEST_F(ProjectCommands, UpdateMergesTheRulesItIsGiven) {
  DomainWorld world;
  ProjectRules start;
  start.gates = {{GateKind::acceptance_met, 1, ""}, {GateKind::custom, 1, "review"}};
  start.scope = {{"src/**"}, {"secrets/**"}};
  start.max_attempts = 5;
  start.default_lease_seconds = 60;
  const Uuid id = world.create_project(start);

  ProjectRulesPatch patch;
  patch.max_attempts = 6;
  const auto events = world.run(UpdateProject{id, std::nullopt, std::nullopt, patch});
  ProjectRules expected = start;
  expected.max_attempts = 6;
  EXPECT_EQ(world.project().rules, expected);
  EXPECT_EQ(std::get<ProjectUpdated>(events.at(0)).rules, expected);

  patch = {};
  patch.scope = ScopeRulesPatch{std::nullopt, std::vector<std::string>{"vendor/**"}};
  world.run(UpdateProject{id, std::nullopt, std::nullopt, patch});
  expected.scope.forbidden = {"vendor/**"};
  EXPECT_EQ(world.project().rules, expected);

  patch = {};
  patch.gates = std::vector<Gate>{};
  world.run(UpdateProject{id, std::nullopt, std::nullopt, patch});
  expected.gates.clear();
  EXPECT_EQ(world.project().rules, expected);

  // The merged rules are checked as a whole.
  patch = {};
  patch.max_attempts = 0;
  EXPECT_EQ(str(details(world.refused(UpdateProject{id, std::nullopt, std::nullopt, patch}))["path"]),
            "/rules/max_attempts");
}

TEST_F(ProjectCommands, UpdateNeedsAChange) {
  EXPECT_EQ(w.refused(UpdateProject{project, std::nullopt, std::nullopt, std::nullopt}).code(),
            ErrorCode::validation_failed);
}

TEST_F(ProjectCommands, UnknownProjectIsNotFound) {
  const DomainError e = w.refused(UpdateProject{named_id("other"), "x", std::nullopt, std::nullopt});
  EXPECT_EQ(e.code(), ErrorCode::not_found);
  EXPECT_EQ(str(details(e)["project_id"]), to_string(named_id("other")));
}

TEST_F(ProjectCommands, ExpectedVersionMustMatch) {
  w.expected_version = 5;
  const DomainError e = w.refused(UpdateProject{project, "x", std::nullopt, std::nullopt});
  EXPECT_EQ(e.code(), ErrorCode::version_conflict);
  EXPECT_EQ(details(e)["current_version"].GetInt64(), 1);
  EXPECT_EQ(details(e)["expected_version"].GetInt64(), 5);
  w.expected_version = 1;
  w.run(UpdateProject{project, "x", std::nullopt, std::nullopt});
  EXPECT_EQ(w.project().name, "x");
}

TEST_F(ProjectCommands, ArchivedProjectRefusesChanges) {
  w.run(ArchiveProject{project, "shipped"});
  EXPECT_TRUE(w.project().archived);
  EXPECT_EQ(w.project().archived_at, kT0);
  DomainError e = w.refused(ArchiveProject{project, ""});
  EXPECT_EQ(e.code(), ErrorCode::illegal_transition);
  EXPECT_EQ(std::string(e.what()), "project 'demo' is archived: it accepts no more changes");
  EXPECT_EQ(w.refused(AddMember{project, bob, Role::member}).code(), ErrorCode::illegal_transition);
  EXPECT_EQ(w.refused(CreateTask{.project_id = project, .title = "t"}).code(), ErrorCode::illegal_transition);
}

TEST_F(ProjectCommands, MembersAddChangeRoleAndRemove) {
  w.run(AddMember{project, bob, Role::viewer});
  ASSERT_EQ(w.project().members.size(), 2u);
  EXPECT_EQ(w.project().member(bob)->role, Role::viewer);

  EXPECT_EQ(w.refused(AddMember{project, bob, Role::viewer}).code(), ErrorCode::validation_failed);

  w.run(AddMember{project, bob, Role::owner});
  EXPECT_EQ(w.project().member(bob)->role, Role::owner);
  EXPECT_EQ(w.project().members.size(), 2u);

  w.run(RemoveMember{project, named_id("alice")});
  EXPECT_EQ(w.project().member(named_id("alice")), nullptr);
  EXPECT_EQ(w.refused(RemoveMember{project, named_id("alice")}).code(), ErrorCode::not_found);
}

TEST_F(ProjectCommands, TheLastOwnerStays) {
  const Uuid alice = named_id("alice");
  EXPECT_EQ(w.refused(RemoveMember{project, alice}).code(), ErrorCode::validation_failed);
  const DomainError e = w.refused(AddMember{project, alice, Role::member});
  EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  EXPECT_NE(std::string(e.what()).find("last owner"), std::string::npos);
}

TEST_F(ProjectCommands, CheckpointSnapshotsEveryTaskAndTheLogHead) {
  const Uuid a = w.create_task("a");
  const Uuid b = w.create_task("b");
  w.claim(a);
  const std::int64_t head = w.position;
  const auto events = w.run(CreateCheckpoint{project, a, "before refactor", "all green", "abc123", "run make"});
  const auto& e = std::get<CheckpointCreated>(events.at(0));
  EXPECT_EQ(e.log_position, head);
  EXPECT_EQ(e.task_id, a);
  ASSERT_EQ(e.tasks.size(), 2u);
  for (const auto& snap : e.tasks)
    EXPECT_EQ(snap.status, snap.task_id == a ? TaskStatus::in_progress : TaskStatus::todo) << to_string(snap.task_id);
  EXPECT_TRUE(snap_has(e.tasks, b));
  const CheckpointRow& row = w.model.checkpoints.at(e.checkpoint_id);
  EXPECT_EQ(row.label, "before refactor");
  EXPECT_EQ(row.resume_instructions, "run make");
  EXPECT_EQ(row.position, w.position);
  EXPECT_EQ(route(events.at(0)).stream_type, StreamType::project);
}

TEST_F(ProjectCommands, CheckpointForAnUnknownTaskIsNotFound) {
  EXPECT_EQ(w.refused(CreateCheckpoint{project, named_id("ghost"), "l", "s", "", ""}).code(), ErrorCode::not_found);
}

TEST_F(ProjectCommands, DecisionChoiceMustBeAnOption) {
  const DomainError e = w.refused(RecordDecision{project, std::nullopt, "db", {"pg", "sqlite"}, "mysql", "why", std::nullopt});
  EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  EXPECT_EQ(str(details(e)["path"]), "/choice");
}

TEST_F(ProjectCommands, DecisionSupersedesAnEarlierOne) {
  const auto first = w.run(RecordDecision{project, std::nullopt, "db", {"pg", "sqlite"}, "sqlite", "simple", std::nullopt});
  const Uuid first_id = std::get<DecisionRecorded>(first.at(0)).decision_id;
  w.now += 1h;
  const auto second = w.run(RecordDecision{project, std::nullopt, "db", {"pg", "sqlite"}, "pg", "we need jsonb", first_id});
  ASSERT_EQ(second.size(), 2u);
  const Uuid second_id = std::get<DecisionRecorded>(second[0]).decision_id;
  EXPECT_EQ(std::get<DecisionSuperseded>(second[1]), (DecisionSuperseded{project, first_id, second_id, std::nullopt}));
  EXPECT_EQ(w.model.decisions.at(first_id).superseded_by, second_id);
  EXPECT_EQ(w.model.decisions.at(first_id).superseded_at, kT0 + 1h);
  EXPECT_EQ(w.model.decisions.at(second_id).supersedes, first_id);

  const DomainError again = w.refused(RecordDecision{project, std::nullopt, "db", {}, "x", "y", first_id});
  EXPECT_EQ(again.code(), ErrorCode::illegal_transition);
  EXPECT_EQ(str(details(again)["superseded_by"]), to_string(second_id));
  EXPECT_EQ(w.refused(RecordDecision{project, std::nullopt, "db", {}, "x", "y", named_id("nope")}).code(),
            ErrorCode::not_found);
}

TEST_F(ProjectCommands, DecisionAboutATaskIsLabelledWithIt) {
  const Uuid t = w.create_task("t");
  const auto events = w.run(RecordDecision{project, t, "approach", {}, "rewrite", "simpler", std::nullopt});
  EXPECT_EQ(route(events.at(0)).task_id, t);
  EXPECT_EQ(route(events.at(0)).stream_id, project);
  EXPECT_EQ(w.refused(RecordDecision{project, named_id("ghost"), "a", {}, "b", "c", std::nullopt}).code(),
            ErrorCode::not_found);
}
