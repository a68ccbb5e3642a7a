// The checks every decider shares: loaded state present and matching, project writable,
// expected version, status, fencing. Messages name the task and say what to do instead.
#include "core/decide_steps.hpp"
#include "core/error_details.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace tasklog::decide_steps {

void refuse(ErrorCode code, std::string message, std::string details_json) {
  throw DomainError(code, std::move(message), std::move(details_json));
}

const ProjectState& loaded_project(const CommandContext& ctx, const Uuid& project_id) {
  if (!ctx.project || ctx.project->id != project_id)
    refuse(ErrorCode::not_found, fmt::format("project {} not found", to_string(project_id)),
           ErrorDetails{}.add("project_id", project_id).json());
  return *ctx.project;
}

const ProjectState& writable_project(const CommandContext& ctx, const Uuid& project_id) {
  const ProjectState& project = loaded_project(ctx, project_id);
  if (project.archived)
    refuse(ErrorCode::illegal_transition,
           fmt::format("project '{}' is archived: it accepts no more changes", project.name),
           ErrorDetails{}.add("project_id", project_id).add("archived", true).json());
  return project;
}

void check_expected_version(const CommandContext& ctx, const Uuid& stream_id, std::int64_t current) {
  if (ctx.expected_version && *ctx.expected_version != current)
    refuse(ErrorCode::version_conflict,
           fmt::format("expected version {} of {}, but it is at version {}: reload and retry", *ctx.expected_version,
                       to_string(stream_id), current),
           ErrorDetails{}.add("stream_id", stream_id).add("expected_version", *ctx.expected_version)
               .add("current_version", current).json());
}

TaskTarget task_target(const CommandContext& ctx, const Uuid& task_id, bool allow_archived) {
  if (!ctx.task || ctx.task->id != task_id)
    refuse(ErrorCode::not_found, fmt::format("task {} not found", to_string(task_id)),
           ErrorDetails{}.add("task_id", task_id).json());
  const ProjectState& project =
      allow_archived ? loaded_project(ctx, ctx.task->project_id) : writable_project(ctx, ctx.task->project_id);
  check_expected_version(ctx, task_id, ctx.task->version);
  return {project, *ctx.task};
}

void require_status(const TaskState& task, std::initializer_list<TaskStatus> allowed, std::string_view action) {
  if (std::find(allowed.begin(), allowed.end(), task.status) != allowed.end()) return;
  std::vector<std::string> names;
  for (TaskStatus s : allowed) names.emplace_back(enum_name(s));
  refuse(ErrorCode::illegal_transition,
         fmt::format("cannot {} task '{}': it is {} (allowed from: {})", action, task.title, enum_name(task.status),
                     fmt::join(names, ", ")),
         ErrorDetails{}.add("task_id", task.id).add("status", task.status).add("action", action)
             .add("allowed_from", names).json());
}

void require_not_terminal(const TaskState& task, std::string_view action) {
  require_status(task, {TaskStatus::todo, TaskStatus::in_progress, TaskStatus::blocked}, action);
}

const Lease& require_lease(const TaskState& task, const Uuid& token, Timestamp now) {
  if (!task.lease)
    refuse(ErrorCode::lease_lost,
           fmt::format("lease lost: task '{}' is {} and held by nobody (the lease was released, expired or "
                       "superseded); claim it again",
                       task.title, enum_name(task.status)),
           ErrorDetails{}.add("task_id", task.id).add("reason", "no_lease").add("status", task.status).json());
  if (task.lease->id != lease_id_of(token))
    refuse(ErrorCode::lease_lost,
           fmt::format("lease lost: task '{}' is now held under another lease (attempt {} by {})", task.title,
                       task.lease->attempt, task.lease->agent),
           ErrorDetails{}.add("task_id", task.id).add("reason", "superseded").add("attempt", task.lease->attempt).json());
  if (task.lease->expires_at <= now)
    refuse(ErrorCode::lease_lost,
           fmt::format("lease lost: the lease on task '{}' expired at {}", task.title,
                       format_timestamp(task.lease->expires_at)),
           ErrorDetails{}.add("task_id", task.id).add("reason", "expired").add("expired_at", task.lease->expires_at)
               .json());
  return *task.lease;
}

