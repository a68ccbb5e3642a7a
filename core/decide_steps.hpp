// Internal to decide: one decide_command overload per command (dispatched by decide.cpp with
// std::visit, so a command without one does not compile) and the checks they share.
#pragma once

#include "core/decide.hpp"
#include "core/error.hpp"

#include <initializer_list>
#include <string_view>

namespace tasklog::decide_steps {

using Events = std::vector<DomainEvent>;

// ---- shared checks ----

// The loaded project, which must be the one named: not_found otherwise.
const ProjectState& loaded_project(const CommandContext& ctx, const Uuid& project_id);
// ... and not archived: illegal_transition otherwise. Checks expected_version against it.
const ProjectState& writable_project(const CommandContext& ctx, const Uuid& project_id);

struct TaskTarget {
  const ProjectState& project;
  const TaskState& task;
};
// The loaded task named by the command and its project (not archived unless allow_archived),
// with expected_version checked against the task stream.
TaskTarget task_target(const CommandContext& ctx, const Uuid& task_id, bool allow_archived = false);

void check_expected_version(const CommandContext& ctx, const Uuid& stream_id, std::int64_t current);

// illegal_transition unless the task's status is one of `allowed`.
void require_status(const TaskState& task, std::initializer_list<TaskStatus> allowed, std::string_view action);
void require_not_terminal(const TaskState& task, std::string_view action);

// Fencing: the task's live lease under exactly this token, or lease_lost.
const Lease& require_lease(const TaskState& task, const Uuid& token, Timestamp now);
// For commands whose token is optional: a given token must be the live lease's; without one the
// task must not be held by anybody (lease_lost otherwise).
void check_holder(const TaskState& task, const std::optional<Uuid>& token, Timestamp now);

Uuid fresh_id(const CommandContext& ctx);
void check_rules(const ProjectRules& rules);
void check_size(std::string_view what, std::size_t bytes, std::size_t limit);
std::int64_t lease_seconds(const ProjectState& project, const std::optional<std::int64_t>& requested);
// A task of the loaded graph: not_found otherwise.
void require_in_graph(const CommandContext& ctx, const Uuid& task_id, std::string_view role);

[[noreturn]] void refuse(ErrorCode code, std::string message, std::string details_json = "{}");

// ---- one per command ----

Events decide_command(const CommandContext&, const CreateProject&);
Events decide_command(const CommandContext&, const UpdateProject&);
Events decide_command(const CommandContext&, const ArchiveProject&);
Events decide_command(const CommandContext&, const AddMember&);
Events decide_command(const CommandContext&, const RemoveMember&);
Events decide_command(const CommandContext&, const CreateCheckpoint&);
Events decide_command(const CommandContext&, const RecordDecision&);

Events decide_command(const CommandContext&, const CreateTask&);
Events decide_command(const CommandContext&, const UpdateTask&);
Events decide_command(const CommandContext&, const AddDependency&);
Events decide_command(const CommandContext&, const RemoveDependency&);
Events decide_command(const CommandContext&, const BlockTask&);
Events decide_command(const CommandContext&, const UnblockTask&);
Events decide_command(const CommandContext&, const CancelTask&);
Events decide_command(const CommandContext&, const ReopenTask&);

Events decide_command(const CommandContext&, const ClaimTask&);
Events decide_command(const CommandContext&, const PickNextTask&);
Events decide_command(const CommandContext&, const Heartbeat&);
Events decide_command(const CommandContext&, const ReleaseTask&);
Events decide_command(const CommandContext&, const CompleteTask&);
Events decide_command(const CommandContext&, const FailTask&);
Events decide_command(const CommandContext&, const ExpireLease&);

Events decide_command(const CommandContext&, const MarkCriterionMet&);
Events decide_command(const CommandContext&, const EvaluateGates&);
Events decide_command(const CommandContext&, const AssertScope&);
Events decide_command(const CommandContext&, const AppendMessage&);
Events decide_command(const CommandContext&, const RecordGitInfo&);
Events decide_command(const CommandContext&, const RecordUsage&);
Events decide_command(const CommandContext&, const AppendArtifact&);

}  // namespace tasklog::decide_steps
