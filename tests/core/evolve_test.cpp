#include "core/evolve.hpp"

#include "core/codec.hpp"
#include "domain_world.hpp"

#include <gtest/gtest.h>

#include <limits>

using namespace tasklog;
using namespace tasklog::testing;

namespace {

// A busy project: every kind of event at least once.
DomainWorld busy_world() {
  DomainWorld w;
  ProjectRules rules;
  rules.gates = {{GateKind::custom, 1, "lint"}};
  const Uuid project = w.create_project(rules);
  w.run(AddMember{project, named_id("bob"), Role::member});
  w.run(UpdateProject{project, "renamed", std::nullopt, std::nullopt});
  const Uuid a = w.create_task("a", {}, Priority::high, {"c1"});
  const Uuid b = w.create_task("b");
  w.run(AddDependency{b, a});
  w.run(UpdateTask{.task_id = b, .description = "later"});
  w.now += 1min;
  Uuid token = w.claim(a, "agent", 120);
  w.run(Heartbeat{a, token, 300});
  w.run(AppendMessage{a, MessageRole::assistant, "starting", token});
  w.run(RecordGitInfo{a, GitInfo{.branch = "feat/a"}, token});
  w.run(RecordUsage{a, 100, 0.01, token});
  w.run(AppendArtifact{.task_id = a, .type = ArtifactType::diff, .summary = "patch", .lease_token = token});
  w.run(AssertScope{a, {"src/x"}, {}, {}, token});
  w.run(MarkCriterionMet{a, 0, "ok", token});
  w.run(FailTask{a, token, "flaky"});
  w.now += 1h;
  token = w.claim(a, "agent", 60);
  w.now += 2min;
  w.run(ExpireLease{a, lease_id_of(token)});
  token = w.claim(a, "agent2", 60);
  w.run(ReleaseTask{a, token, "handoff"});
  token = w.claim(a, "agent3", 600);
  w.now += 1s;  // a check counts when recorded after the claim (core/gates.cpp in_current_attempt)
  w.run(EvaluateGates{a, {"lint"}, token});
  w.run(CompleteTask{a, token, "done", {}});
  w.run(RemoveDependency{b, a});
  w.run(BlockTask{b, "question", true, std::nullopt});
  w.run(UnblockTask{b, "answered"});
  w.run(CancelTask{b, "not needed"});
  w.run(ReopenTask{b, "needed after all"});
  w.run(CreateCheckpoint{project, std::nullopt, "cp", "summary", "ref", "resume"});
  const auto d = w.run(RecordDecision{project, a, "x", {}, "y", "z", std::nullopt});
  w.run(RecordDecision{project, a, "x", {}, "y2", "z2", std::get<DecisionRecorded>(d.at(0)).decision_id});
  w.run(RemoveMember{project, named_id("bob")});
  w.run(ArchiveProject{project, "end"});
  return w;
}

}  // namespace

TEST(Evolve, TheBusyWorldUsesEveryEventType) {
  const DomainWorld w = busy_world();
  std::set<std::size_t> kinds;
  for (const auto& [event, meta] : w.log) kinds.insert(event.index());
  EXPECT_EQ(kinds.size(), std::variant_size_v<DomainEvent>);
}

TEST(Evolve, RefoldingTheLogReproducesEveryRow) {
  const DomainWorld w = busy_world();
  ProjectModel replay;
  for (const auto& [event, meta] : w.log) evolve(replay, event, meta);
  EXPECT_EQ(replay, w.model);
}

TEST(Evolve, RefoldingDecodedPayloadsReproducesEveryRow) {
  // What a rebuild does: read type + payload text back from the log, decode, fold.
  const DomainWorld w = busy_world();
  ProjectModel replay;
  for (const auto& [event, meta] : w.log)
    evolve(replay, decode_event(event_type_name(event), encode_event(event)), meta);
  EXPECT_EQ(replay, w.model);
}

TEST(Evolve, TimeTravelToAnEarlierPosition) {
  const DomainWorld w = busy_world();
  ProjectModel at;
  const std::int64_t cut = 12;
  for (const auto& [event, meta] : w.log)
    if (meta.position <= cut) evolve(at, event, meta);
  ASSERT_TRUE(at.project);
  EXPECT_FALSE(at.project->archived);
  EXPECT_EQ(at.project->name, "renamed");
  EXPECT_EQ(at.tasks.size(), 2u);
  EXPECT_TRUE(at.decisions.empty());
}

