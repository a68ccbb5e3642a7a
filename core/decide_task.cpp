// Deciders for a task's definition and its status outside the lease: create, update,
// dependencies, block/unblock, cancel, reopen.
#include "core/decide_steps.hpp"
#include "core/error_details.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace tasklog::decide_steps {
namespace {

void check_timebox(const std::optional<std::int64_t>& timebox) {
  if (timebox && *timebox < 1)
    refuse(ErrorCode::validation_failed, "timebox_seconds must be positive",
           ErrorDetails{}.add("path", "/timebox_seconds").add("value", *timebox).json());
}

bool depends_on(const TaskState& task, const Uuid& dep) {
  return std::find(task.dependencies.begin(), task.dependencies.end(), dep) != task.dependencies.end();
}

}  // namespace

Events decide_command(const CommandContext& ctx, const CreateTask& c) {
  const ProjectState& project = writable_project(ctx, c.project_id);
  check_expected_version(ctx, nil_uuid(), 0);
  check_timebox(c.timebox_seconds);
  std::set<Uuid> seen;
  for (const Uuid& dep : c.dependencies) {
    require_in_graph(ctx, dep, "dependency");
    if (!seen.insert(dep).second)
      refuse(ErrorCode::validation_failed, fmt::format("dependency {} is listed twice", to_string(dep)),
             ErrorDetails{}.add("path", "/dependencies").add("task_id", dep).json());
  }
  if (c.parent_task_id) require_in_graph(ctx, *c.parent_task_id, "parent task");
  // A new task has no dependents yet, so its dependencies cannot close a cycle.
  return {TaskCreated{project.id, fresh_id(ctx), c.title, c.description, c.type, c.priority, c.acceptance_criteria,
                      c.constraints, c.dependencies, c.parent_task_id, c.timebox_seconds}};
}

Events decide_command(const CommandContext& ctx, const UpdateTask& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  if (!c.title && !c.description && !c.type && !c.priority && !c.acceptance_criteria && !c.constraints &&
      !c.timebox_seconds)
    refuse(ErrorCode::validation_failed, "update_task needs at least one field to change");
  check_timebox(c.timebox_seconds);
  // Fenced like the holder's own work: replacing the criteria resets the ones the holder marked
  // met, so nobody else (a stale agent among them) may change a task while it is held.
  check_holder(task, c.lease_token, ctx.now);
  // A completion stands on the criteria it met; new ones would leave a done task with unmet ones.
  if (c.acceptance_criteria && task.status == TaskStatus::done)
    refuse(ErrorCode::illegal_transition,
           fmt::format("task '{}' is done: its acceptance criteria are what it was completed against; reopen it to "
                       "change them",
                       task.title),
           ErrorDetails{}.add("task_id", task.id).add("status", task.status).add("path", "/acceptance_criteria").json());
  return {TaskUpdated{project.id, task.id, c.title, c.description, c.type, c.priority, c.acceptance_criteria,
                      c.constraints, c.timebox_seconds}};
}

Events decide_command(const CommandContext& ctx, const AddDependency& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  // Only before work starts: a task is claimed only once every dependency is done, and completing
  // it does not look at dependencies again, so a dependency added to a task in progress (or
  // finished) would let it finish ahead of what it waits on. Its holder releases it first.
  require_status(task, {TaskStatus::todo, TaskStatus::blocked}, "add a dependency to");
  if (c.depends_on != task.id) require_in_graph(ctx, c.depends_on, "dependency");
  if (depends_on(task, c.depends_on))
    refuse(ErrorCode::validation_failed, fmt::format("task '{}' already depends on {}", task.title, to_string(c.depends_on)),
           ErrorDetails{}.add("task_id", task.id).add("depends_on", c.depends_on).json());
  const std::vector<Uuid> cycle = find_cycle(ctx.graph, task.id, c.depends_on);
  if (!cycle.empty()) {
    std::vector<std::string> names;
    for (const Uuid& id : cycle) names.push_back(to_string(id));
    refuse(ErrorCode::dependency_cycle,
           fmt::format("this dependency would close a cycle: {}", fmt::join(names, " -> ")),
           ErrorDetails{}.add("task_id", task.id).add("depends_on", c.depends_on).add("cycle", cycle).json());
  }
  return {TaskDependencyAdded{project.id, task.id, c.depends_on}};
}

Events decide_command(const CommandContext& ctx, const RemoveDependency& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  if (!depends_on(task, c.depends_on))
    refuse(ErrorCode::not_found, fmt::format("task '{}' does not depend on {}", task.title, to_string(c.depends_on)),
           ErrorDetails{}.add("task_id", task.id).add("depends_on", c.depends_on).json());
  return {TaskDependencyRemoved{project.id, task.id, c.depends_on}};
}

Events decide_command(const CommandContext& ctx, const BlockTask& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  require_status(task, {TaskStatus::todo, TaskStatus::in_progress}, "block");
  check_holder(task, c.lease_token, ctx.now);
  // A lease past its time is an attempt the reaper has yet to count: blocking first would drop it
  // (TaskBlocked ends the lease) and the task would escape max_attempts. Refused as a claim is.
  if (task.status == TaskStatus::in_progress && !task.has_live_lease(ctx.now))
    refuse(ErrorCode::task_not_ready,
           fmt::format("task '{}' has an expired lease that the reaper has not yet given up; try again shortly",
                       task.title),
           ErrorDetails{}.add("task_id", task.id).add("status", task.status).add("reason", "lease_expiring").json());
  return {TaskBlocked{project.id, task.id, c.reason, c.needs_human}};
}

Events decide_command(const CommandContext& ctx, const UnblockTask& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  require_status(task, {TaskStatus::blocked}, "unblock");
  return {TaskUnblocked{project.id, task.id, c.note}};
}

Events decide_command(const CommandContext& ctx, const CancelTask& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  // A person may cancel a task an agent holds: the agent's next command then meets lease_lost.
  require_not_terminal(task, "cancel");
  return {TaskCancelled{project.id, task.id, c.reason}};
}

Events decide_command(const CommandContext& ctx, const ReopenTask& c) {
  const auto [project, task] = task_target(ctx, c.task_id);
  require_status(task, {TaskStatus::done, TaskStatus::failed, TaskStatus::cancelled}, "reopen");
  return {TaskReopened{project.id, task.id, c.reason}};
}

}  // namespace tasklog::decide_steps
