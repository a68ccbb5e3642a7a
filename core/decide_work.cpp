// Deciders for the record of the work on a task: acceptance criteria, gate evaluations, scope
// checks, chat messages, git info, usage and artifacts.
#include "core/decide_steps.hpp"
#include "core/error_details.hpp"
#include "core/gates.hpp"
#include "core/scope.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tasklog::decide_steps {

Events decide_command(const CommandContext& ctx, const MarkCriterionMet& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  require_not_terminal(task, "mark a criterion of");
  check_holder(task, c.lease_token, ctx.now);
  const auto count = static_cast<std::int64_t>(task.acceptance_criteria.size());
  if (c.index < 0 || c.index >= count)
    refuse(ErrorCode::validation_failed,
           fmt::format("task '{}' has {} acceptance criteria; index {} does not exist", task.title, count, c.index),
           ErrorDetails{}.add("path", "/index").add("index", c.index).add("criteria", count).json());
  return {TaskCriterionMet{project.id, task.id, c.index, c.evidence}};
}

Events decide_command(const CommandContext& ctx, const EvaluateGates& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  require_not_terminal(task, "evaluate the gates of");
  check_holder(task, c.lease_token, ctx.now);
  // A misspelt custom gate would silently never pass; name the ones the rules do not know.
  std::vector<std::string> custom;
  for (const Gate& g : project.rules.gates)
    if (g.kind == GateKind::custom) custom.push_back(g.name);
  std::vector<std::string> unknown;
  for (const std::string& name : c.custom_passed)
    if (std::find(custom.begin(), custom.end(), name) == custom.end()) unknown.push_back(name);
  if (!unknown.empty())
    refuse(ErrorCode::validation_failed,
           fmt::format("unknown custom gate(s): {}; this project's custom gates are: {}", fmt::join(unknown, ", "),
                       custom.empty() ? std::string("none") : fmt::format("{}", fmt::join(custom, ", "))),
           ErrorDetails{}.add("path", "/custom_passed").add("unknown", unknown).add("custom_gates", custom).json());
  std::vector<GateResult> results = evaluate_gates(project.rules, task, c.custom_passed);
  const bool passed = all_passed(results);
  return {TaskGatesEvaluated{project.id, task.id, std::move(results), passed}};
}

Events decide_command(const CommandContext& ctx, const AssertScope& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  require_not_terminal(task, "assert the scope of");
  check_holder(task, c.lease_token, ctx.now);
  std::vector<std::string> all = c.files_changed;
  all.insert(all.end(), c.files_added.begin(), c.files_added.end());
  all.insert(all.end(), c.files_deleted.begin(), c.files_deleted.end());
  ScopeVerdict verdict = check_scope(project.rules.scope, all);
  return {TaskScopeAsserted{project.id, task.id, c.files_changed, c.files_added, c.files_deleted, verdict.in_scope,
                            std::move(verdict.violations)}};
}

Events decide_command(const CommandContext& ctx, const AppendMessage& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  // Chat is open to everyone (a person may talk to the agent that holds the task); a token, when
  // given, must still be current, so a stale agent learns it lost the task.
  if (c.lease_token) require_lease(task, *c.lease_token, ctx.now);
  check_size("content", c.content.size(), kMaxMessageBytes);
  return {TaskMessageAppended{project.id, task.id, fresh_id(ctx), c.role, c.content}};
}

Events decide_command(const CommandContext& ctx, const RecordGitInfo& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  check_holder(task, c.lease_token, ctx.now);
  if (c.git == GitInfo{})
    refuse(ErrorCode::validation_failed,
           "record_git_info needs at least one of branch, target_branch, pr_number, pr_url, commit_hash");
  return {TaskGitInfoRecorded{project.id, task.id, c.git}};
}

Events decide_command(const CommandContext& ctx, const RecordUsage& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  check_holder(task, c.lease_token, ctx.now);
  if (c.tokens < 0 || c.cost_usd < 0.0)
    refuse(ErrorCode::validation_failed, "usage cannot be negative",
           ErrorDetails{}.add("tokens", c.tokens).add("cost_usd", c.cost_usd).json());
  // The totals stay far inside what int64 and a double add exactly, so that no sequence of records
  // can overflow them (undefined behaviour, then a negative total stored and rebuilt as such). The
  // schema caps one record (10^12 tokens, 10^6 USD); this caps the sum.
  constexpr std::int64_t kMaxTotalTokens = 1'000'000'000'000'000;  // 10^15
  constexpr double kMaxTotalCost = 1e9;
  // (c.tokens >= 0 here, so the difference cannot overflow, whatever an older row holds.)
  if (task.usage.tokens > kMaxTotalTokens - c.tokens || !(task.usage.cost_usd + c.cost_usd <= kMaxTotalCost))
    refuse(ErrorCode::validation_failed,
           fmt::format("task '{}' would record more usage than a task can total (10^15 tokens, 10^9 USD)", task.title),
           ErrorDetails{}.add("tokens", task.usage.tokens).add("cost_usd", task.usage.cost_usd).json());
  return {TaskUsageRecorded{project.id, task.id, c.tokens, c.cost_usd}};
}

Events decide_command(const CommandContext& ctx, const AppendArtifact& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  require_not_terminal(task, "append an artifact to");
  check_holder(task, c.lease_token, ctx.now);
  const std::size_t bytes = c.content ? c.content->size() : 0;
  check_size("content", bytes, kMaxArtifactContentBytes);
  return {ArtifactAppended{project.id, task.id, fresh_id(ctx), c.type, c.ref, c.summary, c.content,
                           static_cast<std::int64_t>(bytes)}};
}

}  // namespace tasklog::decide_steps