void check_holder(const TaskState& task, const std::optional<Uuid>& token, Timestamp now) {
  if (token) {
    require_lease(task, *token, now);
    return;
  }
  if (task.has_live_lease(now))
    refuse(ErrorCode::lease_lost,
           fmt::format("task '{}' is held by {} until {}: only the lease holder may do this, with its lease_token",
                       task.title, task.lease->agent, format_timestamp(task.lease->expires_at)),
           ErrorDetails{}.add("task_id", task.id).add("reason", "held_by_other").add("agent", task.lease->agent).json());
}

Uuid fresh_id(const CommandContext& ctx) {
  if (!ctx.new_id) refuse(ErrorCode::internal, "no id source in the command context");
  return ctx.new_id();
}

void check_rules(const ProjectRules& rules) {
  auto invalid = [](std::string message, std::string_view field) {
    refuse(ErrorCode::validation_failed, std::move(message), ErrorDetails{}.add("path", field).json());
  };
  if (rules.max_attempts < 1) invalid("max_attempts must be at least 1", "/rules/max_attempts");
  if (rules.default_lease_seconds < kMinLeaseSeconds || rules.default_lease_seconds > kMaxLeaseSeconds)
    invalid(fmt::format("default_lease_seconds must be between {} and {}", kMinLeaseSeconds, kMaxLeaseSeconds),
            "/rules/default_lease_seconds");
  std::set<std::string> labels;
  for (std::size_t i = 0; i < rules.gates.size(); ++i) {
    const Gate& gate = rules.gates[i];
    const std::string path = fmt::format("/rules/gates/{}", i);
    if (gate.kind == GateKind::custom && gate.name.empty()) invalid("a custom gate needs a name", path + "/name");
    if (gate.kind != GateKind::custom && !gate.name.empty())
      invalid(fmt::format("only custom gates take a name; '{}' is built in", enum_name(gate.kind)), path + "/name");
    if (gate.min_count < 1) invalid("min_count must be at least 1", path + "/min_count");
    if (!labels.insert(gate.label()).second) invalid(fmt::format("gate '{}' is listed twice", gate.label()), path);
  }
  for (const auto* globs : {&rules.scope.allowed, &rules.scope.forbidden})
    for (const std::string& glob : *globs)
      if (glob.empty()) invalid("scope globs may not be empty", "/rules/scope");
}

void check_size(std::string_view what, std::size_t bytes, std::size_t limit) {
  if (bytes > limit)
    refuse(ErrorCode::validation_failed, fmt::format("{} is {} bytes; the limit is {}", what, bytes, limit),
           ErrorDetails{}.add("field", what).add("bytes", bytes).add("limit", limit).json());
}

std::int64_t lease_seconds(const ProjectState& project, const std::optional<std::int64_t>& requested) {
  const std::int64_t seconds = requested.value_or(project.rules.default_lease_seconds);
  if (seconds < kMinLeaseSeconds || seconds > kMaxLeaseSeconds)
    refuse(ErrorCode::validation_failed,
           fmt::format("lease_seconds must be between {} and {}, not {}", kMinLeaseSeconds, kMaxLeaseSeconds, seconds),
           ErrorDetails{}.add("path", "/lease_seconds").add("value", seconds).json());
  return seconds;
}

void require_in_graph(const CommandContext& ctx, const Uuid& task_id, std::string_view role) {
  if (!ctx.graph.contains(task_id))
    refuse(ErrorCode::not_found, fmt::format("{} {} is not a task of this project", role, to_string(task_id)),
           ErrorDetails{}.add("task_id", task_id).add("role", role).json());
}

}  // namespace tasklog::decide_steps
