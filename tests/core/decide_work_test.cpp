#include "core/decide.hpp"

#include "domain_world.hpp"

#include <gtest/gtest.h>

using namespace tasklog;
using namespace tasklog::testing;

namespace {

class WorkCommands : public ::testing::Test {
 protected:
  DomainWorld w = [] {
    DomainWorld world;
    ProjectRules rules;
    rules.gates = {{GateKind::has_docs, 1, ""}, {GateKind::custom, 1, "lint"}, {GateKind::custom, 1, "review"}};
    rules.scope = {{"src/**", "tests/**"}, {"src/vendor/**"}};
    world.create_project(rules);
    return world;
  }();
  Uuid task = w.create_task("t", {}, Priority::medium, {"first", "second"});

  Uuid finished_task() {
    const Uuid t = w.create_task("finished");
    w.run(CancelTask{t, ""});
    return t;
  }
};

}  // namespace

// ---- acceptance criteria ----

TEST_F(WorkCommands, MarkCriterionMetRecordsEvidence) {
  w.now += 3s;
  w.run(MarkCriterionMet{task, 1, "screenshot", std::nullopt});
  const auto& c = w.task(task).acceptance_criteria;
  EXPECT_FALSE(c[0].met);
  EXPECT_TRUE(c[1].met);
  EXPECT_EQ(c[1].evidence, "screenshot");
  EXPECT_EQ(c[1].met_at, kT0 + 3s);
}

TEST_F(WorkCommands, MarkCriterionMetRefusesABadIndex) {
  for (std::int64_t index : {std::int64_t{2}, std::int64_t{-1}}) {
    const DomainError e = w.refused(MarkCriterionMet{task, index, "x", std::nullopt});
    EXPECT_EQ(e.code(), ErrorCode::validation_failed);
    EXPECT_EQ(details(e)["criteria"].GetInt64(), 2);
  }
}

TEST_F(WorkCommands, MarkCriterionMetRefusedOnFinishedTasksAndForNonHolders) {
  EXPECT_EQ(w.refused(MarkCriterionMet{finished_task(), 0, "x", std::nullopt}).code(), ErrorCode::illegal_transition);
  const Uuid token = w.claim(task);
  EXPECT_EQ(w.refused(MarkCriterionMet{task, 0, "x", std::nullopt}).code(), ErrorCode::lease_lost);
  w.run(MarkCriterionMet{task, 0, "x", token});
  EXPECT_TRUE(w.task(task).acceptance_criteria[0].met);
}

// ---- gates ----

TEST_F(WorkCommands, EvaluateGatesRecordsEveryResult) {
  w.now += 7s;
  const auto events = w.run(EvaluateGates{task, {"review"}, std::nullopt});
  const auto& e = std::get<TaskGatesEvaluated>(events.at(0));
  EXPECT_FALSE(e.passed);
  ASSERT_EQ(e.results.size(), 3u);
  EXPECT_EQ(e.results[0], (GateResult{"has_docs", GateKind::has_docs, false, "no document artifact"}));
  EXPECT_EQ(e.results[1], (GateResult{"lint", GateKind::custom, false, "not reported passed"}));
  EXPECT_EQ(e.results[2], (GateResult{"review", GateKind::custom, true, "reported passed"}));
  EXPECT_EQ(w.task(task).gate_results, e.results);
  EXPECT_EQ(w.task(task).gates_evaluated_at, kT0 + 7s);
}

TEST_F(WorkCommands, EvaluateGatesRefusesUnknownCustomGates) {
  const DomainError e = w.refused(EvaluateGates{task, {"lint", "lnit"}, std::nullopt});
  EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  const auto d = details(e);
  ASSERT_EQ(d["unknown"].Size(), 1u);
  EXPECT_EQ(str(d["unknown"][0]), "lnit");
  EXPECT_EQ(d["custom_gates"].Size(), 2u);
}

