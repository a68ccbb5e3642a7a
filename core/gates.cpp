#include "core/gates.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tasklog {
namespace {

GateResult judge(const Gate& gate, const TaskState& task, const std::vector<std::string>& custom_passed) {
  GateResult r{gate.label(), gate.kind, false, ""};
  switch (gate.kind) {
    case GateKind::has_artifacts: {
      const auto count = static_cast<std::int64_t>(task.artifacts.size());
      r.passed = count >= gate.min_count;
      r.detail = fmt::format("{} of {} required artifacts", count, gate.min_count);
      break;
    }
    case GateKind::has_tests:
      r.passed = task.artifact_count(ArtifactType::test_report) > 0;
      r.detail = r.passed ? "a test_report artifact is attached" : "no test_report artifact";
      break;
    case GateKind::has_docs:
      r.passed = task.artifact_count(ArtifactType::document) > 0;
      r.detail = r.passed ? "a document artifact is attached" : "no document artifact";
      break;
    case GateKind::acceptance_met: {
      const auto met = std::count_if(task.acceptance_criteria.begin(), task.acceptance_criteria.end(),
                                     [](const AcceptanceCriterion& c) { return c.met; });
      r.passed = met == static_cast<std::int64_t>(task.acceptance_criteria.size());
      r.detail = fmt::format("{} of {} acceptance criteria met", met, task.acceptance_criteria.size());
      break;
    }
    case GateKind::in_scope:
      if (!task.last_scope_check) {
        r.detail = "no scope check recorded";
      } else if (!in_current_attempt(task, task.last_scope_check->checked_at)) {
        r.detail = fmt::format("no scope check recorded in this attempt (attempt {})", task.lease->attempt);
      } else {
        r.passed = task.last_scope_check->in_scope;
        r.detail = fmt::format("last scope check: {} violation(s)", task.last_scope_check->violations.size());
      }
      break;
    case GateKind::custom:
      r.passed = std::find(custom_passed.begin(), custom_passed.end(), gate.name) != custom_passed.end();
      r.detail = r.passed ? "reported passed" : "not reported passed";
      break;
  }
  return r;
}

}  // namespace

std::vector<GateResult> evaluate_gates(const ProjectRules& rules, const TaskState& task,
                                       const std::vector<std::string>& custom_passed) {
  std::vector<GateResult> results;
  results.reserve(rules.gates.size());
  for (const Gate& gate : rules.gates) results.push_back(judge(gate, task, custom_passed));
  return results;
}

bool all_passed(const std::vector<GateResult>& results) {
  return std::all_of(results.begin(), results.end(), [](const GateResult& r) { return r.passed; });
}

bool in_current_attempt(const TaskState& task, Timestamp at) {
  // Each batch of the log is stamped strictly after the one before it (events/event_store.cpp
  // next_stamp), and a judgment under a lease needs the claim's token, which the holder learns
  // only once the claim's batch has committed: so it is recorded strictly after the claim. One
  // at the claim's instant was decided in the claim's batch, before the claim — for no lease, or
  // for the lease before — and must not count (a review made them race: checks sent to an idle
  // task, then a claim, landed in one batch and passed the new holder's gates).
  return !task.lease || at > task.lease->acquired_at;
}

std::vector<std::string> custom_gates_passed(const TaskState& task) {
  std::vector<std::string> names;
  if (!task.gates_evaluated_at || !in_current_attempt(task, *task.gates_evaluated_at)) return names;
  for (const GateResult& r : task.gate_results)
    if (r.kind == GateKind::custom && r.passed) names.push_back(r.gate);
  return names;
}

}  // namespace tasklog
