// Deciders for the project stream: the project, its members, checkpoints and decisions.
#include "core/decide_steps.hpp"
#include "core/error_details.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tasklog::decide_steps {
namespace {

std::size_t owner_count(const ProjectState& project) {
  return std::count_if(project.members.begin(), project.members.end(),
                       [](const Member& m) { return m.role == Role::owner; });
}

void refuse_last_owner(const ProjectState& project, const Uuid& user_id) {
  refuse(ErrorCode::validation_failed,
         fmt::format("user {} is the last owner of project '{}': a project keeps at least one owner",
                     to_string(user_id), project.name),
         ErrorDetails{}.add("project_id", project.id).add("user_id", user_id).json());
}

}  // namespace

Events decide_command(const CommandContext& ctx, const CreateProject& c) {
  check_expected_version(ctx, nil_uuid(), 0);
  check_rules(c.rules);
  return {ProjectCreated{fresh_id(ctx), c.project_name, c.description, c.rules, ctx.actor}};
}

Events decide_command(const CommandContext& ctx, const UpdateProject& c) {
  const ProjectState& project = writable_project(ctx, c.project_id);
  check_expected_version(ctx, project.id, project.version);
  if (!c.project_name && !c.description && !c.rules)
    refuse(ErrorCode::validation_failed, "update_project needs at least one of name, description, rules");
  // The event records the whole rules as they now stand, so the log reads without the patch.
  std::optional<ProjectRules> rules;
  if (c.rules) {
    rules = c.rules->applied_to(project.rules);
    check_rules(*rules);
  }
  return {ProjectUpdated{project.id, c.project_name, c.description, std::move(rules)}};
}

Events decide_command(const CommandContext& ctx, const ArchiveProject& c) {
  const ProjectState& project = writable_project(ctx, c.project_id);
  check_expected_version(ctx, project.id, project.version);
  return {ProjectArchived{project.id, c.reason}};
}

Events decide_command(const CommandContext& ctx, const AddMember& c) {
  const ProjectState& project = writable_project(ctx, c.project_id);
  check_expected_version(ctx, project.id, project.version);
  if (const Member* existing = project.member(c.user_id)) {
    if (existing->role == c.role)
      refuse(ErrorCode::validation_failed,
             fmt::format("user {} is already a {} of project '{}'", to_string(c.user_id), enum_name(c.role), project.name),
             ErrorDetails{}.add("user_id", c.user_id).add("role", c.role).json());
    if (existing->role == Role::owner && owner_count(project) == 1) refuse_last_owner(project, c.user_id);
  }
  return {ProjectMemberAdded{project.id, c.user_id, c.role}};
}

Events decide_command(const CommandContext& ctx, const RemoveMember& c) {
  const ProjectState& project = writable_project(ctx, c.project_id);
  check_expected_version(ctx, project.id, project.version);
  const Member* member = project.member(c.user_id);
  if (!member)
    refuse(ErrorCode::not_found,
           fmt::format("user {} is not a member of project '{}'", to_string(c.user_id), project.name),
           ErrorDetails{}.add("user_id", c.user_id).json());
  if (member->role == Role::owner && owner_count(project) == 1) refuse_last_owner(project, c.user_id);
  return {ProjectMemberRemoved{project.id, c.user_id}};
}

Events decide_command(const CommandContext& ctx, const CreateCheckpoint& c) {
  const ProjectState& project = writable_project(ctx, c.project_id);
  check_expected_version(ctx, project.id, project.version);
  if (c.task_id) require_in_graph(ctx, *c.task_id, "task");
  CheckpointCreated event{project.id,  fresh_id(ctx), c.task_id, c.label, c.summary, c.repo_ref, c.resume_instructions,
                          ctx.log_position, {}};
  event.tasks.reserve(ctx.graph.size());
  for (const auto& [id, node] : ctx.graph) event.tasks.push_back({id, node.status});
  return {std::move(event)};
}

Events decide_command(const CommandContext& ctx, const RecordDecision& c) {
  const ProjectState& project = writable_project(ctx, c.project_id);
  check_expected_version(ctx, project.id, project.version);
  if (c.task_id) require_in_graph(ctx, *c.task_id, "task");
  if (!c.options.empty() && std::find(c.options.begin(), c.options.end(), c.choice) == c.options.end())
    refuse(ErrorCode::validation_failed, fmt::format("choice '{}' is not one of the options", c.choice),
           ErrorDetails{}.add("path", "/choice").add("options", c.options).json());

  const Uuid decision_id = fresh_id(ctx);
  Events events{DecisionRecorded{project.id, decision_id, c.task_id, c.title, c.options, c.choice, c.rationale,
                                 c.supersedes}};
  if (c.supersedes) {
    const auto& old = ctx.superseded_decision;
    if (!old || old->id != *c.supersedes || old->project_id != project.id)
      refuse(ErrorCode::not_found, fmt::format("decision {} not found in this project", to_string(*c.supersedes)),
             ErrorDetails{}.add("decision_id", *c.supersedes).json());
    if (old->superseded_by)
      refuse(ErrorCode::illegal_transition,
             fmt::format("decision '{}' was already superseded by {}", old->title, to_string(*old->superseded_by)),
             ErrorDetails{}.add("decision_id", old->id).add("superseded_by", *old->superseded_by).json());
    events.push_back(DecisionSuperseded{project.id, old->id, decision_id, old->task_id});
  }
  return events;
}

}  // namespace tasklog::decide_steps