TEST_F(WorkCommands, EvaluateGatesAllPassing) {
  w.run(AppendArtifact{.task_id = task, .type = ArtifactType::document, .summary = "README"});
  const auto events = w.run(EvaluateGates{task, {"lint", "review"}, std::nullopt});
  EXPECT_TRUE(std::get<TaskGatesEvaluated>(events.at(0)).passed);
  EXPECT_EQ(w.refused(EvaluateGates{finished_task(), {}, std::nullopt}).code(), ErrorCode::illegal_transition);
}

// ---- scope ----

TEST_F(WorkCommands, AssertScopeRecordsViolations) {
  const auto events =
      w.run(AssertScope{task, {"src/a.cpp", "src/vendor/lib.c"}, {"tests/a_test.cpp"}, {"README.md"}, std::nullopt});
  const auto& e = std::get<TaskScopeAsserted>(events.at(0));
  EXPECT_FALSE(e.in_scope);
  ASSERT_EQ(e.violations.size(), 2u);
  EXPECT_EQ(e.violations[0], (ScopeViolation{"src/vendor/lib.c", ScopeViolationReason::forbidden, "src/vendor/**"}));
  EXPECT_EQ(e.violations[1], (ScopeViolation{"README.md", ScopeViolationReason::outside_allowed, ""}));
  const auto& check = *w.task(task).last_scope_check;
  EXPECT_FALSE(check.in_scope);
  EXPECT_EQ(check.files_checked, 4);
  EXPECT_EQ(check.violations, e.violations);
  EXPECT_EQ(check.checked_at, kT0);
}

TEST_F(WorkCommands, AssertScopeInScope) {
  w.run(AssertScope{task, {"src/x/y/z.cpp"}, {}, {"tests/old_test.cpp"}, std::nullopt});
  EXPECT_TRUE(w.task(task).last_scope_check->in_scope);
  EXPECT_EQ(w.refused(AssertScope{finished_task(), {"src/a"}, {}, {}, std::nullopt}).code(),
            ErrorCode::illegal_transition);
}

// ---- messages ----

TEST_F(WorkCommands, MessagesAreOpenToEveryoneButCheckAGivenToken) {
  const Uuid token = w.claim(task);
  // A person talks to the agent holding the task: no token needed.
  const auto events = w.run(AppendMessage{task, MessageRole::user, "how is it going?", std::nullopt});
  const Uuid id = std::get<TaskMessageAppended>(events.at(0)).message_id;
  w.run(AppendMessage{task, MessageRole::assistant, "fine", token});
  EXPECT_EQ(w.task(task).message_count, 2);
  ASSERT_EQ(w.model.messages.size(), 2u);
  EXPECT_EQ(w.model.messages[0].id, id);
  EXPECT_EQ(w.model.messages[0].content, "how is it going?");
  EXPECT_EQ(w.model.messages[1].role, MessageRole::assistant);
  EXPECT_EQ(w.refused(AppendMessage{task, MessageRole::assistant, "x", named_id("stale")}).code(),
            ErrorCode::lease_lost);
  // Allowed on finished tasks too: a conversation may continue after the work.
  w.run(AppendMessage{finished_task(), MessageRole::user, "why cancelled?", std::nullopt});
}

TEST_F(WorkCommands, MessagesHaveASizeLimit) {
  const DomainError e = w.refused(AppendMessage{task, MessageRole::user, std::string(kMaxMessageBytes + 1, 'x'), std::nullopt});
  EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  EXPECT_EQ(details(e)["limit"].GetInt64(), static_cast<std::int64_t>(kMaxMessageBytes));
}

// ---- git, usage ----

TEST_F(WorkCommands, GitInfoMergesFieldByField) {
  w.run(RecordGitInfo{task, GitInfo{.branch = "feat/x", .target_branch = "main"}, std::nullopt});
  w.run(RecordGitInfo{task, GitInfo{.pr_number = 42, .pr_url = "https://git/pr/42"}, std::nullopt});
  const GitInfo& g = w.task(task).git;
  EXPECT_EQ(g.branch, "feat/x");
  EXPECT_EQ(g.target_branch, "main");
  EXPECT_EQ(g.pr_number, 42);
  EXPECT_EQ(g.pr_url, "https://git/pr/42");
  EXPECT_EQ(g.commit_hash, std::nullopt);
  EXPECT_EQ(w.refused(RecordGitInfo{task, GitInfo{}, std::nullopt}).code(), ErrorCode::validation_failed);
}

