// Deciders for the lease lifecycle: claim (directly or through pick_next_task), heartbeat,
// release, complete, fail, and the reaper's expiry.
#include "core/backoff.hpp"
#include "core/chooser.hpp"
#include "core/decide_steps.hpp"
#include "core/error_details.hpp"
#include "core/gates.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace tasklog::decide_steps {
namespace {

// task_not_ready while a dependency of the task is not done (ctx.graph holds its dependencies).
void require_dependencies_done(const CommandContext& ctx, const TaskState& task) {
  const std::vector<Uuid> open = open_dependencies(task.dependencies, ctx.graph);
  if (open.empty()) return;
  std::vector<std::string> names;
  for (const Uuid& id : open) names.push_back(to_string(id));
  refuse(ErrorCode::task_not_ready,
         fmt::format("task '{}' waits on {} unfinished dependenc{}: {}", task.title, open.size(),
                     open.size() == 1 ? "y" : "ies", fmt::join(names, ", ")),
         ErrorDetails{}.add("task_id", task.id).add("reason", "dependencies").add("open_dependencies", open).json());
}

// Why a task cannot be claimed now, most fundamental reason first.
void require_claimable(const CommandContext& ctx, const TaskState& task) {
  if (task.status == TaskStatus::in_progress) {
    const bool live = task.has_live_lease(ctx.now);
    refuse(ErrorCode::task_not_ready,
           live ? fmt::format("task '{}' is held by {} until {}", task.title, task.lease->agent,
                              format_timestamp(task.lease->expires_at))
                : fmt::format("task '{}' has an expired lease that the reaper has not yet given up; try again shortly",
                              task.title),
           ErrorDetails{}.add("task_id", task.id).add("status", task.status)
               .add("reason", live ? "leased" : "lease_expiring").json());
  }
  require_status(task, {TaskStatus::todo}, "claim");
  require_dependencies_done(ctx, task);
  if (task.next_retry_at && *task.next_retry_at > ctx.now)
    refuse(ErrorCode::task_not_ready,
           fmt::format("task '{}' failed {} time(s); its next retry is at {}", task.title, task.attempts,
                       format_timestamp(*task.next_retry_at)),
           ErrorDetails{}.add("task_id", task.id).add("reason", "retry_pending").add("retry_at", *task.next_retry_at)
               .json());
}

Events claim(const CommandContext& ctx, const ProjectState& project, const TaskState& task, const std::string& agent,
             const std::optional<std::int64_t>& requested_seconds) {
  const std::int64_t seconds = lease_seconds(project, requested_seconds);
  require_claimable(ctx, task);
  if (!ctx.lease_token) refuse(ErrorCode::internal, "no lease token in the command context");
  return {TaskClaimed{project.id, task.id, agent, lease_id_of(*ctx.lease_token),
                      ctx.now + std::chrono::seconds{seconds}, task.attempts + 1}};
}

}  // namespace

Events decide_command(const CommandContext& ctx, const ClaimTask& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  return claim(ctx, project, task, c.agent, c.lease_seconds);
}

Events decide_command(const CommandContext& ctx, const PickNextTask& c) {
  const ProjectState& project = writable_project(ctx, c.project_id);
  std::vector<TaskState> candidates;
  std::copy_if(ctx.candidates.begin(), ctx.candidates.end(), std::back_inserter(candidates),
               [&](const TaskState& t) { return t.project_id == project.id; });
  const auto chosen = choose_next_task(candidates, ctx.graph, c.strategy, ctx.now);
  if (!chosen) return {};
  const auto it = std::find_if(candidates.begin(), candidates.end(), [&](const TaskState& t) { return t.id == *chosen; });
  return claim(ctx, project, *it, c.agent, c.lease_seconds);
}

Events decide_command(const CommandContext& ctx, const Heartbeat& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  const Lease& lease = require_lease(task, c.lease_token, ctx.now);
  const std::int64_t seconds = lease_seconds(project, c.lease_seconds);
  return {TaskLeaseExtended{project.id, task.id, lease.id, ctx.now + std::chrono::seconds{seconds}}};
}

Events decide_command(const CommandContext& ctx, const ReleaseTask& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  const Lease& lease = require_lease(task, c.lease_token, ctx.now);
  return {TaskReleased{project.id, task.id, lease.id, c.reason}};
}

Events decide_command(const CommandContext& ctx, const CompleteTask& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  const Lease& lease = require_lease(task, c.lease_token, ctx.now);
  // Its dependencies were done when it was claimed; one reopened since must be done again first.
  require_dependencies_done(ctx, task);

  std::vector<Uuid> unknown;
  for (const Uuid& id : c.artifact_ids)
    if (std::none_of(task.artifacts.begin(), task.artifacts.end(), [&](const TaskArtifactRef& a) { return a.id == id; }))
      unknown.push_back(id);
  if (!unknown.empty())
    refuse(ErrorCode::not_found, fmt::format("{} of the named artifacts are not artifacts of task '{}'", unknown.size(), task.title),
           ErrorDetails{}.add("task_id", task.id).add("artifact_ids", unknown).json());

  // Built-in gates are judged now, from the task as it is; custom gates as last reported.
  const std::vector<GateResult> results = evaluate_gates(project.rules, task, custom_gates_passed(task));
  std::vector<GateResult> failing;
  std::copy_if(results.begin(), results.end(), std::back_inserter(failing), [](const GateResult& r) { return !r.passed; });
  if (!failing.empty()) {
    std::vector<std::string> lines;
    for (const GateResult& r : failing) lines.push_back(fmt::format("{} ({})", r.gate, r.detail));
    refuse(ErrorCode::gate_failed,
           fmt::format("task '{}' cannot complete: {} gate(s) failing: {}", task.title, failing.size(),
                       fmt::join(lines, "; ")),
           ErrorDetails{}.add("task_id", task.id).add("failing", failing).json());
  }
  return {TaskCompleted{project.id, task.id, lease.id, c.summary, c.artifact_ids}};
}

Events decide_command(const CommandContext& ctx, const FailTask& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  const Lease& lease = require_lease(task, c.lease_token, ctx.now);
  const bool gave_up = lease.attempt >= project.rules.max_attempts;
  std::optional<Timestamp> retry_at;
  if (!gave_up) retry_at = ctx.now + retry_delay(lease.attempt);
  return {TaskAttemptFailed{project.id, task.id, lease.id, c.error, lease.attempt, retry_at, gave_up}};
}

Events decide_command(const CommandContext& ctx, const ExpireLease& c) {
  // Runs for archived projects too: a lease must not outlive its time anywhere.
  const auto [project, task] = task_target(ctx, c.task_id, /*allow_archived=*/true);
  if (!task.lease || task.lease->id != c.lease_id)
    refuse(ErrorCode::lease_lost, fmt::format("task '{}' no longer holds that lease", task.title),
           ErrorDetails{}.add("task_id", task.id).add("lease_id", c.lease_id).json());
  if (task.lease->expires_at > ctx.now)
    refuse(ErrorCode::illegal_transition,
           fmt::format("the lease on task '{}' runs until {}: it has not expired", task.title,
                       format_timestamp(task.lease->expires_at)),
           ErrorDetails{}.add("task_id", task.id).add("expires_at", task.lease->expires_at).json());
  const Lease& lease = *task.lease;
  return {TaskLeaseExpired{project.id, task.id, lease.id, lease.agent, lease.expires_at, lease.attempt,
                           lease.attempt >= project.rules.max_attempts}};
}

}  // namespace tasklog::decide_steps
