#include "core/gates.hpp"

#include "domain_world.hpp"

#include <gtest/gtest.h>

using namespace tasklog;
using namespace tasklog::testing;
using namespace std::chrono_literals;

namespace {

ProjectRules rules_with(std::vector<Gate> gates) {
  ProjectRules r;
  r.gates = std::move(gates);
  return r;
}

TaskState task_with_artifacts(std::vector<ArtifactType> types) {
  TaskState t;
  int n = 0;
  for (ArtifactType type : types) t.artifacts.push_back({named_id("artifact-" + std::to_string(n++)), type});
  return t;
}

}  // namespace

TEST(Gates, HasArtifactsNeedsTheMinimumCount) {
  const auto rules = rules_with({{GateKind::has_artifacts, 2, ""}});
  auto r = evaluate_gates(rules, task_with_artifacts({ArtifactType::diff}), {});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].passed);
  EXPECT_EQ(r[0].gate, "has_artifacts");
  EXPECT_EQ(r[0].detail, "1 of 2 required artifacts");
  r = evaluate_gates(rules, task_with_artifacts({ArtifactType::diff, ArtifactType::other}), {});
  EXPECT_TRUE(r[0].passed);
}

TEST(Gates, HasTestsNeedsATestReport) {
  const auto rules = rules_with({{GateKind::has_tests, 1, ""}});
  EXPECT_FALSE(evaluate_gates(rules, task_with_artifacts({ArtifactType::diff, ArtifactType::document}), {})[0].passed);
  EXPECT_TRUE(evaluate_gates(rules, task_with_artifacts({ArtifactType::test_report}), {})[0].passed);
}

TEST(Gates, HasDocsNeedsADocument) {
  const auto rules = rules_with({{GateKind::has_docs, 1, ""}});
  EXPECT_FALSE(evaluate_gates(rules, task_with_artifacts({ArtifactType::test_report}), {})[0].passed);
  EXPECT_TRUE(evaluate_gates(rules, task_with_artifacts({ArtifactType::document}), {})[0].passed);
}

TEST(Gates, AcceptanceMetNeedsEveryCriterion) {
  const auto rules = rules_with({{GateKind::acceptance_met, 1, ""}});
  TaskState t;
  t.acceptance_criteria = {{"a", true, "ok", kT0}, {"b", false, "", {}}};
  auto r = evaluate_gates(rules, t, {});
  EXPECT_FALSE(r[0].passed);
  EXPECT_EQ(r[0].detail, "1 of 2 acceptance criteria met");
  t.acceptance_criteria[1].met = true;
  EXPECT_TRUE(evaluate_gates(rules, t, {})[0].passed);
  EXPECT_TRUE(evaluate_gates(rules, TaskState{}, {})[0].passed);  // nothing to meet
}

TEST(Gates, InScopeNeedsACleanScopeCheck) {
  const auto rules = rules_with({{GateKind::in_scope, 1, ""}});
  TaskState t;
  auto r = evaluate_gates(rules, t, {});
  EXPECT_FALSE(r[0].passed);
  EXPECT_EQ(r[0].detail, "no scope check recorded");
  t.last_scope_check = ScopeCheck{false, {{"x", ScopeViolationReason::forbidden, "x"}}, 1, kT0};
  EXPECT_FALSE(evaluate_gates(rules, t, {})[0].passed);
  t.last_scope_check = ScopeCheck{true, {}, 3, kT0};
  EXPECT_TRUE(evaluate_gates(rules, t, {})[0].passed);
}

TEST(Gates, CustomGatesPassWhenReported) {
  const auto rules = rules_with({{GateKind::custom, 1, "lint"}, {GateKind::custom, 1, "review"}});
  const auto r = evaluate_gates(rules, TaskState{}, {"review"});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].gate, "lint");
  EXPECT_FALSE(r[0].passed);
  EXPECT_EQ(r[1].gate, "review");
  EXPECT_TRUE(r[1].passed);
  EXPECT_FALSE(all_passed(r));
}

TEST(Gates, CustomPassesComeFromTheLastEvaluation) {
  TaskState t;
  t.gate_results = {{"lint", GateKind::custom, true, ""}, {"review", GateKind::custom, false, ""},
                    {"has_tests", GateKind::has_tests, true, ""}};
  t.gates_evaluated_at = kT0;
  EXPECT_EQ(custom_gates_passed(t), (std::vector<std::string>{"lint"}));
}

// A report or a scope check made before the task's current lease was taken belongs to an earlier
// attempt: it does not count for this one. Made at or after the claim, it does.
TEST(Gates, ChecksOfAnEarlierAttemptDoNotCount) {
  TaskState t;
  t.gate_results = {{"lint", GateKind::custom, true, ""}};
  t.gates_evaluated_at = kT0 + 10s;
  t.last_scope_check = ScopeCheck{true, {}, 2, kT0 + 10s};
  t.lease = Lease{named_id("lease"), "agent-2", kT0 + 20s, kT0 + 600s, 2};
  EXPECT_TRUE(custom_gates_passed(t).empty());
  const auto r = evaluate_gates(rules_with({{GateKind::in_scope, 1, ""}}), t, {});
  EXPECT_FALSE(r[0].passed);
  EXPECT_EQ(r[0].detail, "no scope check recorded in this attempt (attempt 2)");

  // The claim's own instant: decided in the claim's batch, before the claim (every batch is
  // stamped after the last), so not under this lease.
  t.lease->acquired_at = kT0 + 10s;
  EXPECT_TRUE(custom_gates_passed(t).empty());
  EXPECT_FALSE(evaluate_gates(rules_with({{GateKind::in_scope, 1, ""}}), t, {})[0].passed);

  t.lease->acquired_at = kT0 + 10s - 1us;  // after the claim: under this lease
  EXPECT_EQ(custom_gates_passed(t), (std::vector<std::string>{"lint"}));
  EXPECT_TRUE(evaluate_gates(rules_with({{GateKind::in_scope, 1, ""}}), t, {})[0].passed);

  t.lease.reset();  // held by nobody: the last judgments stand (what GET shows)
  EXPECT_EQ(custom_gates_passed(t), (std::vector<std::string>{"lint"}));
}

TEST(Gates, NoGatesAlwaysPass) {
  EXPECT_TRUE(all_passed(evaluate_gates(ProjectRules{}, TaskState{}, {})));
}