TEST_F(WorkCommands, UsageAccumulates) {
  w.run(RecordUsage{task, 1000, 0.25, std::nullopt});
  w.run(RecordUsage{task, 500, 0.5, std::nullopt});
  EXPECT_EQ(w.task(task).usage.tokens, 1500);
  EXPECT_DOUBLE_EQ(w.task(task).usage.cost_usd, 0.75);
  EXPECT_EQ(w.refused(RecordUsage{task, -1, 0, std::nullopt}).code(), ErrorCode::validation_failed);
  // Totals cannot be driven past what int64 and a double hold: refused, and nothing recorded.
  for (int i = 0; i < 999; ++i) w.run(RecordUsage{task, 1'000'000'000'000, 0, std::nullopt});
  EXPECT_EQ(w.task(task).usage.tokens, 999'000'000'001'500);
  EXPECT_EQ(w.refused(RecordUsage{task, 1'000'000'000'000, 0, std::nullopt}).code(), ErrorCode::validation_failed);
  EXPECT_EQ(w.refused(RecordUsage{task, 0, 1e308, std::nullopt}).code(), ErrorCode::validation_failed);
  EXPECT_EQ(w.task(task).usage.tokens, 999'000'000'001'500);
  EXPECT_DOUBLE_EQ(w.task(task).usage.cost_usd, 0.75);
  const Uuid token = w.claim(task);
  EXPECT_EQ(w.refused(RecordUsage{task, 1, 0, std::nullopt}).code(), ErrorCode::lease_lost);
  w.run(RecordUsage{task, 1, 0, token});
  EXPECT_EQ(w.task(task).usage.tokens, 999'000'000'001'501);
}

// ---- artifacts ----

TEST_F(WorkCommands, ArtifactRowAndTaskCounts) {
  w.now += 1s;
  const auto events = w.run(AppendArtifact{.task_id = task, .type = ArtifactType::pr, .ref = "https://git/pr/1",
                                           .summary = "the PR", .content = "diff --git"});
  const auto& e = std::get<ArtifactAppended>(events.at(0));
  EXPECT_EQ(e.content_bytes, 10);
  const ArtifactRow& row = w.model.artifacts.at(e.artifact_id);
  EXPECT_EQ(row.task_id, task);
  EXPECT_EQ(row.type, ArtifactType::pr);
  EXPECT_EQ(row.ref, "https://git/pr/1");
  EXPECT_EQ(row.content, "diff --git");
  EXPECT_EQ(row.created_at, kT0 + 1s);
  EXPECT_EQ(row.created_by, named_id("alice"));
  EXPECT_EQ(row.position, w.position);
  EXPECT_EQ(w.task(task).artifacts, (std::vector<TaskArtifactRef>{{e.artifact_id, ArtifactType::pr}}));
  EXPECT_EQ(w.task(task).artifact_count(ArtifactType::pr), 1);
}

TEST_F(WorkCommands, ArtifactContentLimit) {
  AppendArtifact c{.task_id = task, .type = ArtifactType::diff, .summary = "big"};
  c.content = std::string(kMaxArtifactContentBytes, 'x');
  w.run(c);
  c.content->push_back('x');
  const DomainError e = w.refused(c);
  EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  EXPECT_EQ(details(e)["bytes"].GetInt64(), static_cast<std::int64_t>(kMaxArtifactContentBytes + 1));
}

TEST_F(WorkCommands, ArtifactsRefusedOnFinishedTasks) {
  EXPECT_EQ(w.refused(AppendArtifact{.task_id = finished_task(), .summary = "s"}).code(), ErrorCode::illegal_transition);
}