TEST(Evolve, VersionsAndTimesComeFromMeta) {
  DomainWorld w;
  const Uuid project = w.create_project();
  const Uuid t = w.create_task("t");
  TaskState task = w.task(t);
  const EventMeta meta{99, 7, named_id("carol"), kT0 + 1h};
  evolve(task, TaskCancelled{project, t, "r"}, meta);
  EXPECT_EQ(task.version, 7);
  EXPECT_EQ(task.updated_at, kT0 + 1h);
  EXPECT_EQ(task.created_at, kT0);

  // Events of the other stream leave a row untouched.
  ProjectState p = w.project();
  const ProjectState before = p;
  evolve(p, TaskCancelled{project, t, "r"}, meta);
  EXPECT_EQ(p, before);
  const TaskState task_before = task;
  evolve(task, ProjectArchived{project, ""}, meta);
  EXPECT_EQ(task, task_before);
}

TEST(Evolve, ProjectStreamRecordsMoveTheProjectVersion) {
  DomainWorld w;
  const Uuid project = w.create_project();
  w.run(CreateCheckpoint{project, std::nullopt, "l", "s", "", ""});
  w.run(RecordDecision{project, std::nullopt, "t", {}, "c", "r", std::nullopt});
  EXPECT_EQ(w.project().version, 3);
  EXPECT_EQ(w.model.checkpoints.size(), 1u);
  EXPECT_EQ(w.model.decisions.size(), 1u);
}

TEST(Evolve, CreatedEventsBuildRowsFromAnyStart) {
  TaskState garbage;
  garbage.title = "stale";
  garbage.attempts = 9;
  const TaskCreated created{named_id("p"), named_id("t"), "fresh", "", "task", Priority::low, {}, {}, {}, {}, {}};
  evolve(garbage, created, EventMeta{1, 1, named_id("u"), kT0});
  EXPECT_EQ(garbage.title, "fresh");
  EXPECT_EQ(garbage.attempts, 0);
  EXPECT_EQ(garbage.created_by, named_id("u"));
}

TEST(Evolve, ToleratesEventsThatNoLongerFit) {
  // A fold must be total: an out-of-range index or a foreign token changes nothing.
  DomainWorld w;
  w.create_project();
  const Uuid t = w.create_task("t", {}, Priority::low, {"only"});
  const Uuid token = w.claim(t, "a", 60);
  TaskState task = w.task(t);
  const TaskState before = task;
  const EventMeta meta{50, task.version, named_id("u"), kT0};
  evolve(task, TaskCriterionMet{task.project_id, t, 5, "x"}, meta);
  evolve(task, TaskLeaseExtended{task.project_id, t, named_id("other"), kT0 + 1h}, meta);
  EXPECT_EQ(task.acceptance_criteria, before.acceptance_criteria);
  EXPECT_EQ(task.lease, before.lease);
  EXPECT_EQ(task.lease->id, lease_id_of(token));
}

// Usage records that a log could hold from before the decider capped totals: the sum saturates
// rather than overflowing (undefined behaviour; under UBSan a trap).
TEST(Evolve, UsageTotalsSaturateInsteadOfOverflowing) {
  DomainWorld w;
  w.create_project();
  const Uuid t = w.create_task("t");
  TaskState task = w.task(t);
  const EventMeta meta{50, task.version, named_id("u"), kT0};
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  evolve(task, TaskUsageRecorded{task.project_id, t, kMax, 0.0}, meta);
  evolve(task, TaskUsageRecorded{task.project_id, t, kMax, 0.0}, meta);
  EXPECT_EQ(task.usage.tokens, kMax);
}

TEST(Evolve, StartedAtIsTheFirstClaim) {
  DomainWorld w;
  w.create_project();
  const Uuid t = w.create_task("t");
  const Uuid token = w.claim(t, "a", 60);
  w.run(ReleaseTask{t, token, ""});
  w.now += 10min;
  w.claim(t, "b", 60);
  EXPECT_EQ(w.task(t).started_at, kT0);
  EXPECT_EQ(w.task(t).lease->acquired_at, kT0 + 10min);
}
